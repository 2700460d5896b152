# The real Linux backend (issues 4-5, disk areas): its tests and the overwrite-erase benchmark.
# Loop-device tests and the benchmark need root; the rest of tests/linux runs as any user.
.PHONY: test-linux bench-erase

test-linux: $(STAMP)
	$(VENV)/bin/pytest -q tests/linux

bench-erase: $(STAMP)
	$(PY) benchmarks/bench_erase.py
