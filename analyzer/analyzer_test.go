package analyzer

import (
	"context"
	"errors"
	"net/netip"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/apitap/apitap/flow"
	"github.com/apitap/apitap/schema/codec"
)

// memSink keeps copies of what it was given and can be told to fail.
type memSink struct {
	fail    error
	results []Result
}

func (m *memSink) Write(_ context.Context, r *Result) error {
	if m.fail != nil {
		return m.fail
	}
	m.results = append(m.results, Result{
		Exchanges: slices.Clone(r.Exchanges), Endpoints: slices.Clone(r.Endpoints),
		Findings: slices.Clone(r.Findings), Losses: slices.Clone(r.Losses)})
	return nil
}

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func ex(seq uint64, method, path, query string, status int, at time.Duration) codec.Record {
	return codec.Record{
		Meta: codec.Meta{SensorID: "s1", Sequence: seq},
		Exchange: &flow.Exchange{
			Start: t0.Add(at), End: t0.Add(at + 1500*time.Microsecond),
			Client: netip.MustParseAddrPort("[::ffff:10.0.0.7]:40000"), Server: netip.MustParseAddrPort("10.0.0.1:8080"),
			Method: method, Host: "api.example.com", Path: path, PathDecoded: path, Query: query, Status: status,
			Request:  flow.Body{WireBytes: 10, ContentType: "application/json"},
			Response: flow.Body{WireBytes: 250, ContentType: "application/json"},
			Credentials: []flow.Credential{
				{Location: "cookie", Name: "sid", Scheme: "cookie", Fingerprint: "c00kie"},
				{Location: "header", Name: "Authorization", Scheme: "bearer", Fingerprint: "abcd"},
			},
			Flags: flow.FlagGap | flow.FlagRedacted,
		},
	}
}

func TestExchangeRow(t *testing.T) {
	s := &memSink{}
	a, err := New(DefaultConfig(), Settings{Sinks: []Sink{s}})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Consume(context.Background(), []codec.Record{ex(7, "GET", "/api/v1/users/42/orders", "page=2&sort=asc&x%20y=1", 200, 0)}); err != nil {
		t.Fatal(err)
	}
	got := s.results[0].Exchanges[0]
	want := ExchangeRow{
		Time: t0, SensorID: "s1", Sequence: 7, ClientIP: "10.0.0.7", ClientPort: 40000, ServerIP: "10.0.0.1", ServerPort: 8080,
		Principal: "abcd", PrincipalType: "bearer", Host: "api.example.com", Method: "GET",
		Endpoint: "/api/v1/users/{id}/orders", QueryKeys: []string{"page", "sort", "x y"}, Status: 200,
		RequestBytes: 10, ResponseBytes: 250, RequestType: "application/json", ResponseType: "application/json",
		LatencyMicros: 1500, Flags: []string{"gap", "redacted"},
	}
	if !equalRow(got, want) {
		t.Fatalf("row\n got %+v\nwant %+v", got, want)
	}
}

func equalRow(a, b ExchangeRow) bool {
	return reflect.DeepEqual(a, b)
}

func TestEndpointsMergeAcrossBatches(t *testing.T) {
	s := &memSink{}
	a, _ := New(DefaultConfig(), Settings{Sinks: []Sink{s}})
	ctx := context.Background()
	must(t, a.Consume(ctx, []codec.Record{ex(1, "GET", "/users/1", "", 200, time.Second), ex(2, "GET", "/users/2", "", 404, 0)}))
	must(t, a.Consume(ctx, []codec.Record{ex(3, "GET", "/users/3", "", 503, 5*time.Second), ex(4, "POST", "/users", "", 201, 2*time.Second)}))
	if n := len(s.results[0].Endpoints); n != 1 {
		t.Fatalf("first batch: %d endpoint rows, want 1", n)
	}
	var users EndpointRow
	for _, e := range s.results[1].Endpoints {
		if e.Method == "GET" {
			users = e
		}
	}
	if users.Endpoint != "/users/{id}" || users.Requests != 3 || users.ClientErrors != 1 || users.ServerErrors != 1 ||
		!users.FirstSeen.Equal(t0) || !users.LastSeen.Equal(t0.Add(5*time.Second)) || users.State != "observed" {
		t.Fatalf("merged endpoint: %+v", users)
	}
	if st := a.Stats(); st.Endpoints != 2 || st.Exchanges != 4 || st.Batches != 2 {
		t.Fatalf("stats %+v", st)
	}
}

// A batch that a sink refuses leaves no trace in the state: the retry of
// the same records yields the same rows, with nothing counted twice.
func TestFailedBatchLeavesStateUnchanged(t *testing.T) {
	s := &memSink{fail: errors.New("clickhouse down")}
	a, _ := New(DefaultConfig(), Settings{Sinks: []Sink{s}})
	ctx := context.Background()
	batch := []codec.Record{ex(1, "GET", "/users/1", "", 200, 0), ex(2, "GET", "/users/2", "", 200, 0)}
	for range 3 {
		if err := a.Consume(ctx, batch); err == nil {
			t.Fatal("Consume succeeded with a failing sink")
		}
	}
	s.fail = nil
	must(t, a.Consume(ctx, batch))
	if r := s.results[0].Endpoints[0].Requests; r != 2 {
		t.Fatalf("requests after retries = %d, want 2", r)
	}
	if st := a.Stats(); st.Exchanges != 2 || st.SinkErrors != 3 {
		t.Fatalf("stats %+v", st)
	}
}

func TestMaxEndpoints(t *testing.T) {
	s := &memSink{}
	a, _ := New(Config{MaxEndpoints: 2}, Settings{Sinks: []Sink{s}})
	must(t, a.Consume(context.Background(), []codec.Record{
		ex(1, "GET", "/a", "", 200, 0), ex(2, "GET", "/b", "", 200, 0), ex(3, "GET", "/c", "", 200, 0), ex(4, "GET", "/a", "", 200, 0)}))
	if st := a.Stats(); st.Endpoints != 2 || st.EndpointOverflow != 1 || len(s.results[0].Exchanges) != 4 {
		t.Fatalf("stats %+v, %d exchange rows", st, len(s.results[0].Exchanges))
	}
}

func TestLossRows(t *testing.T) {
	s := &memSink{}
	a, _ := New(DefaultConfig(), Settings{Sinks: []Sink{s}})
	l := flow.Loss{Stage: flow.StageCapture, Reason: "ring_drop", Unit: "packets", Count: 42, First: t0, Last: t0.Add(time.Second)}
	must(t, a.Consume(context.Background(), []codec.Record{{Meta: codec.Meta{SensorID: "s9", Sequence: 5}, Loss: &l}}))
	want := LossRow{SensorID: "s9", Sequence: 5, Stage: "capture", Reason: "ring_drop", Unit: "packets", Count: 42, WindowStart: t0, WindowEnd: t0.Add(time.Second)}
	if got := s.results[0].Losses[0]; got != want {
		t.Fatalf("loss row %+v", got)
	}
	if st := a.Stats(); st.Losses != 1 || st.LostUnits != 42 {
		t.Fatalf("stats %+v", st)
	}
}

func TestNoRequestUsesEndTimeAndServerIP(t *testing.T) {
	s := &memSink{}
	a, _ := New(DefaultConfig(), Settings{Sinks: []Sink{s}})
	e := &flow.Exchange{End: t0, Server: netip.MustParseAddrPort("192.0.2.1:80"), Status: 200, Flags: flow.FlagNoRequest}
	must(t, a.Consume(context.Background(), []codec.Record{{Meta: codec.Meta{SensorID: "s", Sequence: 1}, Exchange: e}}))
	r := s.results[0].Exchanges[0]
	if !r.Time.Equal(t0) || r.Host != "192.0.2.1" || r.Endpoint != "/" || r.LatencyMicros != 0 {
		t.Fatalf("row %+v", r)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestTemplate(t *testing.T) {
	cases := map[string]string{
		"":                                       "/",
		"/":                                      "/",
		"/api/v2/users":                          "/api/v2/users",
		"/api/v2/users/42":                       "/api/v2/users/{id}",
		"/users/5f0c8a1e2b3c4d5e6f708192/orders": "/users/{id}/orders",
		"/o/123e4567-e89b-12d3-a456-426614174000": "/o/{id}",
		"/orders/ORD-2024-000123":                 "/orders/{id}",
		"/sku/SKU-84721-B":                        "/sku/{id}",
		"/reports/2024-05-01":                     "/reports/{id}",
		"/files/d41d8cd98f00b204e9800998ecf8427e": "/files/{id}",
		"/oauth2/token":                           "/oauth2/token",
		"/v1/web3/status":                         "/v1/web3/status",
		"/users/me":                               "/users/me",
		"/a//b/7/":                                "/a//b/{id}/",
		"/search/caf%C3%A9":                       "/search/caf%C3%A9",
	}
	for in, want := range cases {
		if got := Template(in); got != want {
			t.Errorf("Template(%q) = %q, want %q", in, got, want)
		}
	}
}

func BenchmarkConsume(b *testing.B) {
	a, _ := New(DefaultConfig(), Settings{Sinks: []Sink{SinkFunc(func(context.Context, *Result) error { return nil })}})
	batch := make([]codec.Record, 10000)
	for i := range batch {
		batch[i] = ex(uint64(i), "GET", "/api/v1/users/"+string(rune('0'+i%10))+"/orders", "page=1", 200, time.Duration(i)*time.Millisecond)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := a.Consume(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "records/s")
}

type fakeState struct {
	rows  []EndpointRow
	calls [][]string
}

func (f *fakeState) LoadEndpoints(_ context.Context, hosts []string) ([]EndpointRow, error) {
	f.calls = append(f.calls, slices.Clone(hosts))
	return f.rows, nil
}

// A restarted analyzer carries on from the stored inventory: first_seen
// stays, counts continue; a host is read once, and again after it went
// unseen long enough for another analyzer to have owned it.
func TestStateCarriesOver(t *testing.T) {
	st := &fakeState{rows: []EndpointRow{{Host: "api.example.com", Method: "GET", Endpoint: "/users/{id}", State: "observed",
		FirstSeen: t0.Add(-time.Hour), LastSeen: t0.Add(-time.Minute), Requests: 100, ClientErrors: 7}}}
	s := &memSink{}
	now := t0
	a, _ := New(DefaultConfig(), Settings{Sinks: []Sink{s}, State: st, Now: func() time.Time { return now }})
	ctx := context.Background()
	must(t, a.Consume(ctx, []codec.Record{ex(1, "GET", "/users/1", "", 200, 0), ex(2, "GET", "/users/2", "", 404, 0)}))
	must(t, a.Consume(ctx, []codec.Record{ex(3, "GET", "/users/3", "", 200, 0)}))
	if len(st.calls) != 1 || !slices.Equal(st.calls[0], []string{"api.example.com"}) {
		t.Fatalf("loads %v", st.calls)
	}
	e := s.results[1].Endpoints[0]
	if e.Requests != 103 || e.ClientErrors != 8 || !e.FirstSeen.Equal(t0.Add(-time.Hour)) || !e.LastSeen.Equal(t0) {
		t.Fatalf("endpoint %+v", e)
	}
	// Another analyzer advanced the stored row meanwhile.
	st.rows[0].Requests = 500
	now = now.Add(time.Minute)
	must(t, a.Consume(ctx, []codec.Record{ex(4, "GET", "/users/4", "", 200, 0)}))
	if len(st.calls) != 2 || s.results[2].Endpoints[0].Requests != 501 {
		t.Fatalf("after reload: loads %d, endpoint %+v", len(st.calls), s.results[2].Endpoints[0])
	}
}
