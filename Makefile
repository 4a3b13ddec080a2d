# PumpWatch developer entry points.  Every target sets itself up first:
# a fresh clone needs only `make run` or `make test`.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
NODE_STAMP := node_modules/.installed-stamp
EXAMPLE ?= examples/flex-night-boost.json
HANDOUTS ?= build/handouts
MICROPYTHON_STUBS := 1.27.0.post1
RP2_TESTS := tests/device/test_rp2_board.py
STUBS_STAMP := .stubs/.installed-$(MICROPYTHON_STUBS)

.PHONY: setup run test test-rp2 bench clean help typecheck stubs deploy hil system-tools

help:
	@echo "make run    set up, then forecast $(EXAMPLE), run its refill cycle on the emulated unit, write its hand-outs to $(HANDOUTS)"
	@echo "make test   set up, then run the whole test suite"
	@echo "make bench  set up, then print speed and memory figures"
	@echo "make test-rp2                  the emulated Pico tests alone (needs ../shared/rp2/firmware.uf2)"
	@echo "make setup  create .venv and node_modules (idempotent)"
	@echo "make typecheck                 pyright: firmware vs ESP32 and RP2040 stubs, host tools"
	@echo "make deploy BOARD=rp2 PORT=... install/update the firmware with mpremote (keeps settings, keys, log)"
	@echo "make hil PORT=... [KEYSTORE=]  run the hardware-capable device tests against a real unit"

setup: $(STAMP) $(NODE_STAMP) system-tools

# tmux drives `pumpsync emulate` by hand in tests/device/test_emulate_by_hand.py (skipped without it);
# poppler-utils (pdftotext, pdftoppm) reads the hand-out's summary.pdf back in tests/unit/test_handout.py.
# postgresql (initdb, pg_ctl under /usr/lib/postgresql/*/bin) is the real server the history tests start and stop
# themselves (tests/unit/conftest.py); chromium and chromium-driver load the refill board in tests/unit/test_board_browser.py.
# Installed only where it is missing and apt-get can; never fails the setup.
system-tools:
	@command -v tmux >/dev/null 2>&1 || { command -v apt-get >/dev/null 2>&1 && { apt-get install -y -qq tmux >/dev/null 2>&1 || \
		{ apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq tmux >/dev/null 2>&1; }; }; } || \
		echo "note: tmux is not installed (apt-get install tmux); the by-hand emulator tests will be skipped"
	@command -v pdftoppm >/dev/null 2>&1 || { command -v apt-get >/dev/null 2>&1 && { apt-get install -y -qq poppler-utils >/dev/null 2>&1 || \
		{ apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq poppler-utils >/dev/null 2>&1; }; }; } || \
		echo "note: poppler-utils is not installed (apt-get install poppler-utils); the hand-out PDF text test will be skipped"
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { command -v apt-get >/dev/null 2>&1 && { apt-get install -y -qq postgresql >/dev/null 2>&1 || \
		{ apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq postgresql >/dev/null 2>&1; }; }; } || \
		echo "note: postgresql is not installed (apt-get install postgresql); the PostgreSQL history tests will be skipped"
	@{ command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; } || { command -v apt-get >/dev/null 2>&1 && \
		{ apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1 || \
		{ apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1; }; }; } || \
		echo "note: chromium is not installed (apt-get install chromium chromium-driver); the board's browser test will be skipped"

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

stubs: $(STUBS_STAMP)

$(STUBS_STAMP): $(STAMP)
	rm -rf .stubs
	$(PY) -m pip install --quiet --disable-pip-version-check --target .stubs/esp32 micropython-esp32-stubs==$(MICROPYTHON_STUBS)
	$(PY) -m pip install --quiet --disable-pip-version-check --target .stubs/rp2 micropython-rp2-stubs==$(MICROPYTHON_STUBS)
	touch $@

typecheck: setup stubs
	$(VENV)/bin/pyright -p typecheck/pyright-esp32.json
	$(VENV)/bin/pyright -p typecheck/pyright-rp2.json
	$(VENV)/bin/pyright -p typecheck/pyright-host.json

deploy: setup
	@test -n "$(BOARD)" -a -n "$(PORT)" || { echo "usage: make deploy BOARD=esp32|rp2|pico-w PORT=/dev/ttyACM0 [KEYSTORE=...] [SOURCE=...]"; exit 2; }
	$(VENV)/bin/pumpsync deploy --board $(BOARD) --port $(PORT) $(if $(KEYSTORE),--keystore $(KEYSTORE)) $(if $(DB),--db $(DB)) $(if $(SOURCE),--source $(SOURCE))

hil: setup
	@test -n "$(PORT)" || { echo "usage: make hil PORT=/dev/ttyACM0 [KEYSTORE=...]"; exit 2; }
	$(PY) -m pytest tests/device --port $(PORT) $(if $(KEYSTORE),--keystore $(KEYSTORE)) -v

run: setup
	$(VENV)/bin/pumpsync forecast $(EXAMPLE)
	$(VENV)/bin/pumpsync simulate $(EXAMPLE)
	@echo
	$(VENV)/bin/pumpsync handout $(EXAMPLE) --out $(HANDOUTS) --force

test: setup stubs
	@# The emulated Pico's ordered tests share one deployed unit: their own process, beside the rest
	$(PY) -m pytest -q -p no:xdist -p no:cacheprovider -m "not slow" $(RP2_TESTS) > .rp2-tests.log 2>&1 & rp2=$$!; \
	$(PY) -m pytest -q -n 2 -m "not slow" --durations=15 --ignore=$(RP2_TESTS); main=$$?; \
	wait $$rp2; rp2rc=$$?; echo "--- the emulated Pico ($(RP2_TESTS)):"; cat .rp2-tests.log; \
	test $$main -eq 0 -a $$rp2rc -eq 0

# The emulated Pico alone (tests/device/test_rp2_board.py, one deployed unit; skipped without the UF2)
test-rp2: setup
	$(PY) -m pytest tests/device/test_rp2_board.py -v -s

bench: setup
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) node_modules .pytest_cache .hypothesis .stubs
