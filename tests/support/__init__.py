"""Test-support code shared by the test suite (not test modules themselves)."""
