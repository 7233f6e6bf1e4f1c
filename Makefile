# otoc: every target installs what it needs first (npm packages, Debian test data, PyTorch for bench).
SHELL := /bin/bash
TESTDATA := /usr/share/libonnx-testdata/data
# Debian's PyTorch: the reference side of the training benchmark (bench/torch_train_speed.py).
TORCH := /usr/lib/python3/dist-packages/torch
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

DEMO := demo-out

demo: setup build
	mkdir -p $(DEMO)
	./bin/otoc.js zoo small-cnn --input 1x28x28 --classes 10 -o $(DEMO)/small-cnn.onnx
	./bin/otoc.js inspect $(DEMO)/small-cnn.onnx
	./bin/otoc.js groups $(DEMO)/small-cnn.onnx
	./bin/otoc.js prune $(DEMO)/small-cnn.onnx --random-zero 0.7 --emit-full $(DEMO)/full.onnx -o $(DEMO)/small.onnx
	./bin/otoc.js verify $(DEMO)/full.onnx $(DEMO)/small.onnx --random 4

$(TORCH):
	$(SUDO) apt-get update -qq
	$(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch

bench: setup build $(TORCH)
	node --expose-gc dist/bench/run.js

clean:
	rm -rf dist
