# Every target does its own set-up: a fresh clone needs only `make demo` or `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
CHROMIUM ?= /usr/bin/chromium
# The demo signs unsubscribe links with a throwaway secret; real sends take it from the environment.
DEMO_SECRET := demo-only-secret-not-for-real-sends

.PHONY: install demo test preview schema bench browser dovecot clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(STAMP)

# The browser tests drive Debian's chromium; install it when missing and we may (root, apt).
browser:
	@test -x $(CHROMIUM) || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) ; } || \
	  echo "chromium is not installed: the browser tests will be skipped"

# The inbox tests run a real IMAP server: Debian's Dovecot, installed the same way. Under CI a
# missing Dovecot fails those tests rather than skipping them.
DOVECOT ?= /usr/sbin/dovecot
dovecot:
	@test -x $(DOVECOT) || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd >/dev/null) ; } || \
	  echo "dovecot-imapd is not installed: the IMAP tests will be skipped (they fail under CI=true)"

# The main job on the example programme: the plan and checks, every edition, the web archive,
# and the send itself into outbox/ (the built-in transport when no SMTP server is configured).
demo: install
	$(BIN)/composer check
	$(BIN)/composer build
	$(BIN)/composer archive
	COMPOSER_SECRET=$(DEMO_SECRET) $(BIN)/composer send --yes --transport outbox

test: install browser dovecot
	$(BIN)/python -m pytest

preview: install
	$(BIN)/composer preview

schema: install
	$(BIN)/composer schema --out schema/issue.schema.json

bench: install
	$(BIN)/python bench/bench_render.py
	$(BIN)/python bench/bench_send.py
	$(BIN)/python bench/bench_lists.py
	$(BIN)/python bench/bench_yaml.py

clean:
	rm -rf build outbox site .composer
