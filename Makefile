# tuneforge: every target sets up what it needs, so a fresh clone runs `make demo` or `make test` directly.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CHECKOV_VENV := .venv-checkov
CDK_CLI_VERSION := 2.1148.1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help venv synth gates test demo deploy diff audit bench clean

help:
	@echo "make demo    set up, synthesize, run the security gates and one pipeline run offline"
	@echo "make test    set up and run the whole test suite (includes the security gates)"
	@echo "make synth   synthesize every stage into cdk.out"
	@echo "make deploy STAGE=dev   deploy one stage to a real AWS account (needs credentials)"

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

# checkov pins many packages of its own, so it lives in a separate environment.
$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r requirements-checkov.txt
	touch $@

# Synthesize into a scratch folder and swap it in only on success: a failed synth leaves no cdk.out
# that later steps would trust.
synth: venv
	rm -rf cdk.out.partial
	CDK_OUTDIR=cdk.out.partial $(PY) app.py
	rm -rf cdk.out && mv cdk.out.partial cdk.out

gates: venv $(CHECKOV_VENV)/.installed
	$(PY) -m tests.security.gates --cdk-out cdk.out

# Security review report from cdk.out: audit/REPORT.md and audit/report.json. BASE=<git ref> adds the section
# "changed since BASE" (that ref is synthesized in a temporary git worktree); BASE_REPORT=<report.json> compares
# with a report written earlier instead.
audit: synth $(CHECKOV_VENV)/.installed
	$(PY) -m tuneforge_audit --cdk-out cdk.out --out audit $(if $(BASE),--base "$(BASE)") $(if $(BASE_REPORT),--base-report "$(BASE_REPORT)")

test: venv $(CHECKOV_VENV)/.installed
	$(PY) -m pytest -q -n auto  # pytest-xdist: one worker per core

# The demo a newcomer runs: synthesize every stage, run the security gates on the templates, then deploy
# the dev stage into the offline emulator and run the pipeline on the bundled samples.
demo: synth $(CHECKOV_VENV)/.installed
	$(PY) -m tests.security.gates --cdk-out cdk.out
	$(PY) -m local.demo --cdk-out cdk.out --stage dev

deploy: synth
	npx --yes aws-cdk@$(CDK_CLI_VERSION) deploy --app cdk.out $(if $(STAGE),"Tuneforge-$(STAGE)-*",--all)

diff: synth
	npx --yes aws-cdk@$(CDK_CLI_VERSION) diff --app cdk.out

clean:
	rm -rf cdk.out cdk.out.partial .pytest_cache
