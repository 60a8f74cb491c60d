"""Standalone vendor simulators for Energy Flex: real servers over a small battery model.

Run them all with `python -m simulators`; tests and benchmarks start them in-process.
"""
