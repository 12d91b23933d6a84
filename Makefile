# Two commands: `make test` and `make demo`. Each creates .venv if missing and installs
# everything needed, with the pins in constraints.txt.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: test demo docs lint format bench-zoo-open bench-zoo-build clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,ray]'
	touch $(STAMP)

# Two pytest-xdist workers (the CI's 2 cores); tests that share an expensive fixture stay in one
# worker (tests/conftest.py). One test file alone: .venv/bin/python -m pytest tests/test_x.py
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet
	$(BIN)/python -m pytest -q -n 2 --dist loadgroup

# The documentation site, into site/ (MkDocs, no network needed); `mkdocs serve` to browse it
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# The quick benchmark: builds (and caches) its zoos, trains SNE and every baseline across
# datasets and architectures, prints the tables, writes tables and figures to results/quick.
demo: $(STAMP)
	$(BIN)/nnenc bench cross-dataset cross-arch --preset quick --out results/quick

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench-zoo-open: $(STAMP)
	$(BIN)/python benchmarks/zoo_open.py --drop-caches

bench-zoo-build: $(STAMP)
	$(BIN)/python benchmarks/zoo_build.py --runs 1000 --epochs 1

clean:
	rm -rf $(VENV) build site *.egg-info
