"""Real servers that the tests and benchmarks start on loopback (never mocks)."""
