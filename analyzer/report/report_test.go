package report

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apitap/apitap/analyzer"
)

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func batch(from, to uint64, version uint64) *analyzer.Result {
	r := &analyzer.Result{}
	for s := from; s <= to; s++ {
		r.Exchanges = append(r.Exchanges, analyzer.ExchangeRow{SensorID: "s1", Sequence: s, Time: t0.Add(time.Duration(s) * time.Second),
			Status: uint16(200 + 100*(s%4)), RequestBytes: 1, ResponseBytes: 10})
	}
	r.Endpoints = append(r.Endpoints, analyzer.EndpointRow{Host: "h", Method: "GET", Endpoint: "/x/{id}", State: "observed",
		FirstSeen: t0, LastSeen: t0.Add(time.Duration(to) * time.Second), Requests: to, Version: version})
	r.Losses = append(r.Losses, analyzer.LossRow{SensorID: "s1", Sequence: to + 1000, Stage: "capture", Reason: "ring_drop", Unit: "packets", Count: 5})
	return r
}

func TestReplayCountsOnce(t *testing.T) {
	r := New()
	ctx := context.Background()
	for _, b := range []*analyzer.Result{batch(1, 10, 1), batch(1, 10, 1), batch(11, 20, 2), batch(11, 20, 2)} {
		if err := r.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	if r.Exchanges() != 20 {
		t.Fatalf("exchanges = %d, want 20", r.Exchanges())
	}
	eps := r.Endpoints()
	if len(eps) != 1 || eps[0].Requests != 20 {
		t.Fatalf("endpoints %+v", eps)
	}
	if l := r.Losses(); len(l) != 2 {
		t.Fatalf("losses %+v", l)
	}
	var sb strings.Builder
	r.Summary(&sb, 5)
	for _, want := range []string{"20 exchanges, 1 endpoints on 1 hosts", "2xx 5  3xx 5  4xx 5  5xx 5", "/x/{id}", "ring_drop", "10 packets"} {
		if !strings.Contains(sb.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, sb.String())
		}
	}
}

func TestWriteDir(t *testing.T) {
	r := New()
	if err := r.Write(context.Background(), batch(1, 3, 1)); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "out")
	if err := r.WriteDir(dir, 10); err != nil {
		t.Fatal(err)
	}
	var eps []map[string]any
	b, err := os.ReadFile(filepath.Join(dir, EndpointsFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &eps); err != nil {
		t.Fatal(err)
	}
	want := []string{"host", "method", "endpoint", "state", "first_seen", "last_seen", "requests", "client_errors", "server_errors"}
	for _, k := range want {
		if _, ok := eps[0][k]; !ok {
			t.Errorf("endpoints.json lacks %q: %s", k, b)
		}
	}
	lb, _ := os.ReadFile(filepath.Join(dir, LossFile))
	if !bytes.Contains(lb, []byte(`"reason": "ring_drop"`)) {
		t.Errorf("loss.json: %s", lb)
	}
	sb, _ := os.ReadFile(filepath.Join(dir, SummaryFile))
	if !bytes.Contains(sb, []byte("3 exchanges")) {
		t.Errorf("summary.txt: %s", sb)
	}
}

func TestLossBounded(t *testing.T) {
	r := New()
	r.MaxLoss = 2
	res := &analyzer.Result{}
	for i := range 5 {
		res.Losses = append(res.Losses, analyzer.LossRow{SensorID: "s", Sequence: uint64(i), Count: 10})
	}
	r.Write(context.Background(), res)
	if n := len(r.Losses()); n != 2 {
		t.Fatalf("kept %d loss rows", n)
	}
	var sb strings.Builder
	r.Summary(&sb, 1)
	if !strings.Contains(sb.String(), "30 units") {
		t.Fatalf("overflow not reported:\n%s", sb.String())
	}
}
