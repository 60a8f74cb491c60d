"""Tests of the PowerFlex client and simulator."""
