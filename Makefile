# Lifeboat — `make demo` runs the main job, `make test` runs every test. Each target installs
# what it needs first (Debian packages through scripts/install-deps.sh).
SHELL := /bin/bash
SWIFT ?= swift

.PHONY: deps build release test demo bench bench-smoke clean

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

test: deps
	scripts/check-imports.sh
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	bench/run.sh --smoke

demo: release
	scripts/demo.sh

bench: release
	bench/run.sh

clean:
	rm -rf .build
