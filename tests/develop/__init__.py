"""Tests of scripts/develop's Python side against a real Home Assistant."""
