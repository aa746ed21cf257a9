# The two commands: `make run` (portal on :8501) and `make test` (the whole suite).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q
PORT   ?= 8501
PYTEST_ARGS ?=

.PHONY: run test test-fast chromium bench clean

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
test: $(VENV)/.dev chromium
	$(PY) -m pytest $(PYTEST_ARGS)

## make test-fast: the suite without the browser tests
test-fast: $(VENV)/.dev
	$(PY) -m pytest -m "not browser" $(PYTEST_ARGS)

chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "installing Debian's chromium for the browser tests"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; \
	fi

bench: $(VENV)/.dev
	$(PY) bench/check_bench.py

clean:
	rm -rf $(VENV) .pytest_cache
