# apitap — see README.md. Every target works from a clean clone on Debian
# bookworm; `deps` installs the system packages the build and tests need.

GO        ?= go
BIN       := bin/apitap
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
SAMPLE    := deploy/samples/api-sample.pcap
FUZZTIME  ?= 5s
BENCHTIME ?= 1s
PKGS      := ./...

.PHONY: all deps services build run test test-unit fuzz fuzz-long bench bench-analyzer bench-e2e bench-peers lint sample clean generate check-generated

all: build

# System packages: libpcap (cgo capture + BPF compiler), libzstd (cgo: the
# Kafka publisher's batch compression, docs/kafka.md), tshark (golden
# corpus tests and bench-peers), tcpdump/iproute2/ethtool (namespace capture
# tests), clickhouse-server/-client (storage integration tests; `services`
# starts it on loopback), rsyslog + rsyslog-gnutls (the SIEM tests start
# their own rsyslogd on loopback UDP/TCP/TLS ports). Installed only when
# missing; needs root (CI runs as root).
DEB_PKGS := libpcap-dev libzstd-dev tshark tcpdump iproute2 ethtool bc time protobuf-compiler clickhouse-server clickhouse-client rsyslog rsyslog-gnutls
deps:
	@missing=""; for p in $(DEB_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

# The servers the integration tests talk to: ClickHouse on 127.0.0.1:9000
# (scripts/clickhouse.sh; a no-op when one already answers). Kafka needs no
# server: the tests start a Kafka-protocol broker (kfake) in process.
services: deps
	@scripts/clickhouse.sh start

build: deps
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/apitap

# The main job on the embedded default: sensor + analyzer in one process
# (`apitap run`, joined by the in-memory bus, no servers) over the bundled
# sample capture, compared with the sample API's spec (documented, shadow,
# zombie and dormant endpoints); prints the summary, writes the result files
# to out/.
run: build
	./$(BIN) run --pcap $(SAMPLE) --spec deploy/samples/api-spec.yaml --out out

# The test command CI runs: lint, the generated-code check, unit and
# integration tests, the race detector on the concurrent packages (the
# process-level tests, which gain nothing from it, are skipped there), and
# a short run of every fuzz target. The race run takes one package at a
# time (-p 1): the race detector's 5-10x slowdown on two cores otherwise
# starves the Kafka group tests' timers.
test: deps services lint check-generated test-unit fuzz

test-unit:
	$(GO) test -count=1 -timeout 15m $(PKGS)
	$(GO) test -count=1 -tags nolibzstd ./internal/zstd/
	CGO_ENABLED=0 $(GO) build -o /dev/null ./bus/kafka/
	$(GO) test -count=1 -race -p 1 -timeout 15m -skip 'Namespace|Live|Memory|Corpus' ./sensor/... ./sink/ ./bus/... ./analyzer/... ./internal/zstd/

fuzz:
	@scripts/fuzz.sh $(FUZZTIME)

fuzz-long:
	@scripts/fuzz.sh 5m

# Per-core figures: every benchmark of the sensor's stages and the whole
# pipeline on a generated keep-alive capture, on one CPU.
bench: deps
	GOMAXPROCS=1 $(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./sensor/... ./flow/ ./schema/codec/

# The analyzer's stages on one CPU: analysis, the ClickHouse writer (needs
# the local server: `make services`), the Kafka subscriber.
bench-analyzer: services
	GOMAXPROCS=1 $(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./analyzer/... ./bus/...

# End to end on a generated capture: sensor → Kafka (kfake, in process) →
# analyzer → ClickHouse; prints each stage's records/s and the whole.
bench-e2e: services
	$(GO) test -run '^$$' -bench BenchmarkPipeline -benchtime 1x -timeout 20m ./cmd/apitap

# Side-by-side CPU cost against tshark on the same generated capture.
bench-peers: build
	@scripts/bench-peers.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@bad=$$(git ls-files -z | xargs -0 -r sh -c 'for f; do [ -f "$$f" ] && head -c4 "$$f" | grep -q "^.ELF" && echo "$$f"; done' _); \
		if [ -n "$$bad" ]; then echo "executables are tracked (build into bin/):"; echo "$$bad"; exit 1; fi

# Regenerate schema/flow/v1/flow.pb.go from flow.proto (docs/wire-format.md)
# with Debian's protoc and a pinned protoc-gen-go.
generate:
	@scripts/generate.sh

# Fails when the committed generated code differs from flow.proto.
check-generated:
	@scripts/check-generated.sh

sample:
	$(GO) run ./internal/pcapgen/gen -o $(SAMPLE) -n 600 -conns 12

clean:
	rm -rf bin out
