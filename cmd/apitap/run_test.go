package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/apitap/apitap/analyzer/report"
	"github.com/apitap/apitap/internal/testutil"
)

const sampleExchanges = 600 // deploy/samples/api-sample.pcap (make sample)

func runSample(t *testing.T, extra ...string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	args := append([]string{"run", "--pcap", filepath.Join(testutil.RepoRoot(t), "deploy", "samples", "api-sample.pcap"),
		"--out", dir, "--sensor-id", "run-test", "--log-level", "error"}, extra...)
	var out, errb bytes.Buffer
	if err := run(context.Background(), args, &out, &errb); err != nil {
		t.Fatalf("run: %v\n%s", err, errb.String())
	}
	return dir, out.String()
}

// `apitap run` needs no servers: the sample's exchanges all reach the
// result files and the summary.
func TestRunEmbedded(t *testing.T) {
	dir, out := runSample(t)
	var eps []report.Endpoint
	b, err := os.ReadFile(filepath.Join(dir, report.EndpointsFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &eps); err != nil {
		t.Fatal(err)
	}
	var total uint64
	names := map[string]bool{}
	for _, e := range eps {
		total += e.Requests
		names[e.Method+" "+e.Endpoint] = true
	}
	if total != sampleExchanges {
		t.Fatalf("endpoints.json counts %d requests, want %d", total, sampleExchanges)
	}
	if !names["GET /api/v1/users/{id}"] || !names["POST /api/v1/orders"] {
		t.Fatalf("endpoints %v", names)
	}
	for _, want := range []string{"600 exchanges", "/api/v1/users/{id}", "sensor loss: none reported", "results in"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	for _, f := range []string{report.LossFile, report.SummaryFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
}

// With --clickhouse the same run also stores; replaying the capture again
// (same sensor id, same sequence numbers) leaves every exchange stored once
// as seen by FINAL.
func TestRunWithClickHouse(t *testing.T) {
	dsn := testutil.ClickHouse(t)
	runSample(t, "--clickhouse", dsn)
	runSample(t, "--clickhouse", dsn)
	opts, err := clickhouse.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var n, raw uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM exchanges FINAL").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, "SELECT count() FROM exchanges").Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if n != sampleExchanges {
		t.Fatalf("exchanges FINAL = %d, want %d (without FINAL: %d)", n, sampleExchanges, raw)
	}
	var eps uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM endpoints FINAL").Scan(&eps); err != nil {
		t.Fatal(err)
	}
	if eps != 4 {
		t.Fatalf("endpoints FINAL = %d, want 4", eps)
	}
}

func TestProgressLine(t *testing.T) {
	got := progressLine(50<<20, 100<<20, 1234, 1500*time.Millisecond)
	if !strings.HasPrefix(got, "[===============>              ]  50%  50/100 MiB  1234 exchanges  1.5s") {
		t.Fatalf("progress line %q", got)
	}
	if got := progressLine(3<<20, 0, 1, time.Second); !strings.HasPrefix(got, "3 MiB  1 exchanges") {
		t.Fatalf("progress line without size %q", got)
	}
}
