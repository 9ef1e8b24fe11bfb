package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"

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
	eps := readEndpoints(t, dir)
	var total uint64
	names := map[string]string{}
	for _, e := range eps {
		total += e.Requests
		names[e.Method+" "+e.Path] = e.State
	}
	// 38 of the 600 are 404s on /api/v1/missing: probes, not an endpoint.
	if total != sampleExchanges-38 {
		t.Fatalf("endpoints.jsonl counts %d requests, want %d", total, sampleExchanges-38)
	}
	if names["GET /api/v1/users/{userId}"] != "shadow" || names["POST /api/v1/orders"] != "shadow" || len(names) != 3 {
		t.Fatalf("endpoints %v", names)
	}
	for _, want := range []string{"600 exchanges", "/api/v1/users/{userId}", "sensor loss: none reported", "results in"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	for _, f := range []string{report.LossFile, report.SummaryFile, report.OpenAPIFile, report.FindingsFile, report.ProbesFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	var probes []map[string]any
	b, _ := os.ReadFile(filepath.Join(dir, report.ProbesFile))
	if err := json.Unmarshal(b, &probes); err != nil || len(probes) != 1 || probes[0]["path"] != "/api/v1/missing" {
		t.Fatalf("probes.json: %v %s", err, b)
	}
}

// With the team's spec, the states come out: documented, zombie
// (deprecated), shadow (undocumented), dormant (never called).
func TestRunWithSpec(t *testing.T) {
	dir, out := runSample(t, "--spec", filepath.Join(testutil.RepoRoot(t), "deploy", "samples", "api-spec.yaml"))
	states := map[string]string{}
	for _, e := range readEndpoints(t, dir) {
		states[e.Method+" "+e.Path] = e.State
		if e.Host != "api.example.com" {
			t.Errorf("host %q", e.Host)
		}
	}
	want := map[string]string{
		"GET /api/v1/users/{userId}": "documented",
		"POST /api/v1/orders":        "zombie",
		"GET /api/v1/items":          "shadow",
		"GET /api/v1/admin/stats":    "dormant",
	}
	for k, v := range want {
		if states[k] != v {
			t.Errorf("%s: state %q, want %q (all: %v)", k, states[k], v, states)
		}
	}
	kinds := map[string]int{}
	b, _ := os.ReadFile(filepath.Join(dir, report.FindingsFile))
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var f map[string]any
		if err := json.Unmarshal([]byte(line), &f); err != nil {
			t.Fatal(err)
		}
		kinds[f["kind"].(string)]++
	}
	if kinds["shadow_endpoint"] != 1 || kinds["zombie_endpoint"] != 1 {
		t.Fatalf("findings %v", kinds)
	}
	if !strings.Contains(out, "1 documented, 1 shadow, 1 zombie, 1 dormant; 1 probed paths (404 only)") {
		t.Fatalf("summary:\n%s", out)
	}

	// openapi.json is a valid OpenAPI 3.1 document (a real validator) with
	// the observed operations, their state and inferred response schemas.
	raw, err := os.ReadFile(filepath.Join(dir, report.OpenAPIFile))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := libopenapi.NewDocument(raw)
	if err != nil {
		t.Fatal(err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatalf("validator: %v", errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		for _, e := range verrs {
			t.Errorf("openapi.json: %s: %s", e.Message, e.Reason)
		}
	}
	var d struct {
		Paths map[string]map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	get := d.Paths["/api/v1/users/{userId}"]["get"]
	if get["x-apitap-state"] != "documented" || d.Paths["/api/v1/orders"]["post"]["x-apitap-state"] != "zombie" {
		t.Fatalf("openapi paths: %v", d.Paths)
	}
	if !strings.Contains(fmt.Sprint(get["responses"]), "properties") {
		t.Fatalf("no inferred response schema: %v", get["responses"])
	}
}

type endpointLine struct {
	Host     string `json:"host"`
	Port     int    `json:"port"`
	Method   string `json:"method"`
	Path     string `json:"path"`
	State    string `json:"state"`
	Requests uint64 `json:"requests"`
}

func readEndpoints(t *testing.T, dir string) []endpointLine {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, report.EndpointsFile))
	if err != nil {
		t.Fatal(err)
	}
	var out []endpointLine
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var e endpointLine
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("endpoints.jsonl line %q: %v", line, err)
		}
		out = append(out, e)
	}
	return out
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
	if eps != 3 {
		t.Fatalf("endpoints FINAL = %d, want 3", eps)
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
