package kafka

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/apitap/apitap/flow"
	"github.com/apitap/apitap/internal/testutil"
)

const testTopic = "apitap.test"

// brokerEnv makes the test binary a standalone kfake broker (see
// BenchmarkPublish): the broker then runs in another process, on another
// core, and its CPU time is not charged to the publisher.
const brokerEnv = "APITAP_KFAKE_BROKER"

func TestMain(m *testing.M) {
	if v := os.Getenv(brokerEnv); v != "" {
		serveBroker(v)
		return
	}
	os.Exit(m.Run())
}

// serveBroker runs a kfake cluster with the given partition count, prints
// its addresses on stdout, and exits when stdin closes.
func serveBroker(partitions string) {
	n, _ := strconv.Atoi(partitions)
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(int32(n), testTopic), kfake.BlackholeProduce())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testutil.ChildServe(c.ListenAddrs())
	c.Close()
}

var testBase = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// testExchange is exchange seq of nHosts hosts: its host is svc-(seq%nHosts),
// its path carries seq, its capture time is testBase + seq ms, and a body
// of bodyLen bytes sets its size (bodyLen 700 gives ~1 KB of JSON).
func testExchange(seq, nHosts, bodyLen int) *flow.Exchange {
	start := testBase.Add(time.Duration(seq) * time.Millisecond)
	body := make([]byte, bodyLen)
	for i := range body {
		body[i] = 'a' + byte(i%26)
	}
	return &flow.Exchange{
		Start:  start,
		End:    start.Add(time.Millisecond),
		Client: netip.MustParseAddrPort("10.0.0.1:40000"),
		Server: netip.MustParseAddrPort("10.0.1.2:8080"),
		Proto:  "HTTP/1.1",
		Method: "GET",
		Host:   fmt.Sprintf("svc-%d.example", seq%nHosts),
		Target: "/items/" + strconv.Itoa(seq),
		Path:   "/items/" + strconv.Itoa(seq),
		RequestHeaders: []flow.Header{
			{Name: "Host", Value: fmt.Sprintf("svc-%d.example", seq%nHosts)},
			{Name: "User-Agent", Value: "apitap-test"},
		},
		Status:   200,
		Reason:   "OK",
		Response: flow.Body{WireBytes: int64(bodyLen), DecodedBytes: int64(bodyLen), ContentType: "text/plain", Data: body},
	}
}

func testBatch(from, n, nHosts, bodyLen int) []*flow.Exchange {
	exs := make([]*flow.Exchange, n)
	for i := range exs {
		exs[i] = testExchange(from+i, nHosts, bodyLen)
	}
	return exs
}

type lossJSON struct {
	Type   string    `json:"type"`
	Stage  string    `json:"stage"`
	Reason string    `json:"reason"`
	Unit   string    `json:"unit"`
	Count  uint64    `json:"count"`
	First  time.Time `json:"first_ts"`
	Last   time.Time `json:"last_ts"`
}

func appendLossJSON(dst []byte, l *flow.Loss) ([]byte, error) {
	b, err := json.Marshal(lossJSON{"loss", string(l.Stage), l.Reason, l.Unit, l.Count, l.First, l.Last})
	return append(dst, b...), err
}

func jsonSettings() Settings {
	return Settings{
		Encode:     func(dst []byte, e *flow.Exchange) ([]byte, error) { return flow.AppendJSON(dst, e), nil },
		EncodeLoss: appendLossJSON,
		SensorID:   "sensor-test",
		Codec:      "apitap.json.v1",
	}
}

func startCluster(t testing.TB, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	opts = append([]kfake.Opt{kfake.NumBrokers(3), kfake.SeedTopics(8, testTopic)}, opts...)
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func testConfig(addrs []string) Config {
	cfg := DefaultConfig()
	cfg.Brokers = addrs
	cfg.Topic = testTopic
	cfg.MetadataTTL = 200 * time.Millisecond
	cfg.LossInterval = 50 * time.Millisecond
	cfg.WriteTimeout = 2 * time.Second
	cfg.DialTimeout = time.Second
	return cfg
}

func newTestPublisher(t testing.TB, cfg Config, set Settings) *Publisher {
	t.Helper()
	p, err := NewPublisher(cfg, set)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Tests that expect delivery close explicitly; this only stops
		// publishers whose broker is down.
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		_ = p.Close(ctx)
	})
	return p
}

// freePort returns a loopback port nothing listens on.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

// record is one Kafka record read back.
type record struct {
	key       string
	partition int32
	offset    int64
	kind      string // apitap-type header
	codec     string
	sensor    string
	compress  uint8
	host      string
	seq       int
	loss      *lossJSON
}

// reader reads testTopic from the start with a franz-go client.
type reader struct {
	t    testing.TB
	cl   *kgo.Client
	recs []record
}

func newReader(t testing.TB, addrs []string, opts ...kgo.Opt) *reader {
	t.Helper()
	opts = append([]kgo.Opt{
		kgo.SeedBrokers(addrs...),
		kgo.ConsumeTopics(testTopic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(100 * time.Millisecond),
	}, opts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return &reader{t: t, cl: cl}
}

// until polls until done(all records so far) holds or the deadline passes.
func (r *reader) until(timeout time.Duration, done func([]record) bool) []record {
	r.t.Helper()
	deadline := time.Now().Add(timeout)
	for !done(r.recs) {
		if time.Now().After(deadline) {
			r.t.Fatalf("reader: condition not met after %v; %d records read", timeout, len(r.recs))
		}
		r.poll()
	}
	return r.recs
}

// poll fetches once (waiting up to 200 ms for records).
func (r *reader) poll() {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	fs := r.cl.PollFetches(ctx)
	cancel()
	fs.EachRecord(func(kr *kgo.Record) { r.recs = append(r.recs, r.decode(kr)) })
}

func (r *reader) decode(kr *kgo.Record) record {
	rec := record{key: string(kr.Key), partition: kr.Partition, offset: kr.Offset, compress: kr.Attrs.CompressionType()}
	for _, h := range kr.Headers {
		switch h.Key {
		case HeaderType:
			rec.kind = string(h.Value)
		case HeaderCodec:
			rec.codec = string(h.Value)
		case HeaderSensor:
			rec.sensor = string(h.Value)
		}
	}
	switch rec.kind {
	case "exchange":
		var v struct {
			Host string `json:"host"`
			Path string `json:"path"`
		}
		if err := json.Unmarshal(kr.Value, &v); err != nil {
			r.t.Fatalf("bad exchange record: %v", err)
		}
		rec.host = v.Host
		rec.seq, _ = strconv.Atoi(strings.TrimPrefix(v.Path, "/items/"))
	case "loss":
		rec.loss = new(lossJSON)
		if err := json.Unmarshal(kr.Value, rec.loss); err != nil {
			r.t.Fatalf("bad loss record: %v", err)
		}
	default:
		r.t.Fatalf("record without %s header", HeaderType)
	}
	return rec
}

func countKind(recs []record, kind string) int {
	n := 0
	for _, r := range recs {
		if r.kind == kind {
			n++
		}
	}
	return n
}

// lossTotals sums the loss records by reason.
func lossTotals(recs []record) map[string]uint64 {
	m := map[string]uint64{}
	for _, r := range recs {
		if r.loss != nil {
			m[r.loss.Reason] += r.loss.Count
		}
	}
	return m
}

// checkExchanges asserts that the exchange records are exactly the
// sequence numbers in want, each once, keyed by host, each host in one
// partition and in publishing order.
func checkExchanges(t testing.TB, recs []record, want map[int]bool) {
	t.Helper()
	seen := map[int]bool{}
	type pos struct {
		partition int32
		offset    int64
		seq       int
	}
	last := map[string]pos{}
	for _, r := range recs {
		if r.kind != "exchange" {
			continue
		}
		if seen[r.seq] {
			t.Fatalf("seq %d delivered twice", r.seq)
		}
		seen[r.seq] = true
		if !want[r.seq] {
			t.Fatalf("unexpected seq %d", r.seq)
		}
		if r.key != r.host {
			t.Fatalf("seq %d keyed %q, host %q", r.seq, r.key, r.host)
		}
		if p, ok := last[r.host]; ok {
			if p.partition != r.partition {
				t.Fatalf("host %s in partitions %d and %d", r.host, p.partition, r.partition)
			}
			if (r.offset > p.offset) != (r.seq > p.seq) {
				t.Fatalf("host %s out of order: seq %d@%d vs seq %d@%d", r.host, p.seq, p.offset, r.seq, r.offset)
			}
		}
		if p, ok := last[r.host]; !ok || r.offset > p.offset {
			last[r.host] = pos{r.partition, r.offset, r.seq}
		}
	}
	if len(seen) != len(want) {
		t.Fatalf("got %d distinct exchanges, want %d", len(seen), len(want))
	}
}

func seqs(from, to int) map[int]bool {
	m := make(map[int]bool, to-from)
	for i := from; i < to; i++ {
		m[i] = true
	}
	return m
}

// eventually polls cond every 5 ms until it holds or timeout passes.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// consumeFast calls Consume and fails the test if it does not return
// promptly: Consume must never wait for Kafka.
func consumeFast(t testing.TB, p *Publisher, exs []*flow.Exchange) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- p.Consume(context.Background(), flow.Batch{Exchanges: exs}) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Consume: %v", err)
		}
	case <-time.After(10 * time.Second):
		// A Consume that waits for Kafka waits for good (a full queue) or
		// for the batch timeout (a minute in these tests); 10s tells that
		// apart from encoding slowed by -race on a loaded 2-core machine,
		// which took over 1s once.
		t.Fatalf("Consume blocked for more than 10s")
	}
}
