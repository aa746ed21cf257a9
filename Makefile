# The two commands: `make run` (portal on :8501) and `make test` (the whole suite).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q
PORT   ?= 8501
PYTEST_ARGS ?=

.PHONY: run test test-fast chromium bench bench-setup bench-rtt bench-cert bench-batch bench-explain \
	bench-portal bench-startup bench-check clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: requirements.txt | $(PY)
	$(PIP) install -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(PY)
	$(PIP) install -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

## make run: create .venv, install, start the portal on :$(PORT)
run: $(VENV)/.runtime
	$(VENV)/bin/streamlit run streamlit_app.py --server.port $(PORT)

## make test: install everything the tests need (Debian's chromium too) and run the suite
test: $(VENV)/.dev chromium postgres
	$(PY) -m pytest $(PYTEST_ARGS)

## make test-fast: the suite without the browser tests
test-fast: $(VENV)/.dev postgres
	$(PY) -m pytest -m "not browser" $(PYTEST_ARGS)

chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "installing Debian's chromium for the browser tests"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; \
	fi

## make postgres: Debian's PostgreSQL server binaries for the store tests (the tests start
## their own throwaway server on 127.0.0.1 on a free port, never the packaged cluster)
.PHONY: postgres
postgres:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		echo "installing Debian's postgresql for the saved-report store tests"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql >/dev/null; \
	fi

## make bench: every figure in docs/PERFORMANCE.md (about 15 minutes; see bench/README.md)
SSLYZE_PIN ?= sslyze==6.3.1
BENCH_PY   := bench/.venv/bin/python
bench: bench-rtt bench-cert bench-batch bench-explain bench-startup bench-portal

## make bench-setup: bench/.venv with sslyze (bench only, never a project dependency)
bench-setup: $(BENCH_PY)
$(BENCH_PY):
	$(PYTHON) -m venv bench/.venv
	$(BENCH_PY) -m pip --disable-pip-version-check -q install "$(SSLYZE_PIN)"

bench-rtt: $(VENV)/.dev
	$(PY) bench/rtt_bench.py --timeline
bench-cert: $(VENV)/.dev $(BENCH_PY)
	$(PY) bench/cert_bench.py
bench-batch: $(VENV)/.dev
	$(PY) bench/batch_bench.py --one-loop
bench-explain: $(VENV)/.dev
	$(PY) bench/explain_bench.py --stages
bench-startup: $(VENV)/.dev
	$(PY) bench/startup_bench.py
bench-portal: $(VENV)/.dev chromium
	$(PY) bench/portal_bench.py
bench-check: $(VENV)/.dev
	$(PY) bench/check_bench.py

clean:
	rm -rf $(VENV) .pytest_cache
