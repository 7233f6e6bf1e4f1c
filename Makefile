# otoc: every target installs what it needs first (npm packages, Debian test data).
SHELL := /bin/bash
TESTDATA := /usr/share/libonnx-testdata/data
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup build test demo bench clean

setup: node_modules/.package-lock.json $(TESTDATA)

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

$(TESTDATA):
	$(SUDO) apt-get update -qq
	$(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libonnx-testdata

build: node_modules/.package-lock.json
	npm run --silent build

test: setup build
	npx vitest run

demo: setup build
	./bin/otoc.js inspect ../shared/corpus/resnet18/model.onnx
	./bin/otoc.js verify ../shared/corpus/resnet18/model.onnx ../shared/corpus/resnet18/model.onnx \
	  --input ../shared/corpus/resnet18/test_data_set_0

bench: setup build
	node --expose-gc dist/bench/run.js

clean:
	rm -rf dist
