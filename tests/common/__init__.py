"""Tests of what the whole integration shares: manifest, translations."""
