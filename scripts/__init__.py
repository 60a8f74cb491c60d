"""Development helpers (scripts/develop's Python side), importable by the tests."""
