# Verbs: make data | report | test | notebooks | lab | app | bench | lint | clean
# Every verb creates .venv with the pinned dependencies on first use.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
EXTRACT := data/synthetic
APP_PORT ?= 8866
LAB_PORT ?= 8888
REPORTS := reports

.PHONY: setup data report network test notebooks lab app bench bench-omop bench-visits lint clean

setup: $(STAMP)
	@sh scripts/system-packages.sh

$(STAMP): requirements.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Needs $(PYTHON) on PATH (or run: make PYTHON=python3 ...)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

$(EXTRACT)/patients.csv $(EXTRACT)/visits.csv &: | $(STAMP)
	$(PY) -m screening synth --out $(EXTRACT) --overwrite --visits --visit-years 2

## Build the bundled synthetic extract (5,000 patients with their visits of up to 2 years, seeded) if absent.
data: $(EXTRACT)/patients.csv $(EXTRACT)/visits.csv

## Produce the screening-funnel report on the bundled extract, in reports/.
report: data
	$(PY) -m screening report --data $(EXTRACT) --out $(REPORTS)/latest --overwrite --portfolio

## Merge a demo network (the bundled extract split by its 8 sites, one bundle each) into reports/network/.
network: data
	$(PY) -c "from screening.network.merge import demo_network; demo_network('$(REPORTS)/network-demo')"
	$(PY) -m screening merge $(REPORTS)/network-demo --out $(REPORTS)/network --overwrite

## Run every test: unit, property-based, doctests and the notebooks (nbval).
test: setup data
	$(PY) -m pytest -n 2 --dist loadscope --durations=25 tests lib README.md \
	    --nbval notebooks --nbval-current-env --nbval-sanitize-with tests/nbval-sanitize.cfg

## Sync each notebook with its .py pair (Jupytext), re-execute it in place on the synthetic extract; commit both.
notebooks: data
	$(PY) scripts/run_notebooks.py

## Serve the what-if panel as a page with no code (Voila) on http://127.0.0.1:$(APP_PORT)/ ; Ctrl-C stops it.
## app/voila.json stops a page's kernel 10 minutes after it was last used with the page closed, loads only
## the front-end extensions the page needs and keeps the terminal to Voila's own log (README, "What if").
## The page holds no outputs and Voila runs it afresh for every visitor: signed for this user, the server
## no longer warns on every load that it is not trusted.
app: data
	$(abspath $(VENV))/bin/jupyter trust app/whatif.ipynb >/dev/null 2>&1
	cd app && SCREENING_DATA=$(abspath $(EXTRACT)) $(abspath $(VENV))/bin/voila whatif.ipynb --port=$(APP_PORT) \
	    --no-browser --Voila.ip=127.0.0.1

## Open JupyterLab on the notebooks; make lab LAB_PORT=9000 NO_BROWSER=1 on a remote or headless machine.
lab: data
	$(VENV)/bin/jupyter lab notebooks --port=$(LAB_PORT) $(if $(NO_BROWSER),--no-browser)

## Time the engine against DuckDB and the naive way at 10k/100k/1M patients.
bench: setup
	$(PY) scripts/bench.py

## Screen a generated OMOP CDM in place (200k persons, 2M-concept vocabulary) as Parquet, a DuckDB file and in a throw-away PostgreSQL; compare every outcome. Heavy: minutes.
bench-omop: setup
	$(PY) scripts/bench_omop.py --persons 200000 --routes parquet,duckdb,postgres

## Screen 100k synthetic patients at each of about 12 visits (issue 26's target: at most 10 s).
bench-visits: setup
	$(PY) scripts/bench_visits.py

lint: setup
	$(VENV)/bin/ruff check lib tests scripts

clean:
	rm -rf $(VENV) $(REPORTS) .pytest_cache
