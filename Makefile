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

# spark-submit starts the driver with PYSPARK_PYTHON (else whatever `python3` is on PATH): point it
# at the venv so the driver and the local Python workers import the same lakeprep and tiktoken.
export PYSPARK_PYTHON := $(abspath $(VPY))
export PYSPARK_DRIVER_PYTHON := $(abspath $(VPY))

.PHONY: setup run test mock-data package db-stop clean help

help:
	@echo "make run     set up and run the text pipeline on generated mock data"
	@echo "make test    set up and run the tests"
	@echo "make setup   venv + package + JVM jars only"
	@echo "make package dist/lakeprep.zip (--py-files) + dist/lakeprep-env.tar.gz (--archives)"
	@echo "make db-stop stop the embedded PostgreSQL"
	@echo "make clean   remove the lake, mock data and embedded database"

$(VPY):
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt setup.py | $(VPY)
	$(VPY) -m pip install --quiet -r requirements.txt
	$(VPY) -m pip install --quiet --no-deps -e .
	touch $@

setup: $(VENV)/.installed
	bash scripts/setup_jars.sh $(VENV)

$(MOCK_DIR)/manifest.json: scripts/generate_mock_data.py | $(VENV)/.installed
	$(VPY) scripts/generate_mock_data.py --out $(MOCK_DIR) --docs $(MOCK_DOCS)

mock-data: $(MOCK_DIR)/manifest.json

run: setup mock-data
	$(VENV)/bin/spark-submit --driver-memory 4g \
		--driver-java-options "-Dlog4j2.configurationFile=conf/log4j2.properties" \
		jobs/text_pipeline.py \
		--input $(MOCK_DIR) --lake $(LAKE) --config $(CONFIG)

test: setup
	$(VPY) -m pytest $(PYTEST_ARGS) tests

package: setup
	bash scripts/package_for_cluster.sh $(VENV)

db-stop: | $(VENV)/.installed
	$(VPY) -m lakeprep.db.embedded stop --data-dir .local/postgres --port 54329

clean: db-stop
	rm -rf $(LAKE) $(MOCK_DIR) .local
