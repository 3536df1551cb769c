# Prophasis — `make help` lists the targets.
GO        ?= go
BIN       := bin
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
# Pure Go: SQLite is modernc.org/sqlite, so binaries need no C toolchain.
export CGO_ENABLED ?= 0

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## build the binaries (cmd/...) into bin/
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ ./cmd/...

.PHONY: frontend
frontend: frontend/node_modules/.package-lock.json ## build the web UI (frontend/dist, embedded by the binary); needs Node 20 and npm
	cd frontend && npm run build

# npm ci only when package-lock.json changed (npm writes node_modules/.package-lock.json).
frontend/node_modules/.package-lock.json: frontend/package-lock.json frontend/package.json
	cd frontend && npm ci --no-audit --no-fund
	@touch $@

.PHONY: run
run: frontend build ## build the UI and the binaries, start the server with embedded defaults (data in ./data)
	$(BIN)/prophasis serve --data-dir ./data

.PHONY: test
test: frontend ## all tests: unit, integration, end-to-end (the UI is built first: the browser tests use it)
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...

.PHONY: bench
bench: frontend ## Go benchmarks of the hot paths, the UI's dashboard render in Chromium, the mesh's traffic at 10-500 members, then the whole-system comparison with Prometheus
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./...
	PROPHASIS_UI_BENCH=1 $(GO) test -count=1 -run '^TestUIDashboardRenderBench$$' -v ./e2e/
	$(GO) test -count=1 -timeout 60m -run '^TestMeshTraffic$$' -v ./agent/mesh -mesh.sizes 10,100,500
	bash bench/run.sh

.PHONY: fuzz-short
fuzz-short: ## run every fuzz target for 20s
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime 20s $$pkg || exit 1; \
	  done; \
	done

.PHONY: lint
lint: ## go vet, staticcheck and govulncheck (when installed)
	$(GO) vet ./...
	@command -v staticcheck >/dev/null && staticcheck ./... || echo "staticcheck not installed: go install honnef.co/go/tools/cmd/staticcheck@2025.1.1"
	@command -v govulncheck >/dev/null && govulncheck ./... || echo "govulncheck not installed: go install golang.org/x/vuln/cmd/govulncheck@v1.1.4"

.PHONY: clean
clean: ## remove build output (not ./data)
	rm -rf $(BIN) frontend/node_modules
	find frontend/dist -mindepth 1 ! -name .gitkeep -exec rm -rf {} +
