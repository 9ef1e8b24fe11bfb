package sink

import (
	"bytes"
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/apitap/apitap/flow"
)

func TestFoldIDs(t *testing.T) {
	for in, want := range map[string]string{
		"/api/v1/users/123":                       "/api/v1/users/{id}",
		"/api/v1/items":                           "/api/v1/items",
		"/o/5f0c2a9be4b0a1c2d3e4f5a6/x":           "/o/{id}/x",
		"/u/3fa85f64-5717-4562-b3fc-2c963f66afa6": "/u/{id}",
		"/v2/deadbeef":                            "/v2/deadbeef",
		"/2010-04-01/Accounts":                    "/2010-04-01/Accounts", // a date-like version stays
		"/static/app.js":                          "/static/app.js",
	} {
		if got := foldIDs(in); got != want {
			t.Errorf("foldIDs(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSummaryCountsAndBounds(t *testing.T) {
	s := NewSummary()
	s.MaxRows = 2
	var ex []*flow.Exchange
	for i, p := range []string{"/a/1", "/a/2", "/b", "/c", "/d"} {
		ex = append(ex, &flow.Exchange{Method: "GET", Host: "h", Path: p, Status: 200 + i%2*204,
			Start: time.Unix(100, 0), End: time.Unix(101, 0), Client: netip.MustParseAddrPort("10.0.0.1:1")})
	}
	s.Consume(context.Background(), flow.Batch{Exchanges: ex, Losses: []flow.Loss{{Stage: flow.StageCapture, Reason: "kernel_drop", Unit: "packets", Count: 7}}})
	var b bytes.Buffer
	s.Write(&b, 10)
	out := b.String()
	for _, w := range []string{"exchanges: 5", "/a/{id}", "2xx=3", "4xx=2", "capture/kernel_drop (packets)=7", "beyond the 2 tracked rows"} {
		if !strings.Contains(out, w) {
			t.Errorf("summary lacks %q:\n%s", w, out)
		}
	}
}
