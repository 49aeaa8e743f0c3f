# Developer shortcuts. `make test` is the full suite (the same as CI runs).
GO       ?= go
BIN      ?= bin/sharedrift
PKG      := github.com/sharedrift/sharedrift
VERSION  ?= $(shell git describe --tags --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo none)
LDFLAGS  := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
FUZZTIME ?= 20s
# Minimising each new input the fuzzer finds may otherwise take 60s, during
# which a short run executes nothing new.
FUZZMINIMIZETIME ?= 5s
BENCH    ?= .

.PHONY: all build test test-quick lint fmt vet bench fuzz golden demotenant clean

all: build

## build: static binary in bin/ with version and commit stamped in
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/sharedrift

## test: the full suite: lint, vet, PostgreSQL, Chromium, go test ./...
test:
	./scripts/test.sh

## test-quick: go test without lint or the throwaway database
test-quick:
	$(GO) test -count=1 ./...

## lint: gofmt check, go vet and the pinned golangci-lint (no tests)
lint:
	SHAREDRIFT_TEST_LINT_ONLY=1 ./scripts/test.sh

fmt:
	gofmt -w .

vet:
	$(GO) vet ./...

## bench: benchmarks with allocation counts (BENCH=regexp to narrow)
bench:
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem ./...

## fuzz: run each fuzz target (every FuzzXxx of every package) for FUZZTIME
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "==> $$pkg $$target"; \
	    $(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZETIME) $$pkg; \
	  done; \
	done

## golden: regenerate golden files after an intended output change
golden:
	$(GO) test ./cmd/sharedrift/ ./report/ ./app/ -run Golden -update
	$(GO) test ./rules/ -run TestRulesDoc -update

## demotenant: copy testdata/tenants/fabrikam into the binary's built-in demo tenant
demotenant:
	rm -rf internal/demotenant/fabrikam
	cp -R testdata/tenants/fabrikam internal/demotenant/fabrikam

clean:
	rm -rf bin
