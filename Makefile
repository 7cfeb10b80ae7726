# fazhi: two entry points for a newcomer, both install what they need first.
#   make run   — install, then open the web app on the bundled sample reports (offline)
#   make test  — install (Python deps, Chromium and a CJK font for the browser tests), run the suite

VENV   ?= .venv
PYTHON ?= python3
BIN     = $(VENV)/bin

.PHONY: run test install system-deps lint eval bench clean

run: install
	$(BIN)/fazhi serve

test: install system-deps
	$(BIN)/python -m pytest

install: $(VENV)/.installed

# torch is pinned to 2.13.0 in pyproject.toml: that CPU wheel lies on this disk; an unpinned torch
# would pull a multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

# Debian's Chromium (no browser download) and a CJK font, for the end-to-end browser tests.
system-deps:
	@if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "wenquanyi\|wqy"; then \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-wqy-zenhei >/dev/null; \
	fi

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

eval: install
	$(BIN)/fazhi eval

bench: install
	$(BIN)/python bench/embeddings.py

clean:
	rm -rf $(VENV) data .pytest_cache tests/artifacts
