# Everything a new machine needs goes through these targets; see README.md.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The platform alone is enough for the demo and dev; the tests add their tools on top.
INSTALLED := $(VENV)/.installed
TEST_INSTALLED := $(VENV)/.installed-dev
# checkov (Terraform security checks) in its own virtualenv: its HCL parser clashes with
# python-hcl2, which the test environment uses.
CHECKOV_VENV := .venv-checkov
CHECKOV := $(CHECKOV_VENV)/bin/checkov

.PHONY: install demo test test-fast lint dev lock checkov checkov-lock clean

$(INSTALLED): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24.2"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e .
	$(BIN)/python -m pip check
	touch $(INSTALLED)

$(TEST_INSTALLED): $(INSTALLED)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	$(BIN)/python -m pip check
	touch $(TEST_INSTALLED)

install: $(TEST_INSTALLED)

demo: $(INSTALLED)
	$(BIN)/sales-platform demo

# Lint and format first: they take seconds and name the line.
test: lint $(CHECKOV)
	$(BIN)/python -m pytest -n 4

lint: $(TEST_INSTALLED)
	$(BIN)/ruff check sales_platform sales_platform_tests benchmarks
	$(BIN)/ruff format --check sales_platform sales_platform_tests benchmarks
	$(BIN)/mypy sales_platform

# The tests that take seconds: no daemon, no subprocess, no deployment checks.
test-fast: $(TEST_INSTALLED)
	$(BIN)/python -m pytest -m "not slow and not deployment" -n 4

dev: $(INSTALLED)
	$(BIN)/sales-platform dev

# Re-resolve every dependency from pyproject.toml and record the exact versions.
lock:
	rm -rf .venv-lock
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet --upgrade "pip>=24.2"
	.venv-lock/bin/python -m pip install --quiet -e '.[dev]'
	.venv-lock/bin/python -m pip freeze --exclude-editable | grep -v '^-e ' > constraints.txt
	rm -rf .venv-lock

$(CHECKOV): .ci/checkov-constraints.txt
	rm -rf $(CHECKOV_VENV)
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -c .ci/checkov-constraints.txt checkov
	touch $(CHECKOV)

checkov: $(CHECKOV)

# Re-resolve checkov's own environment from scratch.
checkov-lock:
	rm -rf .venv-checkov-lock
	$(PYTHON) -m venv .venv-checkov-lock
	.venv-checkov-lock/bin/python -m pip install --quiet checkov
	{ head -n 2 .ci/checkov-constraints.txt; .venv-checkov-lock/bin/python -m pip freeze; } > .ci/checkov-constraints.txt.new
	mv .ci/checkov-constraints.txt.new .ci/checkov-constraints.txt
	rm -rf .venv-checkov-lock

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) .sales-platform
