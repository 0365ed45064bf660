# Shipshape developer entry points. `make test` is what CI runs.
SHELL := /bin/bash
NPM ?= npm
export SHIPSHAPE_CACHE ?= $(HOME)/.cache/shipshape
KUBECTL ?= kubectl

.PHONY: all deps system-deps rootfs tools build lint manifests manifests-check test test-unit test-e2e e2e-kind \
	cluster-up cluster-down demo demo-down run docker-build deploy undeploy bench clean

all: build

node_modules/.package-lock.json: package.json package-lock.json
	$(NPM) ci --no-audit --no-fund

deps: node_modules/.package-lock.json

## system-deps: Debian packages the tests use (htpasswd, debootstrap, rpm)
system-deps:
	hack/install-system-deps.sh

## tools: build the pinned control plane, kwok, registry, crane, trivy, osv-scanner and cosign (cached)
tools:
	hack/build-tools.sh

## rootfs: the debootstrap Debian rootfs for test images (cached)
rootfs: system-deps
	hack/build-rootfs.sh >/dev/null

build: deps
	$(NPM) run build

lint: build
	$(NPM) run lint

## test: lint, unit tests and the e2e suite on a fresh local cluster
test: deps system-deps tools rootfs
	$(NPM) test

test-unit: build
	$(NPM) run test:unit

test-e2e: build system-deps tools rootfs
	$(NPM) run test:e2e

## e2e-kind: the same e2e suite against a kind cluster (needs Docker; not run in CI here)
e2e-kind: build tools
	kind create cluster --name shipshape-e2e --config test/kind/kind-config.yaml
	KUBECONFIG=$$(mktemp) bash -c 'kind get kubeconfig --name shipshape-e2e > $$KUBECONFIG && $(NPM) run test:e2e'; \
	  status=$$?; kind delete cluster --name shipshape-e2e; exit $$status

cluster-up: build tools
	@$(NPM) run --silent cluster:up

cluster-down: build
	@$(NPM) run --silent cluster:down

## demo: local cluster + operator + sample policies and workloads, then the reports
demo: build tools
	hack/demo.sh up

demo-down: build
	hack/demo.sh down

run: build
	$(NPM) start

docker-build:
	docker build -t shipshape:dev .

deploy:
	$(KUBECTL) apply -k config/default

undeploy:
	$(KUBECTL) delete -k config/default

clean:
	rm -rf dist
