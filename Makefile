# latentzoo's build. "make test" is what CI runs (.ci/run); "make run" serves the zoo.
#
# Settings, each overridable on the command line or from the environment:
#   BUILD_TAGS  Go build tags for build, vet and test: "onnx" links the ONNX Runtime
#               training backend (cgo), the fastest on CPU; BUILD_TAGS= builds pure Go
#   BUILD_ENV   environment for the go commands, e.g. BUILD_ENV='GOEXPERIMENT=simd'
#   ADDR        the address "make run" serves on
#   LATENTZOO_ORT_LIB, ONNXRUNTIME_SHARED_LIBRARY_PATH
#               the ONNX Runtime library; by default the one "make deps" fetches

BUILD_TAGS ?= onnx
BUILD_ENV ?=
ADDR ?= 127.0.0.1:8080
GO ?= go

ORT_LIB := $(CURDIR)/.deps/onnxruntime/libonnxruntime.so
export LATENTZOO_ORT_LIB ?= $(ORT_LIB)
export ONNXRUNTIME_SHARED_LIBRARY_PATH ?= $(LATENTZOO_ORT_LIB)

GOFLAGS_TAGS := $(if $(strip $(BUILD_TAGS)),-tags '$(BUILD_TAGS)')
# The code version recorded in trained runs and exported entries.
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo devel)
GOCMD := $(if $(strip $(BUILD_ENV)),env $(BUILD_ENV)) $(GO)

.PHONY: all deps build run test screenshot docs bench bench-serve fuzz

all: build

# deps installs the Debian packages and fetches the npm packages into .deps/; it does
# nothing when everything is there.
deps:
	scripts/deps.sh

# build compiles ./latentzoo, built-in zoo entries included.
build:
	$(GOCMD) build $(GOFLAGS_TAGS) -ldflags '-X main.version=$(VERSION)' -o latentzoo ./cmd/latentzoo

# run serves the zoo on $(ADDR).
run: deps build
	./latentzoo serve -addr $(ADDR)

# RACE_PKGS are the packages with concurrency, whose tests CI also runs under the race
# detector: the server and its batcher, the inference package, the zoo's pulls, the ONNX
# Runtime sessions and the commands.
RACE_PKGS := ./serve ./autoencoder ./zoo/... ./infer ./cmd/...

# test is CI: vet and every test, with the data sets and ONNX Runtime in place, then the
# concurrent packages' tests again under the race detector. The XLA GPU backend is only
# vetted (it builds; it runs where a GPU is: scripts/gpu-check.sh).
test: deps
	$(GOCMD) vet $(GOFLAGS_TAGS) ./...
	$(GOCMD) vet -tags onnx,xla ./train ./cmd/latentzoo
	$(GOCMD) test $(GOFLAGS_TAGS) -count=1 -timeout 45m ./...
	$(GOCMD) test $(GOFLAGS_TAGS) -race -count=1 -timeout 30m $(RACE_PKGS)

# docs draws the README's pictures of the default model again, and the demo's screenshot.
docs: screenshot
	scripts/docs-images.sh

# screenshot runs the demo page's browser test and keeps its screenshot as docs/demo.png.
screenshot: deps
	LATENTZOO_SCREENSHOT=$(CURDIR)/docs/demo.png $(GOCMD) test $(GOFLAGS_TAGS) -count=1 -run TestDemoPage ./web

# bench-serve runs the server's load benchmark (scripts/bench-serve.sh; not part of test):
# raw ONNX Runtime beside /reconstruct, /decode and /sample, with and without batching.
bench-serve: deps
	scripts/bench-serve.sh

# bench runs the training benchmark (scripts/bench-train.sh; not part of test): every
# family's training step beside PyTorch's VAE and DC-VAE on the same cores, with ratios.
bench: deps
	scripts/bench-train.sh

# fuzz runs every fuzz target for FUZZTIME (10m) each (scripts/fuzz.sh; not part of test);
# make test replays what they keep in testdata/fuzz/.
fuzz: deps
	scripts/fuzz.sh
