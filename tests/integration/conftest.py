"""The integration tests' fixtures live in tests/support/services.py (a plugin of the whole
test run, shared with tests/faults)."""
