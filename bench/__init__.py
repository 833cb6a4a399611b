"""Benchmarks: each prints our figures beside a peer's, measured in the same run."""
