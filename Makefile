# The two commands of the README: `make run` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test transcript lint docs bench console clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (set PYTHON=python3.11)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m bot

test: $(STAMP)
	$(BIN)/python -m pytest -q

# One transcript: make transcript NAME=my_bug (tests/transcripts/my_bug.yaml).
transcript: $(STAMP)
	@test -n "$(NAME)" || (echo "Say which: make transcript NAME=<file name without .yaml>"; exit 2)
	$(BIN)/python -m pytest -q tests/test_transcripts.py --transcript "$(NAME)"

lint: $(STAMP)
	$(BIN)/ruff check bot tests bench
	$(BIN)/ruff format --check bot tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

# docs/configuration.md's settings tables, rendered from the settings model (bot/config/).
docs: $(STAMP)
	$(BIN)/python -m bot settings-reference --write docs/configuration.md

# The benchmark, then bench/RESULTS.md rendered from that run's JSON (the newest in
# bench/results/), so the table and the run never disagree. Options: make bench BENCH_ARGS="...".
bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)
	$(BIN)/python -m bench report > bench/RESULTS.md.new
	mv bench/RESULTS.md.new bench/RESULTS.md

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
