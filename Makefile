# mailroom - thin wrapper over CMake. See README.md.
BUILD   ?= build
PREFIX  ?= /usr/local
DESTDIR ?=
JOBS    ?= $(shell nproc 2>/dev/null || echo 2)
TEST_JOBS ?= $(shell expr $(JOBS) \* 2)
# Paths inside the tree hash relative to it, so every clone shares ccache hits.
export CCACHE_BASEDIR := $(CURDIR)
# Debug info would otherwise tie each cache entry to its build directory.
export CCACHE_NOHASHDIR := 1

.PHONY: all deps configure build test unit run stop install bench bench-compare clean

all: build

deps:
	@./scripts/install-deps

configure:
	@cmake -S . -B $(BUILD) -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null

build: deps configure
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest -j $(TEST_JOBS) --output-on-failure --timeout 900

unit: build
	cd $(BUILD) && ctest -j $(TEST_JOBS) -L unit --output-on-failure

# FOREGROUND=1 keeps the demo in the foreground (Ctrl-C stops it).
run: build
	@./scripts/run-demo $(if $(FOREGROUND),start-fg,start)

stop:
	@./scripts/run-demo stop

install: build
	DESTDIR=$(DESTDIR) cmake --install $(BUILD) --prefix $(PREFIX)

bench: build
	@./bench/run

# mailroom against Debian's Postfix (root; installs postfix when missing). Not part of `make test`.
bench-compare: build
	@BUILD=$(BUILD) ./bench/compare

clean:
	rm -rf $(BUILD)
