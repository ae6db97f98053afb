# motcua: the two commands are `make run` and `make test` (see README.md).
SHELL := /bin/bash
PROVINCE ?= quang-tri
ENV_FILE := .local/$(PROVINCE).env
PY := .venv/bin/python
export PATH := $(CURDIR)/build/tools/bin:$(PATH)

.PHONY: idp idp-stop tools test-accounts run test test-unit test-integration test-e2e bench setup infra python protos protos-baseline province clean

## run: install what is missing, start PostgreSQL and RabbitMQ, and run every service (Ctrl-C stops)
run: python protos
	@PROVINCE=$(PROVINCE) bash infra/local/run.sh

## test: every test (unit, integration on real PostgreSQL/RabbitMQ, e2e through gRPC)
test: infra python protos test-accounts tools
	$(PY) -m pytest

test-unit: python protos
	$(PY) -m pytest -m "not integration and not e2e"

test-integration: infra python protos test-accounts
	$(PY) -m pytest -m integration

test-e2e: infra python protos test-accounts tools
	$(PY) -m pytest -m e2e

## bench: measure throughput and latency on this machine (a benchmark, never a test)
bench: infra python protos tools idp
	@bash infra/local/provision-province.sh bench .local/bench.env
	$(PY) bench/run.py --env-file .local/bench.env

setup: infra python protos province

## idp: start the local OpenID Connect provider (Keycloak) with the province's realm; idp-stop stops it
idp: python
	@PROVINCE=$(PROVINCE) bash infra/local/idp.sh start

idp-stop:
	@PROVINCE=$(PROVINCE) bash infra/local/idp.sh stop

## tools: buf and grpcurl (required by `make test`), ghz, helm, kubeconform through go install
tools:
	@bash infra/local/ensure-tools.sh

infra:
	@bash infra/local/ensure-infra.sh

python:
	@bash infra/local/ensure-python.sh

protos: python
	@bash infra/local/gen-protos.sh

## protos-baseline: accept the current protos as the compatibility baseline (do it deliberately, at a release:
## `buf breaking` checks every later change of the published events and APIs against it)
protos-baseline: tools
	cd protos && ../build/tools/bin/buf build -o baseline.binpb

province: infra
	@bash infra/local/provision-province.sh $(PROVINCE) $(ENV_FILE)

clean:
	rm -rf build .venv .pytest_cache

test-accounts: infra
	@bash infra/local/provision-test.sh
