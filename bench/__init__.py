"""Benchmarks with targets: `python -m bench NAME [--quick]` (not part of the test run)."""
