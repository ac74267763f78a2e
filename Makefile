# libstarmile — the one front door: `make demo`, `make test`, `make bench`.

CARGO   ?= cargo
PREFIX  ?= /usr/local
RELEASE := $(CURDIR)/target/release

# Every binding, test and example finds the library and the sandbox here.
export STARMILE_LIB         := $(RELEASE)/libstarmile.so
export STARMILE_SANDBOX_BIN := $(RELEASE)/starmile-sandbox

# The bindings that exist in this checkout, each with its own Makefile.
BINDINGS := $(patsubst bindings/%/Makefile,%,$(wildcard bindings/*/Makefile))

.PHONY: all build demo test test-rust test-c test-asan test-bindings bench bench-smoke lint check-header install clean tools fuzz soak

all: build

## build: the shared and static library, the header, and the sandbox.
build:
	$(CARGO) build --release --features sandbox

## demo: start the sandbox and show a token and an API call from each language.
demo: build
	@scripts/demo.sh $(BINDINGS)

## test: every suite — Rust (fuzz regression corpora included), C under
## valgrind and under AddressSanitizer, and each binding.
test: build check-header lint test-rust bench-smoke test-c test-asan test-bindings
	@echo "all test suites passed"

test-rust: tools
	$(CARGO) test --release --features sandbox

## tools: what the test suites need from Debian (the shared-cache tests start Redis).
tools:
	@command -v redis-server >/dev/null || { apt-get update && apt-get install -y redis-server; }

test-c:
	$(MAKE) -C tests/c test LIBDIR=$(RELEASE) INCDIR=$(CURDIR)/include SANDBOX=$(STARMILE_SANDBOX_BIN)

## bench: every benchmark side by side in one run; writes BENCHMARKS.md.
bench: build
	bench/run.sh

## bench-smoke: the same programs for a few hundred iterations, so they cannot rot.
bench-smoke: build
	BENCH_SMOKE=1 bench/run.sh

test-asan:
	$(MAKE) -C tests/c asan LIBDIR=$(RELEASE) INCDIR=$(CURDIR)/include SANDBOX=$(STARMILE_SANDBOX_BIN)

## fuzz: each fuzzer for FUZZ_SECONDS (default 60) with cargo-fuzz.
FUZZ_SECONDS ?= 60
fuzz: build
	fuzz/run.sh $(FUZZ_SECONDS)

## soak: 10 minutes of 32 threads under scheduled faults (SOAK_SECONDS to change).
soak: build
	soak/run.sh

test-bindings:
	@set -e; for b in $(BINDINGS); do \
	  echo "== bindings/$$b"; $(MAKE) -C bindings/$$b test; \
	done

lint:
	@command -v rustfmt >/dev/null || rustup component add rustfmt
	@$(CARGO) clippy --version >/dev/null 2>&1 || rustup component add clippy
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --release --features sandbox --all-targets -- -D warnings

## check-header: the committed include/starmile.h must equal a fresh one.
check-header: build
	@if git rev-parse --git-dir >/dev/null 2>&1; then \
	  git diff --exit-code -- include/starmile.h \
	    || { echo "include/starmile.h is stale: commit the regenerated header"; exit 1; }; \
	fi

## install: library, header and pkg-config file under $(PREFIX).
install: build
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 0755 $(RELEASE)/libstarmile.so $(DESTDIR)$(PREFIX)/lib/
	install -m 0644 $(RELEASE)/libstarmile.a $(DESTDIR)$(PREFIX)/lib/
	install -m 0644 include/starmile.h $(DESTDIR)$(PREFIX)/include/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e "s|@VERSION@|$$(sed -n 's/^version = \"\(.*\)\"/\1/p' Cargo.toml | head -1)|" \
	  starmile.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/starmile.pc

clean:
	$(CARGO) clean
	$(MAKE) -C tests/c clean
