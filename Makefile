# Headroom's two everyday commands: `make run` (the app on the embedded default) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/headroom

.PHONY: run test test-quick lint bench install install-dev system-deps clean

$(VENV)/.installed: pyproject.toml
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

# The application on SQLite, tasks in process, files under ./media, with the demo studio.
run: $(VENV)/.installed
	$(PY) manage.py migrate --noinput -v0
	$(PY) manage.py seed_demo
	$(PY) manage.py runserver 127.0.0.1:8000

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy studio jobs analysis

# The whole suite on PostgreSQL; the task tests start real Celery workers on Redis
# (127.0.0.1:6379, a database and queue of their own per run: see tests/worker.py).
test: $(VENV)/.installed-dev system-deps lint
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} $(VENV)/bin/pytest $(PYTEST_ARGS)

# A quick second profile: SQLite and in-process tasks, no services, no browser or worker tests.
test-quick: $(VENV)/.installed-dev
	env -u DATABASE_URL -u CELERY_BROKER_URL $(VENV)/bin/pytest -m "not browser and not worker" $(PYTEST_ARGS)

# Speed and memory against reference tools measured in the same run (not part of `make test`).
bench: $(VENV)/.installed-dev system-deps
	$(PY) bench/analysis.py
	$(PY) bench/scheduler.py
	$(PY) bench/intake.py

clean:
	rm -rf $(VENV) media headroom.sqlite3 staticfiles .pytest_cache .mypy_cache .ruff_cache
