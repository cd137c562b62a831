# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DB := data/visitors.duckdb
RAW_DIR := data/raw
DEMO_ROWS ?= 300000

.PHONY: run test install browser lint demo-data load clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is needed (set PYTHON=...)")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# Debian's Chromium for the browser tests; never a browser download.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk; \
		else echo "Debian's chromium is missing: sudo apt-get install chromium fonts-noto-cjk"; exit 1; fi; }

# Demo data only when there is no raw file and no store yet: the form export of three years, and the
# web server's access log of its last 180 days, the default view's and its comparison period's (the
# same lines as the whole log's; etl generate --since).
demo-data: install
	@if [ ! -e $(DB) ] && [ -z "$$(ls $(RAW_DIR) 2>/dev/null | grep -E '\.(csv|jsonl|gz|log)$$|\.log\.[0-9]+$$')" ]; then \
		end=$$(TZ=Asia/Seoul date +%F); since=$$(TZ=Asia/Seoul date -d "$$end -179 days" +%F); \
		$(PY) -m etl generate --rows $(DEMO_ROWS) --end $$end --out $(RAW_DIR)/demo.csv && \
		$(PY) -m etl generate --kind access-log --rows $(DEMO_ROWS) --end $$end --since $$since \
			--out $(RAW_DIR)/access.log.gz; fi

# Loading again is harmless: a file already loaded is skipped by its hash. Access logs are told apart
# by their content: access.log, rotated access.log.1, access.log.2.gz.
load: demo-data
	@files="$$(ls $(RAW_DIR)/*.csv $(RAW_DIR)/*.jsonl $(RAW_DIR)/*.gz $(RAW_DIR)/*.log $(RAW_DIR)/*.log.[0-9]* 2>/dev/null | sort -u)"; \
		if [ -n "$$files" ]; then $(PY) -m etl load $$files --db $(DB); fi
	$(PY) -m etl batches --db $(DB)

run: load
	@echo "Serving the dashboard on http://localhost:8501 (Ctrl-C to stop)"
	$(PY) -m dashboard --server.port 8501

# docs/testing.md: how the suite is organised, its markers and long mode; --durations shows where the time goes
# lint first: it takes a second, and a style slip should not wait for the whole suite
test: lint browser
	$(PY) -m pytest -n 2 --durations=25

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
