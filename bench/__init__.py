"""Reproducible benchmarks: Council's figures beside a baseline measured in the same run."""
