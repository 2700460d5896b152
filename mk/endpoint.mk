# Protocol core and endpoint figures on their own (`make bench` runs every bench module).
#   make bench-endpoint AGENTS=2000   # fewer simulated agents than the 10,000 of the goal
.PHONY: bench-protocol bench-endpoint

bench-protocol: $(STAMP)
	$(PY) -m benchmarks --only bench_protocol

bench-endpoint: $(STAMP)
	$(PY) -m benchmarks --only bench_endpoint $(if $(AGENTS),--agents $(AGENTS))
