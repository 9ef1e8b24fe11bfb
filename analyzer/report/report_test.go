package report

import (
	"bytes"
	"context"
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
	if l := r.Losses(); len(l) != 2 {
		t.Fatalf("losses %+v", l)
	}
	var sb strings.Builder
	r.Summary(&sb, 5, nil)
	for _, want := range []string{"20 exchanges", "2xx 5  3xx 5  4xx 5  5xx 5", "ring_drop", "10 packets"} {
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
	if err := r.WriteDir(dir, 10, nil); err != nil {
		t.Fatal(err)
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
	r.Summary(&sb, 1, nil)
	if !strings.Contains(sb.String(), "30 units") {
		t.Fatalf("overflow not reported:\n%s", sb.String())
	}
}
