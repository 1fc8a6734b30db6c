# Quick start: `make demo` and `make test` work on a fresh machine with only Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench check fmt clean docs screenshot

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	@echo "== check the bundled rulebooks =="
	$(BIN)/origin-rules check rules/
	@echo
	@echo "== one determination, for an analyst =="
	$(BIN)/origin-rules evaluate examples/boms/brake-assembly.yaml --rules rules/ --under "USMCA review 2026: China content cap" --as-of 2026-07-01
	@echo
	@echo "== every example BOM under every agreement and scenario that applies =="
	$(BIN)/origin-rules evaluate examples/boms/ --rules rules/ --as-of 2026-07-01

# The queue (tests/conftest.py): the tests that took a second or more in the last run, longest
# first (their durations are kept in .cache/test-durations.json; on a fresh clone the tests
# marked slow come first), then the others in their collected order. With `--maxschedchunk 1`
# xdist hands tests out one at a time as a worker frees up (its default first hands each
# worker a quarter of the queue, all the long tests to one), so both workers share out the
# long tests and the quick ones even out the end. PYTHONDONTWRITEBYTECODE is
# cleared so that the many `origin-rules` processes the tests start reuse compiled bytecode
# (some machines set it; each process would recompile the package).
test: $(STAMP) browser editor-tools
	PYTHONDONTWRITEBYTECODE= HYPOTHESIS_PROFILE=ci $(BIN)/python -m pytest -n 2 --dist load --maxschedchunk 1

# The report's browser test renders the page in Debian's chromium (skipped without it, but
# required under CI=true): installed here when missing and apt-get can install it.
.PHONY: browser
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "== installing Debian's chromium and chromium-driver for the browser test =="; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver) \
	    >/dev/null 2>&1 || echo "warning: could not install chromium (root and apt-get needed)"; }

# The TextMate grammar's test (tests/test_editor.py) runs vscode-tmgrammar-test from the VS Code
# extension's npm tooling (editors/vscode, about 15 s and 145 MB in its node_modules/): installed
# here when npm is on the machine (required under CI=true, skipped elsewhere without it).
.PHONY: editor-tools
editor-tools:
	@test -f editors/vscode/node_modules/.installed || { \
	  command -v npm >/dev/null 2>&1 && \
	  (cd editors/vscode && npm ci --no-audit --no-fund --loglevel=error >/dev/null 2>&1 && touch node_modules/.installed) \
	  || echo "warning: could not install the VS Code extension's npm tooling (npm needed)"; }

# The property tests with five times the examples and new random seeds (the differential
# test: 2,500); a failure is saved in .hypothesis/ and replayed first by the next run.
.PHONY: nightly
nightly: $(STAMP)
	HYPOTHESIS_PROFILE=nightly $(BIN)/python -m pytest -n 2 tests/test_differential.py \
	  tests/test_eval_properties.py tests/test_diff_properties.py tests/test_syntax_properties.py tests/test_schema.py

bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

check: $(STAMP)
	$(BIN)/origin-rules check rules/

fmt: $(STAMP)
	$(BIN)/origin-rules fmt --check rules/

DOCS_STAMP := $(VENV)/.docs-installed

$(DOCS_STAMP): $(STAMP) pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev,docs]'
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	$(BIN)/python scripts/gen_cli_docs.py
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

screenshot: $(DOCS_STAMP)
	$(BIN)/python scripts/screenshot.py

# The VS Code extension (editors/vscode): the .vsix, built with npm (node 20+); not part of
# `make test` (tests/test_editor.py runs vscode-tmgrammar-test when editors/vscode has it).
.PHONY: vsix
vsix:
	$(MAKE) -C editors/vscode vsix

clean:
	rm -rf $(VENV) build *.egg-info
