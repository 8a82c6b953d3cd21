# The two commands of the README: `make run` and `make test`. Both are idempotent.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q
HOST   ?= 127.0.0.1:8000
# pytest-xdist workers: the suite on both cores (JOBS=0 runs it in one process).
JOBS   ?= 2

.PHONY: run test install install-test messages migrate demo check-deploy clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

# Reinstall only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(PY)
	$(PIP) install -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(PIP) install -e ".[test]"
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

# The Vietnamese catalogue is compiled with Babel (no GNU gettext needed).
messages: install
	$(VENV)/bin/pybabel -q compile -d locale -D django

migrate: install messages
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py load_demo

run: demo
	@echo "ThiĐua: http://$(HOST)/  (accounts: see README.md)"
	$(PY) manage.py runserver $(HOST)

test: install-test messages
	$(PY) -m pytest -n $(JOBS) $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) staticfiles db.sqlite3 locale/*/LC_MESSAGES/*.mo
