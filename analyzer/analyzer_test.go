package analyzer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apitap/apitap/analyzer/anomaly"
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
		Endpoint: "/api/v1/users/{userId}/orders", QueryKeys: []string{"page", "sort", "x y"}, Status: 200,
		RequestBytes: 10, ResponseBytes: 250, RequestType: "application/json", ResponseType: "application/json",
		LatencyMicros: 1500, Flags: []string{"gap", "redacted"}, GRPCStatus: -1, EffectiveStatus: 200,
	}
	if !equalRow(got, want) {
		t.Fatalf("row\n got %+v\nwant %+v", got, want)
	}
}

// The stored row and the anomaly detector name the caller by the same
// credential (anomaly.Credential): never a response's Set-Cookie, an API key
// or Authorization header before a request cookie, whatever the order.
func TestExchangeRowPrincipalIsTheDetectors(t *testing.T) {
	setCookie := flow.Credential{Location: "cookie", Name: "sid", Scheme: "session", Fingerprint: "setcookie"}
	reqCookie := flow.Credential{Location: "cookie", Name: "sid", Scheme: "cookie", Fingerprint: "c00kie"}
	apiKey := flow.Credential{Location: "header", Name: "X-Api-Key", Scheme: "apikey", Fingerprint: "k1"}
	jwt := flow.Credential{Location: "header", Name: "Authorization", Scheme: "bearer", Fingerprint: "t1",
		JWT: &flow.JWTClaims{Sub: "u42"}}
	jwtFP := flow.Credential{Location: "header", Name: "Authorization", Scheme: "bearer", Fingerprint: "t2",
		JWT: &flow.JWTClaims{Sub: "fp:0123456789abcdef0123456789abcdef", Iss: "https://id.example"}}
	for _, c := range []struct {
		creds      []flow.Credential
		fp, scheme string
	}{
		{[]flow.Credential{setCookie}, "", ""},
		{[]flow.Credential{setCookie, reqCookie}, "c00kie", "cookie"},
		{[]flow.Credential{reqCookie, setCookie}, "c00kie", "cookie"},
		{[]flow.Credential{setCookie, apiKey}, "k1", "apikey"},
		{[]flow.Credential{reqCookie, apiKey}, "k1", "apikey"},
		{[]flow.Credential{apiKey, jwt, reqCookie}, "t1", "bearer"},
		// The sensor fingerprinted the subject (its default): the row
		// names the user, as the finding does, not the token.
		{[]flow.Credential{apiKey, jwtFP, reqCookie}, "0123456789abcdef0123456789abcdef", "jwt"},
	} {
		s := &memSink{}
		a, err := New(DefaultConfig(), Settings{Sinks: []Sink{s}})
		if err != nil {
			t.Fatal(err)
		}
		r := ex(1, "GET", "/api/v1/users/42", "", 200, 0)
		r.Exchange.Credentials = c.creds
		if err := a.Consume(context.Background(), []codec.Record{r}); err != nil {
			t.Fatal(err)
		}
		got := s.results[0].Exchanges[0]
		if got.Principal != c.fp || got.PrincipalType != c.scheme {
			t.Errorf("%+v: row principal %q (%q), want %q (%q)", c.creds, got.Principal, got.PrincipalType, c.fp, c.scheme)
		}
		if p := anomaly.Principal(r.Exchange); c.fp != "" && p != c.scheme+":"+c.fp && !strings.HasPrefix(p, "jwt:") || c.fp == "" && p != "" ||
			c.scheme == "jwt" && p != "jwt:fp:"+c.fp+"@https://id.example" {
			t.Errorf("%+v: detector's principal %q, row's %q", c.creds, p, got.Principal)
		}
	}
}

func equalRow(a, b ExchangeRow) bool {
	return reflect.DeepEqual(a, b)
}

func TestEndpointRowsAcrossBatches(t *testing.T) {
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
	if users.Endpoint != "/users/{userId}" || users.Requests != 3 || users.ClientErrors != 1 || users.ServerErrors != 1 ||
		!users.FirstSeen.Equal(t0) || !users.LastSeen.Equal(t0.Add(5*time.Second)) || users.State != "shadow" ||
		len(users.StateBlob) == 0 || users.Port != 8080 || users.Clients != 1 {
		t.Fatalf("merged endpoint: %+v", users)
	}
	var shadow []FindingRow
	for _, f := range s.results[0].Findings {
		if f.Kind == "shadow_endpoint" {
			shadow = append(shadow, f)
		}
	}
	if len(shadow) != 1 {
		t.Fatalf("findings %+v", s.results[0].Findings)
	}
	if st := a.Stats(); st.Inventory.Endpoints != 2 || st.Exchanges != 4 || st.Batches != 2 {
		t.Fatalf("stats %+v", st)
	}
}

// A batch that a sink refuses is retried with the same records: the
// inventory counts it once and the retry writes the same rows.
func TestRetriedBatchCountsOnce(t *testing.T) {
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
	if st := a.Stats(); st.Exchanges != 2 || st.SinkErrors != 3 || st.Replays != 3 {
		t.Fatalf("stats %+v", st)
	}
	must(t, a.Consume(ctx, []codec.Record{ex(3, "GET", "/users/3", "", 200, 0)}))
	if r := s.results[1].Endpoints[0].Requests; r != 3 {
		t.Fatalf("requests after the next batch = %d, want 3", r)
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

// stateSink is a StateLoader over the rows a memSink stored, newest
// version per endpoint: what ClickHouse gives back.
type stateSink struct {
	s     *memSink
	calls int
}

func (f *stateSink) LoadEndpoints(_ context.Context, hosts []string) ([]EndpointRow, error) {
	f.calls++
	latest := map[string]EndpointRow{}
	for _, r := range f.s.results {
		for _, e := range r.Endpoints {
			k := e.Host + e.Method + e.Endpoint + e.Operation
			if slices.Contains(hosts, e.Host) && e.Version >= latest[k].Version {
				latest[k] = e
			}
		}
	}
	var out []EndpointRow
	for _, e := range latest {
		out = append(out, e)
	}
	return out, nil
}

// A restarted analyzer carries on from the stored inventory: first_seen
// stays, counts continue.
func TestStateCarriesOver(t *testing.T) {
	s := &memSink{}
	ctx := context.Background()
	a1, _ := New(DefaultConfig(), Settings{Sinks: []Sink{s}})
	must(t, a1.Consume(ctx, []codec.Record{ex(1, "GET", "/users/1", "", 200, 0), ex(2, "GET", "/users/2", "", 404, time.Minute)}))
	st := &stateSink{s: s}
	a2, _ := New(DefaultConfig(), Settings{Sinks: []Sink{s}, State: st})
	must(t, a2.Consume(ctx, []codec.Record{ex(3, "GET", "/users/3", "", 200, time.Hour)}))
	must(t, a2.Consume(ctx, []codec.Record{ex(4, "GET", "/users/4", "", 200, 2*time.Hour)}))
	if st.calls != 1 {
		t.Fatalf("state loaded %d times, want once", st.calls)
	}
	e := s.results[2].Endpoints[0]
	if e.Requests != 4 || e.ClientErrors != 1 || !e.FirstSeen.Equal(t0) || !e.LastSeen.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("endpoint after restart %+v", e)
	}
	// The anomaly baseline came back with the endpoint (4 requests learned).
	var b struct{ Requests uint64 }
	if err := json.Unmarshal(a2.det.SaveEndpoint(e.Host, e.Method, e.Endpoint, e.Operation), &b); err != nil || b.Requests != 4 {
		t.Fatalf("baseline after restart: %+v %v", b, err)
	}
}

// piiEx is an exchange whose response lists n customers.
func piiEx(seq uint64, n int, at time.Duration) codec.Record {
	r := ex(seq, "GET", "/api/v1/customers", "", 200, at)
	var b []byte
	b = append(b, `{"customers":[`...)
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		b = fmt.Appendf(b, `{"id":%d,"email":"c%d@corp-mail.com","iban":"DE12370502991234567891"}`, i, i)
	}
	b = append(b, "]}"...)
	r.Exchange.Response.Data = b
	r.Exchange.Credentials = nil
	return r
}

// TestSensitiveFindings: PII in responses becomes aggregated findings (one
// per field, updated, never a raw value) and the endpoint's pii_types;
// a restarted analyzer carries the profile on from the stored state.
func TestSensitiveFindings(t *testing.T) {
	s := &memSink{}
	ctx := context.Background()
	cfg := DefaultConfig()
	cfg.Sensitive.FingerprintKey = []byte("0123456789abcdef0123456789abcdef")
	a1, err := New(cfg, Settings{Sinks: []Sink{s}})
	must(t, err)
	must(t, a1.Consume(ctx, []codec.Record{piiEx(1, 2, 0), piiEx(2, 3, time.Second)}))
	byType := map[string]FindingRow{}
	for _, f := range s.results[0].Findings {
		if f.Kind == "pii" {
			byType[f.Type] = f
		}
	}
	em := byType["email"]
	if em.Location != "response.body" || em.Field != "$.customers[].email" || em.Count != 2 || em.Endpoint != "/api/v1/customers" ||
		em.Host != "api.example.com" || em.MaskedSample == "" || len(em.Fingerprint) != 32 || em.Confidence == "" || em.Severity != "medium" {
		t.Fatalf("email finding %+v", em)
	}
	if ib := byType["iban"]; ib.Severity != "high" || ib.Confidence != "confirmed" || strings.Contains(ib.MaskedSample, "370502991234") {
		t.Fatalf("iban finding %+v", ib)
	}
	for _, f := range s.results[0].Findings {
		if strings.Contains(f.MaskedSample+f.Evidence+f.Summary, "@corp-mail.com") && !strings.Contains(f.MaskedSample, "***") {
			t.Fatalf("raw value in %+v", f)
		}
	}
	ep := s.results[0].Endpoints[0]
	if !slices.Equal(ep.PIITypes, []string{"response.body:email", "response.body:iban"}) {
		t.Fatalf("pii_types %v", ep.PIITypes)
	}
	// The next batch only counts on: nothing is due yet.
	must(t, a1.Consume(ctx, []codec.Record{piiEx(3, 1, 2*time.Second)}))
	for _, f := range s.results[1].Findings {
		if f.Kind == "pii" {
			t.Fatalf("not due, yet reported: %+v", f)
		}
	}
	// A restarted analyzer reads the stored profile with the endpoint.
	a2, err := New(cfg, Settings{Sinks: []Sink{s}, State: &stateSink{s: s}})
	must(t, err)
	must(t, a2.Consume(ctx, []codec.Record{piiEx(4, 60, 5*time.Minute)}))
	var bulk FindingRow
	for _, f := range s.results[2].Findings {
		if f.Kind == "pii" && f.Type == "email" {
			bulk = f
		}
	}
	if bulk.Count != 4 || bulk.Severity != "high" || !strings.Contains(bulk.Evidence, `"bulk":true`) || bulk.ID != em.ID {
		t.Fatalf("after restart: %+v", bulk)
	}
	if st := a2.Stats().Sensitive; st.Messages == 0 || st.Fields != 2 {
		t.Fatalf("stats %+v", st)
	}
	// Sensitive-data scanning can be turned off.
	cfg.Sensitive.Enabled = false
	off := &memSink{}
	a3, err := New(cfg, Settings{Sinks: []Sink{off}})
	must(t, err)
	must(t, a3.Consume(ctx, []codec.Record{piiEx(1, 2, 0)}))
	for _, f := range off.results[0].Findings {
		if f.Kind == "pii" || f.Kind == "exposure" {
			t.Fatalf("scanning off: %+v", f)
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

// TestAnomalyFindings: anomaly episodes become finding rows with the
// client, the window and the evidence; a retried batch does not count
// twice.
func TestAnomalyFindings(t *testing.T) {
	s := &memSink{}
	ctx := context.Background()
	a, err := New(DefaultConfig(), Settings{Sinks: []Sink{s}})
	must(t, err)
	var batch []codec.Record
	for i := range 60 {
		r := ex(uint64(i), "GET", fmt.Sprintf("/scan/%d.php", i), "", 404, time.Duration(i)*time.Second)
		r.Exchange.Client = netip.MustParseAddrPort("198.51.100.9:5555")
		r.Exchange.Credentials = nil
		batch = append(batch, r)
	}
	must(t, a.Consume(ctx, batch))
	var recon []FindingRow
	for _, f := range s.results[0].Findings {
		if f.Kind == "anomaly" && f.Type == "recon_scan" {
			recon = append(recon, f)
		}
	}
	if len(recon) != 1 {
		t.Fatalf("findings %+v", s.results[0].Findings)
	}
	f := recon[0]
	if f.ClientIP != "198.51.100.9" || f.Host != "api.example.com" || f.Count < 30 || !f.FirstSeen.Equal(t0) ||
		!strings.Contains(f.Evidence, `"distinct_paths"`) || f.Severity != "medium" {
		t.Fatalf("recon finding %+v", f)
	}
	if st := a.Stats().Anomaly; st.Events != 60 || st.Episodes != 1 {
		t.Fatalf("stats %+v", st)
	}
	if got := a.Anomalies(); len(got) != 1 || got[0].ID != f.ID {
		t.Fatalf("Anomalies() %+v", got)
	}
}

// A gRPC service answers every call 200 at the HTTP level; the detectors
// see the status its grpc-status says (flow.EffectiveStatus): a minute of
// UNAUTHENTICATED answers is a burst of auth failures, as 401s would be.
// The stored row keeps the HTTP status.
func TestGRPCStatusReachesDetectors(t *testing.T) {
	s := &memSink{}
	a, err := New(DefaultConfig(), Settings{Sinks: []Sink{s}})
	must(t, err)
	var batch []codec.Record
	for i := range 60 {
		r := ex(uint64(i), "POST", "/auth.v1.Login/Authenticate", "", 200, time.Duration(i)*time.Second)
		e := r.Exchange
		e.Proto = "HTTP/2.0"
		e.Response.ContentType = "application/grpc"
		e.ResponseHeaders = []flow.Header{{Name: "content-type", Value: "application/grpc"},
			{Name: "grpc-status", Value: "16"}, {Name: "grpc-message", Value: "invalid credentials"}}
		batch = append(batch, r)
	}
	must(t, a.Consume(context.Background(), batch))
	var burst int
	for _, f := range s.results[0].Findings {
		if f.Kind == "anomaly" && f.Type == "auth_failure_burst" && f.Endpoint == "/auth.v1.Login/Authenticate" {
			burst++
		}
	}
	if burst != 1 {
		t.Fatalf("findings %+v", s.results[0].Findings)
	}
	if row := s.results[0].Exchanges[0]; row.Status != 200 || row.GRPCStatus != 16 || row.EffectiveStatus != 401 {
		t.Fatalf("stored status %d, grpc_status %d, effective_status %d", row.Status, row.GRPCStatus, row.EffectiveStatus)
	}
}
