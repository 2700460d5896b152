# The simulator (issue 3): its tests, the contract suite, a larger demo, a recorded replay, the fleet bench.
.PHONY: test-sim demo-big demo-record bench-fleet

test-sim: $(STAMP)
	$(VENV)/bin/pytest -q tests/sim tests/contract

demo-big: $(SIM_STAMP)
	$(VENV)/bin/teeth-sim demo --machines 200 --timeout 600 --report .cache/teeth-sim-200.json

# Record the demo's protocol traffic, then replay it against today's agent and report differences.
demo-record: $(SIM_STAMP)
	@mkdir -p .cache
	$(VENV)/bin/teeth-sim demo --plain --record .cache/demo.jsonl --report .cache/teeth-sim-report.json
	$(VENV)/bin/teeth-sim replay .cache/demo.jsonl

bench-fleet: $(STAMP)
	$(PY) -m benchmarks --only fleet
