# Every target does its own set-up: a fresh clone needs only `make demo` or `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
CHROMIUM ?= /usr/bin/chromium
# The demo signs unsubscribe links with a throwaway secret; real sends take it from the environment.
DEMO_SECRET := demo-only-secret-not-for-real-sends

.PHONY: install demo test test-fast test-lowest lint preview schema bench browser spamassassin dovecot postfix screenshots constraints clean

# constraints.txt pins every package's version, so that every install (and CI) is repeatable.
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $@

install: $(STAMP)

# The browser tests drive Debian's chromium, and measure the email in Liberation Sans (Arial's
# metrics, Debian's fonts-liberation): both are installed when missing and we may (root, apt).
# Under CI=true a missing chromium or font fails the run: CI must not skip the browser tests.
browser:
	@{ test -x $(CHROMIUM) && fc-list | grep -q "Liberation Sans"; } || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-liberation >/dev/null) ; } ; \
	test -x $(CHROMIUM) || { [ "$$CI" != true ] || { echo "CI=true and $(CHROMIUM) is missing" >&2; exit 1; }; \
	  echo "chromium is not installed: the browser tests will be skipped"; }

# The spam test runs Debian's SpamAssassin with local rules only; installed the same way.
spamassassin:
	@command -v spamassassin >/dev/null || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq spamassassin >/dev/null) ; } || \
	  echo "spamassassin is not installed: the spam test will be skipped (and fail under CI=true)"

# The inbox tests run a real IMAP server: Debian's Dovecot, installed the same way. Under CI a
# missing Dovecot fails those tests rather than skipping them.
DOVECOT ?= /usr/sbin/dovecot
dovecot:
	@test -x $(DOVECOT) || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd >/dev/null) ; } || \
	  echo "dovecot-imapd is not installed: the IMAP tests will be skipped (they fail under CI=true)"

# The benchmarks send to Postfix's smtp-sink and compare with smtp-source (C, the ceiling);
# installed the same way, without starting a mail server.
SMTP_SINK ?= /usr/sbin/smtp-sink
postfix:
	@test -x $(SMTP_SINK) || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postfix >/dev/null) ; } || \
	  echo "postfix is not installed: the benchmarks send to aiosmtpd instead of smtp-sink"

# The main job on the example programme: the plan and checks, every edition, the web archive,
# and the send itself into outbox/ (the built-in transport when no SMTP server is configured).
demo: install
	$(BIN)/composer check
	$(BIN)/composer build
	$(BIN)/composer archive
	COMPOSER_SECRET=$(DEMO_SECRET) $(BIN)/composer send --yes --transport outbox

lint: install
	$(BIN)/ruff check composer tests bench
	$(BIN)/mypy composer

# The whole gate, what CI runs: every test, on both cores (a module stays on one worker, so its
# browser or server is started once). Includes tests/test_wheel.py: the wheel built, installed
# outside the repository, and used.
test: install browser spamassassin dovecot lint
	$(BIN)/python -m pytest -n auto --dist loadfile

# The loop to run after every change: the in-process tests (model, carry-forward, schedule,
# rendering, messages, journal), no child process, server or browser; under 30 s.
test-fast: install
	$(BIN)/python -m pytest -n auto -m unit

# The lowest versions pyproject.toml allows, in a venv of their own, through test-fast (CI runs it).
LOWEST := .venv-lowest
test-lowest:
	$(PYTHON) -m venv $(LOWEST)
	$(LOWEST)/bin/python -m pip install --quiet --upgrade pip
	$(PYTHON) .ci/lowest-constraints.py > $(LOWEST)/constraints.txt
	$(LOWEST)/bin/python -m pip install --quiet -c $(LOWEST)/constraints.txt -e '.[test]'
	$(LOWEST)/bin/python -m pip check
	$(LOWEST)/bin/python -m pytest -n auto -m unit -p no:cacheprovider

# After changing the dependencies: pin what is installed now (then `make install` on a fresh clone).
constraints: install
	{ sed -n '1,2p' constraints.txt; $(BIN)/python -m pip freeze --all --exclude-editable | grep -v -e '^#' -e '^pip=='; } > constraints.new
	mv constraints.new constraints.txt

preview: install
	$(BIN)/composer preview

schema: install
	$(BIN)/composer schema --out schema/issue.schema.json

bench: install postfix
	$(BIN)/python bench/bench_render.py
	$(BIN)/python bench/bench_send.py
	$(BIN)/python bench/bench_lists.py
	$(BIN)/python bench/bench_scale.py
	$(BIN)/python bench/bench_preview.py
	$(BIN)/python bench/bench_yaml.py
	$(BIN)/python bench/bench_links.py
	$(BIN)/python bench/bench_inbox.py

# The README's pictures of the example's email, at phone and desktop widths (headless chromium).
screenshots: install browser
	$(BIN)/python docs/screenshots.py

clean:
	rm -rf build outbox site .composer $(LOWEST)
