# evaltool: two commands on a fresh machine.
#   make demo   creates .venv, installs evaltool, audits the shipped demo bundle, writes the PDF
#   make test   same environment, runs lint, the import contracts and the test suite

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DEMO_OUT := reports/demo

.PHONY: demo test test-slow typecheck bench clean-venv

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || \
	  { echo "error: evaltool needs Python >= 3.11 (found $$($(PYTHON) --version 2>&1))"; exit 1; }
	@$(PYTHON) -c 'import ctypes.util, sys; sys.exit(0 if ctypes.util.find_library("pango-1.0") else 1)' || \
	  { echo "error: Pango is not installed; WeasyPrint needs it for PDF reports."; \
	    echo "       Debian/Ubuntu: apt-get install libpango-1.0-0 libpangoft2-1.0-0"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	@rc=0; $(BIN)/evaltool audit test_vectors/demo/bundle \
	    --profile profiles/etsi-gs-qkd-016.yaml \
	    $$( [ -f test_vectors/demo/st.yaml ] && echo --st test_vectors/demo/st.yaml ) \
	    $$( [ -f test_vectors/demo/evaluation.yaml ] && echo --evaluation test_vectors/demo/evaluation.yaml ) \
	    --seed 1 --out $(DEMO_OUT) >/dev/null || rc=$$?; \
	case $$rc in \
	  0|1|3) echo "demo audit finished with exit code $$rc (0 all pass, 1 a failure, 3 inconclusive)"; \
	         echo "report: $(DEMO_OUT)/report.pdf  (also report.html, results.json)";; \
	  *) echo "demo audit did not complete (exit $$rc)"; exit $$rc;; \
	esac

test: $(STAMP)
	$(BIN)/ruff check evaltool tests benchmarks test_vectors
	$(BIN)/lint-imports
	$(BIN)/pytest -q

test-slow: $(STAMP)
	$(BIN)/pytest -q -m slow

typecheck: $(STAMP)
	$(BIN)/mypy evaltool

bench: $(STAMP)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean-venv:
	rm -rf $(VENV)
