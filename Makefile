# Two commands: `make run` (set-up + build on the built-in fixture) and `make test` (set-up + tests).
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' && echo $$p && break; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test venv lint bench fixtures clean

$(STAMP): pyproject.toml constraints.txt
	@test -n "$(PYTHON)" || { echo "Python >= 3.11 is required" >&2; exit 2; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade "pip>=24"
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[test]"
	@touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/cdisc168 build --raw fixtures/raw --out submission

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check cdisc168 tests benchmarks scripts
	$(BIN)/ruff format --check cdisc168 tests benchmarks scripts

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_synth.py
	$(BIN)/python benchmarks/bench_sdtm.py
	$(BIN)/python benchmarks/bench_adam.py
	$(BIN)/python benchmarks/bench_validate.py --subjects 1000

fixtures: $(STAMP)
	$(BIN)/cdisc168 synth --out fixtures/raw

clean:
	rm -rf $(VENV) submission .pytest_cache
