# uip-intake: `make demo` runs the service on its embedded default, `make test` runs the tests.
# Both set themselves up on a fresh machine (a virtualenv in .venv; Dovecot for the IMAP tests when root).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test check lint bench servers run serve clean

$(BIN)/uip-intake: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

demo: $(BIN)/uip-intake
	$(BIN)/uip-intake demo $(ARGS)

run: $(BIN)/uip-intake
	$(BIN)/uip-intake run

serve: $(BIN)/uip-intake
	$(BIN)/uip-intake serve

# The integration tests start a private Dovecot; .doc forms need LibreOffice; the browser tests need
# Debian's Chromium; the email corpus test reads CPython's test messages. Install them when we can
# (root on Debian/Ubuntu); otherwise those tests are skipped (and fail in CI).
servers:
	@need=""; \
	command -v dovecot >/dev/null 2>&1 || test -x /usr/sbin/dovecot || need="$$need dovecot-imapd"; \
	command -v soffice >/dev/null 2>&1 || need="$$need libreoffice-writer-nogui"; \
	/usr/bin/python3 -c "import uno" >/dev/null 2>&1 || need="$$need python3-uno"; \
	test -x /usr/bin/chromium || need="$$need chromium"; \
	ls /usr/lib/python3*/test/test_email/data/msg_01.txt >/dev/null 2>&1 || need="$$need libpython3.11-testsuite"; \
	if [ -n "$$need" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$need >/dev/null; \
	  else echo "note:$$need not installed; the tests that need them will be skipped"; fi; \
	fi

lint: $(BIN)/uip-intake
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: $(BIN)/uip-intake servers lint
	$(BIN)/python -m pytest

# the tests that start no server, browser, LibreOffice, image or service process: no set-up
# beyond the virtualenv (the markers are set in tests/conftest.py from the fixtures each test uses)
check: $(BIN)/uip-intake lint
	$(BIN)/python -m pytest -q -n auto -m "not servers and not browser and not libreoffice and not slow and not image"

bench: $(BIN)/uip-intake servers
	$(BIN)/python tests/benchmarks/bench_intake.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
