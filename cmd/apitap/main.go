// Command apitap is the passive API traffic sensor and analyzer.
//
//	apitap sensor   capture (pcap file or live interface) → HTTP exchanges → outputs
//	apitap analyzer Kafka → analysis → ClickHouse (a consumer group)
//	apitap run      sensor + analyzer in one process, no servers needed
//	apitap migrate  apply the ClickHouse schema
//	apitap alert    alerting tools (test a SIEM destination)
//	apitap version  print the version
//
// main is the only place that exits; everything below returns errors.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/apitap/apitap/internal/zstd"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `apitap — passive API traffic analysis

Usage:
  apitap <command> [flags]

Commands:
  run       sensor + analyzer in one process (no servers needed): a capture
            file or interface in, an API inventory and a summary out
  sensor    capture traffic (pcap/pcapng file or live interface), reassemble
            TCP, parse HTTP/1.x and write one record per request/response
            (JSON Lines, summary, or Kafka)
  analyzer  consume the sensors' records from Kafka (a consumer group) and
            store the results in ClickHouse
  migrate   create or upgrade the ClickHouse schema
  alert     alerting tools: "apitap alert test --config F --destination NAME"
            sends a test alert to one SIEM destination
  version   print the version and exit
  help      show this help, or "apitap help <command>" for a command's flags

Examples:
  apitap run --pcap capture.pcap --out results/
  apitap sensor --iface eth1 --kafka k1:9092 --topic apitap.exchanges
  apitap analyzer --kafka k1:9092 --group apitap-analyzer --clickhouse clickhouse://ch:9000/apitap
  apitap sensor --pcap capture.pcap --output jsonl:-
  apitap sensor --iface eth1 --bpf 'tcp port 80 or tcp port 8080' --output jsonl:/var/log/apitap.jsonl
  apitap sensor --config /etc/apitap/apitap.yaml

Every flag can also be set in the YAML file given with --config and with an
APITAP_<FLAG> environment variable (e.g. APITAP_BPF, APITAP_BODY_LIMIT).
Precedence: flags > environment > file > defaults. See docs/config.md.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(os.Stderr, "apitap: %v\n", err)
			os.Exit(2)
		}
		fmt.Fprintf(os.Stderr, "apitap: %v\n", err)
		os.Exit(1)
	}
}

// usageError marks errors caused by how apitap was invoked (exit code 2).
type usageError struct{ error }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageError{errors.New("no command given")}
	}
	switch args[0] {
	case "sensor":
		return runSensor(ctx, args[1:], stdout, stderr)
	case "analyzer":
		return runAnalyzer(ctx, args[1:], stdout, stderr)
	case "run":
		return runRun(ctx, args[1:], stdout, stderr)
	case "migrate":
		return runMigrate(ctx, args[1:], stdout, stderr)
	case "alert":
		return runAlert(ctx, args[1:], stdout, stderr)
	case "version", "--version", "-version":
		// The build's compression library: libzstd through cgo, or the Go encoder (docs/kafka.md).
		fmt.Fprintf(stdout, "apitap %s (%s, zstd: %s)\n", version, runtime.Version(), zstd.Implementation())
		return nil
	case "help", "-h", "--help", "-help":
		if len(args) > 1 {
			return run(ctx, []string{args[1], "--help"}, stdout, stderr)
		}
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return usageError{fmt.Errorf("unknown command %q", args[0])}
	}
}
