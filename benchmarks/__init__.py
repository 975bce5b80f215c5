"""Benchmarks (not part of the package): see benchmarks/README.md."""
