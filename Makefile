# otoc: every target installs what it needs first (npm packages, Debian test data, PyTorch for bench).
SHELL := /bin/bash
TESTDATA := /usr/share/libonnx-testdata/data
# oneDNN's headers (Debian's libdnnl-dev): the native kernels' convolutions.
DNNL := /usr/include/oneapi/dnnl/dnnl.hpp
# Debian's PyTorch: the reference side of the training benchmark (bench/torch_train_speed.py).
TORCH := /usr/lib/python3/dist-packages/torch
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup build test fuzz demo bench clean

# oneDNN first: npm ci runs the package's install script, which builds the native kernels.
setup: $(DNNL) node_modules/.package-lock.json $(TESTDATA)

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

$(TESTDATA):
	$(SUDO) apt-get update -qq
	$(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libonnx-testdata

# otoc's native kernels (native/), a Node-API addon built by native/build.mjs with the node-gyp
# that npm bundles, against the headers of the node that runs it: with oneDNN (Debian's
# libdnnl-dev, installed here where apt-get exists), else without it, else not at all; it says
# which in one line and never fails the build (otoc then runs its fallback kernels).
ADDON := native/build/Release/otoc_kernels.node

# The package's header keeps its old date: an addon built before it was installed (without oneDNN)
# is removed, so that it is built again with it.
$(DNNL):
	@if command -v apt-get >/dev/null; then \
	  $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libdnnl-dev && rm -f $(ADDON) || \
	    echo "otoc: could not install libdnnl-dev; the native kernels are built without oneDNN"; \
	fi

$(ADDON): native/binding.gyp native/build.mjs $(wildcard native/src/*) $(DNNL)
	node native/build.mjs

build: $(DNNL) node_modules/.package-lock.json $(ADDON)
	npm run --silent build

# The tests are type-checked too (test/tsconfig.json), as strictly as the sources.
test: setup build
	npx tsc -p test
	npx vitest run

# The long fuzz run (make test runs 2,000 cases): 50,000 mutated corpus models through the CLI's stages.
fuzz: setup build
	npx tsx test/fuzz/run.ts --cases 50000 --workers 2 --seed 26

DEMO := demo-out

# Train a small CNN on Fashion-MNIST with DHSPG (target group sparsity 0.7), prune, verify, report.
demo: setup build
	mkdir -p $(DEMO)
	./bin/otoc.js zoo small-cnn --input 1x28x28 --classes 10 -o $(DEMO)/small-cnn.onnx
	./bin/otoc.js compress $(DEMO)/small-cnn.onnx --data fashion-mnist --epochs 5 --threads 2 \
	  --target-sparsity 0.7 --keep-full $(DEMO)/trained-full.onnx -o $(DEMO)/small.onnx --report $(DEMO)/report.json

$(TORCH):
	$(SUDO) apt-get update -qq
	$(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch

# `make bench` runs every benchmark; `make bench BENCH=coverage` (or another name) runs one.
BENCH ?=
bench: setup build $(TORCH)
	node --expose-gc dist/bench/run.js $(BENCH)

clean:
	rm -rf dist
