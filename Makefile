# Benchmarks (bench/README.md, ADR 0026). Results: bench/results/summary.md (git-ignored).
#   make bench-quick   every benchmark at small sizes (a few minutes)
#   make bench         the full suite: HTTP lifecycle vs raw inserts and Request Tracker, append, rebuild
#   make bench-scale   1M tickets (~7M events): queue queries, as-of views, full rebuild
#   make rt-peer       install and start Request Tracker 5 (root; ../shared/peers/rt/setup_rt.sh)
# Pass options through ARGS, e.g. make bench ARGS="--stores sqlite --no-rt".
PYTHON ?= $(if $(wildcard .venv/bin/python),.venv/bin/python,python3)
RT_PEER ?= ../shared/peers/rt
export PYTHONPATH := $(CURDIR)

.PHONY: bench bench-quick bench-scale rt-peer

bench:
	$(PYTHON) -m bench --suite full $(ARGS)

bench-quick:
	$(PYTHON) -m bench --suite quick $(ARGS)

bench-scale:
	$(PYTHON) -m bench --suite scale $(ARGS)

rt-peer:
	cd $(RT_PEER) && ./setup_rt.sh
