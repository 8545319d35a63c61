# Quoteflow — the two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-12)

.PHONY: install run test test-fast test-far-ahead test-deploy tools proto backends browser bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

## Runs the four services on the embedded default (SQLite, file bus, Maildir sink) and seeds a demo.
run: install
	$(BIN)/python -m quoteflow.launcher

## Regenerates the gRPC/protobuf stubs in quoteflow/v1 from proto/ (checked for freshness by the tests).
proto: install
	$(BIN)/python -m grpc_tools.protoc -I proto --python_out=. --grpc_python_out=. --pyi_out=. proto/quoteflow/v1/*.proto

## Installs Debian's Chromium for the browser tests when it is missing.
browser:
	bash scripts/ensure-browser.sh

## Makes sure RabbitMQ and PostgreSQL answer on this machine (starts a stopped one).
backends:
	bash scripts/ensure-backends.sh

## Installs the test tools from Debian's packages when missing (poppler's pdfsig and NSS's
## certutil, which check the PAdES seals as a PDF reader would).
tools:
	bash scripts/ensure-debian-packages.sh /usr/bin/pdfsig poppler-utils
	bash scripts/ensure-debian-packages.sh /usr/bin/certutil libnss3-tools

## The whole suite: unit, integration (SQLite, PostgreSQL, RabbitMQ, SMTP) and end to end, after
## the date-sensitive tests under a clock years ahead and the compose stack's run.
test: install backends browser tools test-far-ahead test-deploy
	$(BIN)/python -m pytest

## The unit tests and the integration tests that date events, under a clock five years ahead
## (libfaketime, scripts/far-ahead.sh): a test that writes today's date, or a rule that only
## holds this year, fails here before the calendar reaches it. About a minute.
FAR_AHEAD ?= +1826d
FAR_AHEAD_TESTS ?= tests/unit tests/integration/quotes/test_consumer.py tests/integration/quotes/test_expiry.py
test-far-ahead: install backends
	bash scripts/far-ahead.sh "$(FAR_AHEAD)" $(BIN)/python -m pytest -q -p no:cacheprovider $(FAR_AHEAD_TESTS)

## The compose stack in its production configuration, on images built here (Docker; about a minute
## once the images are built, a few minutes the first time on a machine).
test-deploy: install
	bash scripts/ensure-docker.sh
	$(BIN)/python -m pytest tests/deploy -m deploy -s

test-fast: install
	$(BIN)/python -m pytest tests/unit

bench: install backends
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf var .pytest_cache .hypothesis
