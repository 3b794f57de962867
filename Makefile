# The two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run serve test bench lint install clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

## Start everything on this machine: simulated AWS, web, Celery worker and beat. Ctrl-C stops it all.
run: $(STAMP)
	$(BIN)/python -m portal.devserver

## Production on this machine (README, "Running in production"): migrate, collect static files, then the Procfile's
## web (gunicorn), a worker per queue and beat under honcho. Settings from the environment or .env.
serve: $(STAMP)
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py collectstatic --no-input -v 0
	$(BIN)/honcho start -f Procfile

## Run the whole test suite (uses DATABASE_URL and REDIS_URL when set).
test: $(STAMP)
	$(BIN)/python -m pytest

## Benchmarks: figures and ratios against a baseline run in the same process (not part of `make test`).
bench: $(STAMP)
	PORTAL_BENCH=1 $(BIN)/python -m pytest tests/benchmarks -s -p no:cacheprovider

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/bandit -q -r . -x ./.venv,./tests,./node_modules,./var --severity-level high

clean:
	rm -rf $(VENV) var test-results
