"""Tests for the standalone vendor simulators (no Home Assistant needed)."""
