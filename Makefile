# Headroom's two everyday commands: `make run` (the app on the embedded default) and `make test`.
# The first of python3.11, python3.12, python3.13 (or python3 if it is one of them) on PATH;
# `make PYTHON=/path/to/python3.x` picks another.
PYTHON ?= $(shell for p in python3.11 python3.12 python3.13 python3; do \
  command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))' 2>/dev/null \
  && { echo $$p; break; }; done)
VENV ?= .venv
PORT ?= 8000
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/headroom

.PHONY: run test test-quick lint bench install install-dev system-deps clean

$(VENV)/.installed: pyproject.toml
	@[ -n "$(PYTHON)" ] && $(PYTHON) -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))' 2>/dev/null \
	  || { echo "Headroom needs Python 3.11, 3.12 or 3.13 ($(or $(PYTHON),none found)): install one (e.g. apt-get install python3.11) or run make PYTHON=/path/to/python3.x"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(PIP) install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# Chromium drives the page tests; ffmpeg is the reference in the benchmarks and GNU time reads
# their peak memory. All from Debian.
system-deps:
	@missing=""; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	command -v ffmpeg >/dev/null || missing="$$missing ffmpeg"; \
	[ -x /usr/bin/time ] || missing="$$missing time"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

# The application on SQLite, tasks in process, files under ./media, with the demo studio, on
# http://127.0.0.1:$(PORT) (`make run PORT=8123`); links in emails follow the port.
run: $(VENV)/.installed
	$(PY) manage.py migrate --noinput -v0
	$(PY) manage.py seed_demo
	@echo "Headroom: http://127.0.0.1:$(PORT)/"
	SITE_URL=$${SITE_URL:-http://127.0.0.1:$(PORT)} $(PY) manage.py runserver 127.0.0.1:$(PORT)

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy studio jobs analysis

# The whole suite on PostgreSQL; the task tests start real Celery workers on Redis
# (127.0.0.1:6379, a database and queue of their own per run: see tests/worker.py).
test: $(VENV)/.installed-dev system-deps lint
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} $(VENV)/bin/pytest $(PYTEST_ARGS)

# A quick second profile: SQLite and in-process tasks, no services, no browser, worker or load
# tests.
test-quick: $(VENV)/.installed-dev
	env -u DATABASE_URL -u CELERY_BROKER_URL $(VENV)/bin/pytest -m "not browser and not worker and not load" $(PYTEST_ARGS)

# Speed and memory against reference tools measured in the same run (not part of `make test`).
# The load run comes last: it exits 1 when its bar is missed, and so does `make bench`.
bench: $(VENV)/.installed-dev system-deps
	$(PY) bench/analysis.py
	$(PY) bench/scheduler.py
	$(PY) bench/scheduler.py --jobs 2000 --engineers 50
	$(PY) bench/intake.py
	$(PY) bench/load.py

clean:
	rm -rf $(VENV) media headroom.sqlite3 staticfiles .pytest_cache .mypy_cache .ruff_cache
