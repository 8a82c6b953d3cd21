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
	rm -rf $(VENV) staticfiles db.sqlite3 var locale/*/LC_MESSAGES/*.mo

# Backups (README "Backups"): `make backup` writes backups/<date-time>/ (or BACKUPS=/var/backups/thidua);
# `make restore BACKUP=backups/<date-time>` restores one into the configured, empty database (FORCE=1 to replace).
.PHONY: backup restore
BACKUPS ?= backups

backup: install
	$(PY) manage.py backup $(BACKUPS)/$$(date +%Y-%m-%d-%H%M%S)

restore: install
	@test -n "$(BACKUP)" || { echo "Usage: make restore BACKUP=$(BACKUPS)/<date-time> [FORCE=1]"; exit 2; }
	$(PY) manage.py restore $(BACKUP) $(if $(FORCE),--force)

# The benchmark of issue #7 (README "Performance"): PostgreSQL with the generated data, gunicorn, wrk.
# DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/thidua_bench; BENCH_ARGS e.g. "--duration 20".
.PHONY: bench
bench: install
	$(PY) bench/run.py $(BENCH_ARGS)
