# School site: build, check consent, test and publish.
# Every target bootstraps the environment itself (uv + the committed uv.lock).

PY ?= python3
UV ?= $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
RUN = $(UV) run --frozen
PELICAN ?= $(RUN) pelican
PELICANOPTS ?=

BASEDIR = $(CURDIR)
INPUTDIR = $(BASEDIR)/content
OUTPUTDIR = $(BASEDIR)/output
CONFFILE = $(BASEDIR)/pelicanconf.py
PUBLISHCONF = $(BASEDIR)/publishconf.py

DEBUG ?= 0
ifeq ($(DEBUG), 1)
	PELICANOPTS += -D
endif

RELATIVE ?= 0
ifeq ($(RELATIVE), 1)
	PELICANOPTS += --relative-urls
endif

SERVER ?= 127.0.0.1
PORT ?= 8000

# The consent registry of the builds: CONSENT_REGISTRY from the command line or the
# environment; else the school's (consent/registry.sqlite3) once it exists; else, after
# `make demo`, the demo's registry and key. Every build says which one it used.
SCHOOL_REGISTRY = consent/registry.sqlite3
DEMO_REGISTRY = consent/demo-registry.sqlite3
REGISTRY_NOTE = registry: $(SCHOOL_REGISTRY), the default
ifdef CONSENT_REGISTRY
REGISTRY_NOTE = registry: $(CONSENT_REGISTRY) (CONSENT_REGISTRY)
else ifeq ($(wildcard $(SCHOOL_REGISTRY)),)
ifneq ($(wildcard $(DEMO_REGISTRY)),)
BUILD_REGISTRY_ENV = CONSENT_REGISTRY=$(CURDIR)/$(DEMO_REGISTRY) CONSENT_KEY_FILE=$(CURDIR)/consent/demo.key
REGISTRY_NOTE = registry: $(DEMO_REGISTRY), the demo registry, as $(SCHOOL_REGISTRY) does not exist yet (CONSENT_REGISTRY=path make ... for another)
else
REGISTRY_NOTE = registry: none yet ($(SCHOOL_REGISTRY) is missing, so every photo with a face is withheld; make demo makes the demo registry, docs/consent-office.md sets up the school registry)
endif
endif
BUILD_ENV = $(if $(BUILD_REGISTRY_ENV),env $(BUILD_REGISTRY_ENV) ,)
.PHONY: publish-local s3-status s3-stop

.PHONY: help bootstrap browser html clean regenerate serve devserver publish demo test test-fast test-nightly test-deps lint bench settings-doc s3_upload consent-office consent-backup takedown-queue-start takedown-queue-done

help:
	@echo 'Usage:'
	@echo '   make demo          build the sample site through the consent gate, publish it to a local S3 server, serve it'
	@echo '   make test          set up everything and run the whole test suite'
	@echo '   make test-fast     the quick tests: no site builds, browser or S3 server'
	@echo '   make test-nightly  the whole test suite with axe-core on every page (make test: one of each kind)'
	@echo '   make html          (re)generate the web site into output/'
	@echo '   make clean         remove the generated files'
	@echo '   make regenerate    regenerate files upon modification'
	@echo '   make serve         serve output/ at http://$(SERVER):$(PORT)'
	@echo '   make devserver     serve and regenerate together'
	@echo '   make publish       generate using production settings (publishconf.py)'
	@echo '   make publish-local build for and publish to the local S3 server (the running demo'"'"'s), print its address'
	@echo '   make s3-status     the local S3 server of .s3data: address and credentials'
	@echo '   make s3-stop       stop the local S3 server of .s3data'
	@echo '   make s3_upload     build with publishconf.py and upload output/ to S3'
	@echo '   make lint          ruff'
	@echo '   make bench         run the benchmarks in bench/'
	@echo '   make settings-doc  rewrite docs/settings.md from the settings'"'"' fields'
	@echo '   make consent-office  the consent office workspace at http://127.0.0.1:8001'
	@echo '   make consent-backup  back up the consent registry into BACKUP_DIR (default backups/)'

# Install uv when missing, then the locked environment.
bootstrap: .venv/.synced

.venv/.synced: pyproject.toml uv.lock
	@command -v $(UV) >/dev/null 2>&1 || $(PY) -m pip install --user --quiet uv \
		|| $(PY) -m pip install --user --quiet --break-system-packages uv
	$(UV) sync --frozen
	@touch $@

# The consent gate draws SVG files and, under publishconf.py, renders every page in Debian's
# chromium (never a downloaded browser). Installed when missing and allowed (root); without
# it every SVG is withheld and a publish build fails, so say how to get it.
browser: bootstrap
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && apt-get update -qq \
		&& DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } \
		|| echo "note: Debian's chromium is not installed (sudo apt-get install chromium): until it is, every SVG is withheld and publish builds fail"

html: browser
	@echo "consent $(REGISTRY_NOTE)"
	$(BUILD_ENV)$(PELICAN) $(INPUTDIR) -o $(OUTPUTDIR) -s $(CONFFILE) $(PELICANOPTS)

clean:
	[ ! -d "$(OUTPUTDIR)" ] || rm -rf "$(OUTPUTDIR)"

regenerate: browser
	@echo "consent $(REGISTRY_NOTE)"
	$(BUILD_ENV)$(PELICAN) -r $(INPUTDIR) -o $(OUTPUTDIR) -s $(CONFFILE) $(PELICANOPTS)

serve: browser
	@echo "consent $(REGISTRY_NOTE)"
	$(BUILD_ENV)$(PELICAN) -l $(INPUTDIR) -o $(OUTPUTDIR) -s $(CONFFILE) $(PELICANOPTS) -b $(SERVER) -p $(PORT)

devserver: browser
	@echo "consent $(REGISTRY_NOTE)"
	$(BUILD_ENV)$(PELICAN) -lr $(INPUTDIR) -o $(OUTPUTDIR) -s $(CONFFILE) $(PELICANOPTS) -b $(SERVER) -p $(PORT)

publish: browser
	$(PELICAN) $(INPUTDIR) -o $(OUTPUTDIR) -s $(PUBLISHCONF) $(PELICANOPTS)

# Browser and axe-core for the page tests (Debian chromium, never a downloaded browser),
# and libfaketime for the wrong-clock tests (Debian faketime).
test-deps: browser
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }
	@command -v faketime >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq faketime; }
	@[ -f node_modules/axe-core/axe.min.js ] || npm ci --no-audit --no-fund --silent

lint: bootstrap
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy

# One pytest worker per core (pytest-xdist; TEST_WORKERS=0 runs in this process). A test
# module stays on one worker, so its Chromium and module builds start once; what the
# session builds once (the sample site per day) is shared by the workers through a file
# lock (tests/conftest.py, built_once).
TEST_WORKERS ?= auto
XDIST = -n $(TEST_WORKERS) --dist loadscope --no-loadscope-reorder

test: test-deps lint
	$(RUN) pytest -q $(XDIST)

# Nightly: the whole suite with axe-core run on every page of the sample site, where
# `make test` runs it on one page of each kind (tests/site/test_accessibility.py).
test-nightly: test-deps lint
	AXE_ALL_PAGES=1 $(RUN) pytest -q $(XDIST)

# The inner loop while working: no site builds, no browser, no S3 server (see the markers
# in tests/conftest.py); `make test` runs everything.
test-fast: bootstrap
	$(RUN) pytest -q -n $(TEST_WORKERS) -m "not build and not browser and not s3"

bench: bootstrap
	$(RUN) python -m bench

# docs/settings.md is written from the settings' dataclass fields (tests check it).
settings-doc: bootstrap
	$(RUN) python -m tools.settings_reference

demo: browser
	$(RUN) python -m tools.demo --serve $(SERVER):$(PORT)

# Build for the local S3 server's website (SITEURL = its address) and publish into its bucket:
# the running `make demo`'s, else a background server is started (`make s3-stop` stops it).
publish-local: browser
	@echo "consent $(REGISTRY_NOTE)"
	$(BUILD_ENV)$(RUN) python -m tools.demo --publish-local --serve $(SERVER):$(PORT)

s3-status: bootstrap
	$(RUN) python -m s3_publish.local_s3 status --data-dir .s3data

s3-stop: bootstrap
	$(RUN) python -m s3_publish.local_s3 stop --data-dir .s3data

s3_upload: browser
	$(RUN) publish --build

# The consent office's workspace in a browser (127.0.0.1 only; see docs/consent-office.md).
consent-office: bootstrap
	$(RUN) consent serve

# A checked copy of the consent registry (SQLite online backup, safe while it is in use).
BACKUP_DIR ?= backups
consent-backup: bootstrap
	$(RUN) consent backup $(BACKUP_DIR)

# Around the scheduled publish: the takedowns the office queued in its workspace are
# answered by this run (start), and shown there as done once it succeeded (done).
takedown-queue-start: bootstrap
	$(RUN) consent takedowns-ran --starting
takedown-queue-done: bootstrap
	$(RUN) consent takedowns-ran
