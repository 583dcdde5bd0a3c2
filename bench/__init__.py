"""Benchmarks: each *_bench.py module has main(), printing ratios against a baseline
measured in the same run. `make bench` runs them all; `python -m bench NAME` runs one."""
