# The two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Every package, transitive ones too, pinned with its hashes (docs/operations.md, "Supply chain").
LOCK := requirements.lock
RUNTIME_LOCK := requirements-runtime.lock
SBOM := var/sbom.cdx.json
# Kept out of the locks: the index and wheel folders of the machine that ran `make lock`.
PIP_COMPILE := CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe \
	--strip-extras --no-emit-index-url --no-emit-find-links --no-emit-trusted-host

.PHONY: run serve test bench bench-scale lint install clean lock sbom audit

$(STAMP): $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r $(LOCK)
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

## Every page and API list at a company's size (docs/operations.md, "At a company's size"): PostgreSQL only
## (DATABASE_URL). SCALE is a fraction of 20,000 people / 1,000,000 audit events, or several to compare:
## `make bench-scale SCALE=0.01,0.1`.
SCALE ?= 0.01
bench-scale: $(STAMP)
	PORTAL_BENCH=1 BENCH_SCALE=$(SCALE) $(BIN)/python -m pytest tests/benchmarks/test_scale_bench.py -s -p no:cacheprovider

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/bandit -q -r . -x ./.venv,./tests,./node_modules,./var --severity-level high
	$(BIN)/python scripts/member_role.py --check
	$(BIN)/cfn-lint deploy/aws/member-role.yaml

## Regenerate the locks from requirements*.txt. Pins already in a lock are kept, so the same inputs give the
## same lock; only new or changed requirements are resolved. `make lock LOCK_ARGS=--upgrade` moves them all on.
lock: $(STAMP)
	$(PIP_COMPILE) $(LOCK_ARGS) -o $(LOCK) requirements-dev.txt
	$(PIP_COMPILE) $(LOCK_ARGS) --constraint $(LOCK) -o $(RUNTIME_LOCK) requirements.txt

## A CycloneDX SBOM of the installed environment, checked to hold every locked package at its version.
sbom: $(STAMP)
	mkdir -p $(dir $(SBOM))
	$(BIN)/cyclonedx-py environment --of JSON --output-reproducible -o $(SBOM) $(BIN)/python
	$(BIN)/python scripts/check_sbom.py $(SBOM) $(LOCK) requirements.txt requirements-dev.txt

## Known vulnerabilities of the locked packages (needs the vulnerability database of PyPI or OSV on the network).
audit: $(STAMP)
	$(BIN)/pip-audit --strict --require-hashes --disable-pip --progress-spinner off -r $(LOCK)

clean:
	rm -rf $(VENV) var test-results
