# costalloc — every set-up step lives here so a new machine needs only Python 3.11+ (and Node
# for the Azure emulator). `make demo` runs the product; `make test` runs everything CI runs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
export PREFECT_HOME ?= $(CURDIR)/.prefect
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS := 90

BQ_VENV := .venv-bq
.PHONY: install emulators browser print-tools demo test lint docs unit bench bench-large screenshots clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -U pip
	$(BIN)/pip install -q --disable-pip-version-check -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

# Local stand-ins for the clouds: the BigQuery emulator in its
# own venv (it pins protobuf 6), Azurite from npm. moto's S3 server comes with the test extra.
$(BQ_VENV)/.installed:
	test -x $(BQ_VENV)/bin/python || $(PYTHON) -m venv $(BQ_VENV)
	$(BQ_VENV)/bin/pip install -q --disable-pip-version-check 'bqemulator==1.4.0' numpy
	touch $@

.node/.installed:
	npm install --prefix .node --no-audit --no-fund --loglevel=error azurite@3.35.0
	touch $@

# The FinOps Foundation's FOCUS validator needs Python 3.12 (pyenv here; any python3.12 works).
FOCUS_VENV := .venv-focus
PYTHON312 ?= $(shell command -v python3.12 || echo python3.12)
$(FOCUS_VENV)/.installed:
	test -x $(FOCUS_VENV)/bin/python || PYENV_VERSION=$${PYENV_VERSION:-3.12.1} $(PYTHON312) -m venv $(FOCUS_VENV)
	$(FOCUS_VENV)/bin/pip install -q --disable-pip-version-check focus-validator==2.2.1 'pyarrow<26'
	touch $@

emulators: $(BQ_VENV)/.installed .node/.installed $(FOCUS_VENV)/.installed

# The web view's browser tests drive Debian's headless Chromium through Debian's chromedriver
# (Selenium): installed from apt when missing, never a browser downloaded by a test tool.
browser:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	fi

# The print tests render the workbook to PDF as a month-end pack is printed: LibreOffice Calc
# headless, poppler's pdftotext, and Carlito (Calibri's metrics, so columns measure as in Excel).
# Debian / Ubuntu packages, installed (as root, or with sudo) only when one of them is missing.
PRINT_PACKAGES := libreoffice-calc-nogui poppler-utils fonts-crosextra-carlito
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
print-tools:
	@if ! command -v soffice >/dev/null || ! command -v pdftotext >/dev/null \
	    || ! fc-list 2>/dev/null | grep -qi carlito; then \
	  $(SUDO) apt-get update && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y $(PRINT_PACKAGES); \
	fi

# A month of billing from four sources, each in its provider's real layout (AWS CUR 2.0, a GCP
# billing export dump, Azure EA and MCA Cost Management exports, an on-premises asset register),
# loaded and allocated by the nightly flow; prints the allocation and commands to try next.
demo: $(STAMP)
	$(BIN)/costalloc demo --dir costalloc-demo

# mypy can't follow the editable install's import hook, so it checks a tree of links laid out as
# the installed package is (build/typecheck/costalloc/<folder> → ./<folder>, per package-dir).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -c "$$TYPECHECK_TREE"
	$(BIN)/mypy

define TYPECHECK_TREE
import os, pathlib, shutil, tomllib
tree = pathlib.Path("build/typecheck/costalloc")
shutil.rmtree(tree.parent, ignore_errors=True)
tree.mkdir(parents=True)
for name, folder in tomllib.load(open("pyproject.toml", "rb"))["tool"]["setuptools"]["package-dir"].items():
    if name == "costalloc":
        for module in pathlib.Path(folder).glob("*.py"):
            (tree / module.name).symlink_to(os.path.relpath(module, tree))
    else:
        (tree / name.split(".", 1)[1]).symlink_to(os.path.relpath(folder, tree))
endef
export TYPECHECK_TREE

# The documentation site (mkdocs.yml → build/site). --strict: a dead link or anchor, or a page
# missing from the nav, fails the build.
docs: $(STAMP)
	$(BIN)/mkdocs build --strict --quiet

# The whole suite: lint, type check, the docs build, then pytest (which starts the emulators
# itself). pytest's exit 5 ("no tests collected") is a failure here.
test: lint docs emulators browser print-tools
	@$(BIN)/python -m pytest -q -p no:cacheprovider; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; \
	exit $$rc

unit: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

# Both generators' months against the bare-DuckDB floor, issue 17's targets as met/missed rows
# (bench/results/latest.json). Tens of minutes; nothing else should run on the machine meanwhile.
bench: $(STAMP)
	$(BIN)/python -m bench

# Screenshots of the web view for docs/web.md (a demo warehouse, headless Chromium).
screenshots: $(STAMP) browser
	$(BIN)/python -m tests.docs.screenshots --out docs/images

# A 100M-line-item month end to end: wall time, peak RSS, disk; needs 40 GB free; cleans up.
bench-large: $(STAMP)
	$(BIN)/python -m bench.large

clean:
	rm -rf $(VENV) build .prefect costalloc-demo .pytest_cache .mypy_cache .ruff_cache
