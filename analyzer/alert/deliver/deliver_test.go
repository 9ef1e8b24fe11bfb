package deliver

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apitap/apitap/analyzer"
	"github.com/apitap/apitap/analyzer/alert"
	"github.com/apitap/apitap/analyzer/alert/syslog"
)

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func finding(typ, sev, client string, count uint64, seen time.Time) analyzer.FindingRow {
	return analyzer.FindingRow{ID: "f-" + typ + "-" + client, Kind: "anomaly", Type: typ, Severity: sev, Confidence: "likely",
		Host: "api.example.com", Method: "GET", Endpoint: "/users/{id}", ClientIP: client, Count: count,
		FirstSeen: t0, LastSeen: seen, Summary: typ + " from " + client + ` with "quotes" | pipes = and \ backslash`,
		Evidence: `{"ids":40}`}
}

func write(t *testing.T, d *Dispatcher, fs ...analyzer.FindingRow) {
	t.Helper()
	if err := d.Write(context.Background(), &analyzer.Result{Findings: fs}); err != nil {
		t.Fatal(err)
	}
}

// receiver is a local HTTP receiver that can be taken down (its listener
// closed: connections refused) and brought back on the same port.
type receiver struct {
	t       *testing.T
	addr    string
	handler http.Handler
	mu      sync.Mutex
	srv     *http.Server
}

func newReceiver(t *testing.T, h http.Handler) *receiver {
	r := &receiver{t: t, handler: h, addr: "127.0.0.1:0"}
	r.up()
	t.Cleanup(r.down)
	return r
}

func (r *receiver) up() {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ { // the port may linger a moment after down
		if ln, err = net.Listen("tcp", r.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		r.t.Fatal(err)
	}
	r.addr = ln.Addr().String()
	r.srv = &http.Server{Handler: r.handler}
	go r.srv.Serve(ln)
}

func (r *receiver) down() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.srv != nil {
		r.srv.Close()
		r.srv = nil
	}
}

func (r *receiver) url(path string) string { return "http://" + r.addr + path }

// webhookSink records the alerts a webhook receiver accepted, checking each
// request's signature.
type webhookSink struct {
	t      *testing.T
	key    []byte
	mu     sync.Mutex
	got    []alert.Alert
	fail   int               // answer the next fail requests with 503
	refuse map[string]bool   // finding ids answered with 400
	seen   map[string]string // alert id/revision → body, for duplicates
	dups   int
}

func (s *webhookSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	ts := r.Header.Get(HeaderTimestamp)
	n, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || time.Since(time.Unix(n, 0)) > time.Minute {
		s.t.Errorf("webhook timestamp %q", ts)
	}
	if want := Sign(s.key, n, body); !hmac.Equal([]byte(r.Header.Get(HeaderSignature)), []byte(want)) {
		s.t.Errorf("webhook signature %q, want %q", r.Header.Get(HeaderSignature), want)
	}
	if r.Header.Get("Content-Type") != "application/json" || r.Method != http.MethodPost {
		s.t.Errorf("webhook request %s %s", r.Method, r.Header.Get("Content-Type"))
	}
	var a alert.Alert
	if err := json.Unmarshal(body, &a); err != nil {
		s.t.Errorf("webhook body: %v: %s", err, body)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail > 0 {
		s.fail--
		w.Header().Set("Retry-After", "0")
		w.WriteHeader(503)
		return
	}
	if s.refuse[a.FindingID] {
		w.WriteHeader(400)
		fmt.Fprint(w, "bad alert")
		return
	}
	if r.Header.Get(HeaderAlertID) != a.ID || r.Header.Get(HeaderRevision) != strconv.Itoa(int(a.Revision)) {
		s.t.Errorf("webhook id headers %q/%q for %s/%d", r.Header.Get(HeaderAlertID), r.Header.Get(HeaderRevision), a.ID, a.Revision)
	}
	k := a.ID + "/" + strconv.Itoa(int(a.Revision))
	if s.seen == nil {
		s.seen = map[string]string{}
	}
	if _, dup := s.seen[k]; dup {
		s.dups++
	}
	s.seen[k] = string(body)
	s.got = append(s.got, a)
}

func (s *webhookSink) alerts() []alert.Alert {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]alert.Alert(nil), s.got...)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func webhookConfig(t *testing.T, dir, url string, key []byte) Config {
	kf := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(kf, append(key, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.SpoolDir = dir
	cfg.Destinations = []DestinationConfig{{Name: "hook", Type: "webhook", RetryMin: 5 * time.Millisecond, RetryMax: 40 * time.Millisecond,
		Webhook: WebhookConfig{URL: url, SecretFile: kf}}}
	return cfg
}

func open(t *testing.T, cfg Config) *Dispatcher {
	t.Helper()
	d, err := New(cfg, Settings{Observer: "analyzer-1", Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func closeD(t *testing.T, d *Dispatcher, drain time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	if err := d.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestWebhookSignedRetriedRejected(t *testing.T) {
	key := []byte("s3cret-key")
	sink := &webhookSink{t: t, key: key, fail: 3, refuse: map[string]bool{"f-recon-10.0.0.2": true}}
	rc := newReceiver(t, sink)
	d := open(t, webhookConfig(t, t.TempDir(), rc.url("/hook"), key))
	write(t, d, finding("bola_enumeration", "high", "10.0.0.1", 40, t0),
		finding("recon", "high", "10.0.0.2", 40, t0), // refused by the receiver: skipped, counted
		finding("credential_stuffing", "critical", "10.0.0.3", 9, t0),
		finding("recon", "low", "10.0.0.4", 1, t0)) // under the floor
	waitFor(t, "two alerts", func() bool { return len(sink.alerts()) == 2 })
	closeD(t, d, 5*time.Second)
	got := sink.alerts()
	if got[0].Type != "bola_enumeration" || got[1].Type != "credential_stuffing" || got[0].Observer != "analyzer-1" {
		t.Fatalf("alerts out of order or wrong: %+v", got)
	}
	if !strings.Contains(got[0].Summary, `"quotes" | pipes = and \ backslash`) || string(got[0].Evidence) != `{"ids":40}` {
		t.Fatalf("alert content altered: %+v", got[0])
	}
	s := d.Stats().Destinations[0]
	if s.Sent != 2 || s.Rejected != 1 || s.Failures < 3 || s.Pending != 0 {
		t.Fatalf("stats: %+v", s)
	}
}

// While the receiver is down, an episode's updates pile up in the spool:
// once it is back, every dedup key arrives exactly once, as its latest
// revision, and in order.
func TestOutageDeliversOncePerKey(t *testing.T) {
	key := []byte("k")
	sink := &webhookSink{t: t, key: key}
	rc := newReceiver(t, sink)
	rc.down()
	d := open(t, webhookConfig(t, t.TempDir(), rc.url("/"), key))
	clients := []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"}
	sevs := []string{"medium", "high", "critical"}
	for round, sev := range sevs {
		var fs []analyzer.FindingRow
		for _, c := range clients {
			fs = append(fs, finding("bola_enumeration", sev, c, uint64(10*(round+1)), t0.Add(time.Duration(round)*time.Minute)))
		}
		write(t, d, fs...)
		time.Sleep(30 * time.Millisecond) // let the worker fail a few times
	}
	if s := d.Stats().Destinations[0]; s.Failures == 0 || s.Sent != 0 {
		t.Fatalf("the receiver was down, yet: %+v", s)
	}
	rc.up()
	waitFor(t, "three alerts", func() bool { return len(sink.alerts()) >= 3 })
	time.Sleep(100 * time.Millisecond)
	closeD(t, d, 5*time.Second)
	got := sink.alerts()
	if len(got) != 3 || sink.dups != 0 {
		t.Fatalf("want one alert per dedup key, got %d (dups %d): %+v", len(got), sink.dups, got)
	}
	for i, a := range got {
		if a.ClientIP != clients[i] || a.Severity != "critical" || a.Revision != 3 {
			t.Fatalf("alert %d is not the latest revision in order: %+v", i, a)
		}
	}
	if s := d.Stats().Destinations[0]; s.Superseded != 6 {
		t.Fatalf("superseded %d, want 6", s.Superseded)
	}
}

// Alerts spooled by a stopped analyzer are delivered by the next one, and
// the findings it replays do not alert again.
func TestSpoolSurvivesRestart(t *testing.T) {
	key := []byte("k")
	sink := &webhookSink{t: t, key: key}
	rc := newReceiver(t, sink)
	rc.down()
	dir := t.TempDir()
	cfg := webhookConfig(t, dir, rc.url("/"), key)
	d := open(t, cfg)
	fs := []analyzer.FindingRow{finding("bola_enumeration", "high", "10.0.0.1", 1, t0), finding("recon", "high", "10.0.0.2", 1, t0)}
	write(t, d, fs...)
	closeD(t, d, 50*time.Millisecond) // the receiver is down: both stay spooled
	rc.up()
	d2 := open(t, cfg)
	write(t, d2, fs...) // the replay after a restart: suppressed
	waitFor(t, "two alerts", func() bool { return len(sink.alerts()) >= 2 })
	time.Sleep(100 * time.Millisecond)
	closeD(t, d2, 5*time.Second)
	if got := sink.alerts(); len(got) != 2 || sink.dups != 0 {
		t.Fatalf("after a restart: %d alerts, %d dups", len(got), sink.dups)
	}
	if p := d2.Stats().Policy; p.Suppressed != 2 {
		t.Fatalf("the replay was not suppressed: %+v", p)
	}
}

// The HEC request is what Splunk documents: POST
// /services/collector/event, "Authorization: Splunk TOKEN", the events'
// envelopes one after another, each with time, host, source, sourcetype,
// index and the event.
func TestHECRequestFormat(t *testing.T) {
	var mu sync.Mutex
	var events []map[string]any
	requests, busy := 0, 1
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.URL.Path != "/services/collector/event" || r.Header.Get("Authorization") != "Splunk tok-123" ||
			r.Header.Get("X-Splunk-Request-Channel") != "0e8a3b4c-1111-2222-3333-444455556666" {
			t.Errorf("HEC request: %s %v", r.URL.Path, r.Header)
		}
		if busy > 0 { // "server is busy": retried
			busy--
			w.WriteHeader(503)
			fmt.Fprint(w, `{"text":"Server is busy","code":9}`)
			return
		}
		requests++
		dec := json.NewDecoder(r.Body)
		for {
			var ev map[string]any
			if err := dec.Decode(&ev); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Errorf("HEC body: %v", err)
				break
			}
			events = append(events, ev)
		}
		fmt.Fprint(w, `{"text":"Success","code":0}`)
	})
	rc := newReceiver(t, h)
	t.Setenv("APITAP_TEST_HEC_TOKEN", "tok-123")
	cfg := DefaultConfig()
	cfg.SpoolDir = t.TempDir()
	cfg.Destinations = []DestinationConfig{{Name: "splunk", Type: "hec", Format: "ocsf", RetryMin: 5 * time.Millisecond,
		HEC: HECConfig{URL: rc.url(""), TokenEnv: "APITAP_TEST_HEC_TOKEN", Index: "security", Channel: "0e8a3b4c-1111-2222-3333-444455556666"}}}
	d := open(t, cfg)
	var fs []analyzer.FindingRow
	for i := 0; i < 5; i++ {
		fs = append(fs, finding("scraping", "high", fmt.Sprintf("10.0.1.%d", i), 100, t0))
	}
	write(t, d, fs...)
	waitFor(t, "five events", func() bool { mu.Lock(); defer mu.Unlock(); return len(events) == 5 })
	closeD(t, d, 5*time.Second)
	if requests != 1 {
		t.Fatalf("%d requests, want the 5 events batched in 1", requests)
	}
	for i, ev := range events {
		tm, ok := ev["time"].(float64)
		if !ok || tm < 1.7e9 || ev["host"] != "analyzer-1" || ev["source"] != "apitap" || ev["sourcetype"] != "apitap:alert" || ev["index"] != "security" {
			t.Fatalf("event %d envelope: %v", i, ev)
		}
		e, _ := ev["event"].(map[string]any)
		if e["class_uid"] != float64(2004) || e["type_uid"] != float64(200401) {
			t.Fatalf("event %d is not an OCSF detection finding: %v", i, e)
		}
		evs, _ := e["evidences"].([]any)
		var src map[string]any
		if len(evs) > 0 {
			ev0, _ := evs[0].(map[string]any)
			src, _ = ev0["src_endpoint"].(map[string]any)
		}
		if src["ip"] != fmt.Sprintf("10.0.1.%d", i) {
			t.Fatalf("event %d out of order: %v", i, e)
		}
	}
}

func TestConfigValidation(t *testing.T) {
	t.Setenv("APITAP_TEST_SECRET", "x")
	ok := DefaultConfig()
	ok.Destinations = []DestinationConfig{
		{Name: "siem", Type: "syslog", Format: "leef", Syslog: syslogAddr("127.0.0.1:514")},
		{Name: "hook", Type: "webhook", Webhook: WebhookConfig{URL: "https://soar.example/hook", SecretEnv: "APITAP_TEST_SECRET"}},
		{Name: "bus", Type: "kafka", Format: "ecs", Kafka: KafkaConfig{Brokers: []string{"k:9092"}}},
	}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := []DestinationConfig{
		{Name: "a", Type: "syslog", Format: "ocsf", Syslog: syslogAddr("127.0.0.1:514")},                              // syslog takes cef/leef
		{Name: "b", Type: "hec", Format: "cef", HEC: HECConfig{URL: "http://h:8088", TokenEnv: "APITAP_TEST_SECRET"}}, // hec takes json
		{Name: "c", Type: "hec", HEC: HECConfig{URL: "http://h:8088"}},                                                // no token
		{Name: "d", Type: "webhook", Webhook: WebhookConfig{URL: "https://soar.example/hook"}},                        // unsigned, not loopback
		{Name: "e", Type: "pager"},
		{Name: "f/g", Type: "kafka", Kafka: KafkaConfig{Brokers: []string{"k:9092"}}},
		{Name: "h", Type: "hec", HEC: HECConfig{URL: "http://h:8088", TokenEnv: "APITAP_UNSET_TOKEN_VAR"}}, // unset env
	}
	for _, dc := range bad {
		c := DefaultConfig()
		c.Destinations = []DestinationConfig{dc}
		if err := c.Validate(); err == nil {
			t.Errorf("destination %s validated", dc.Name)
		}
	}
	dup := DefaultConfig()
	dup.Destinations = []DestinationConfig{ok.Destinations[0], ok.Destinations[0]}
	if err := dup.Validate(); err == nil {
		t.Error("duplicate names validated")
	}
}

func TestDestinationFilter(t *testing.T) {
	key := []byte("k")
	sink := &webhookSink{t: t, key: key}
	rc := newReceiver(t, sink)
	cfg := webhookConfig(t, t.TempDir(), rc.url("/"), key)
	cfg.Destinations[0].MinSeverity = "high"
	cfg.Destinations[0].Kinds = []string{"anomaly"}
	cfg.Destinations[0].Types = []string{"bola_enumeration", "scraping"}
	d := open(t, cfg)
	pii := finding("email", "critical", "", 1, t0)
	pii.Kind = "pii"
	write(t, d, finding("bola_enumeration", "medium", "10.0.0.1", 1, t0), // under the destination's floor
		finding("recon", "critical", "10.0.0.2", 1, t0), // another type
		pii, // another kind
		finding("scraping", "critical", "10.0.0.3", 1, t0))
	waitFor(t, "one alert", func() bool { return len(sink.alerts()) == 1 })
	closeD(t, d, 5*time.Second)
	if got := sink.alerts(); len(got) != 1 || got[0].Type != "scraping" {
		t.Fatalf("filter: %+v", got)
	}
}

func TestAlertTestCommand(t *testing.T) {
	key := []byte("k")
	sink := &webhookSink{t: t, key: key}
	rc := newReceiver(t, sink)
	cfg := webhookConfig(t, t.TempDir(), rc.url("/"), key)
	a, err := Test(context.Background(), cfg, "hook", "high", Settings{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if got := sink.alerts(); len(got) != 1 || got[0].Action != "test" || got[0].ID != a.ID {
		t.Fatalf("test alert: %+v", got)
	}
	if _, err := Test(context.Background(), cfg, "nope", "high", Settings{}); err == nil || !strings.Contains(err.Error(), "hook") {
		t.Fatalf("unknown destination: %v", err)
	}
	rc.down()
	if _, err := Test(context.Background(), cfg, "hook", "high", Settings{}); err == nil {
		t.Fatal("a test against a receiver that is down succeeded")
	}
}

func syslogAddr(a string) syslog.Config { return syslog.Config{Network: "udp", Address: a} }
