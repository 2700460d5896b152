"""Benchmarks: `make bench` runs `python -m benchmarks`, which runs every `bench_*.py` module here.

A bench module exposes `run(quick: bool) -> list[Figure]` (or `run(quick, options)` to receive the
runner's parsed command line, see `__main__.py`) and may expose `add_arguments(parser)` for its own flags.
Each Figure is printed beside its baseline, measured in the same run.
"""
