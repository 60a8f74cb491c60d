"""Tests of the FENECON FEMS cloud client and simulator."""
