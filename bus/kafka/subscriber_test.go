package kafka

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"google.golang.org/protobuf/encoding/protowire"
	"gopkg.in/yaml.v3"

	"github.com/apitap/apitap/flow"
	"github.com/apitap/apitap/schema/codec"
)

const (
	testDLQ   = "apitap.test.dlq"
	testGroup = "apitap-test-analyzer"
)

// recKey identifies a record: sensor id and sequence.
type recKey struct {
	sensor string
	seq    uint64
}

// seqOf is the sequence the codec encoder below stamps on exchange seq of
// testExchange: the seq itself, so (sensor, sequence) names the exchange.
func seqOf(e *flow.Exchange) uint64 {
	n, _ := strconv.Atoi(strings.TrimPrefix(e.Path, "/items/"))
	return uint64(n)
}

// codecSettings publish v1 wire records (schema/codec) for sensor id.
func codecSettings(sensor string) Settings {
	var lossSeq atomic.Uint64
	lossSeq.Store(1 << 40)
	return Settings{
		Encode: func(dst []byte, e *flow.Exchange) ([]byte, error) {
			return codec.AppendExchange(dst, codec.Meta{SensorID: sensor, SensorVersion: "test", Sequence: seqOf(e)}, e)
		},
		EncodeLoss: func(dst []byte, l *flow.Loss) ([]byte, error) {
			return codec.AppendLoss(dst, codec.Meta{SensorID: sensor, SensorVersion: "test", Sequence: lossSeq.Add(1)}, l)
		},
		SensorID: sensor,
		Codec:    "apitap.flow.v1+protobuf",
		Block:    true,
	}
}

// publish sends exchanges [from, from+n) of sensor with the Publisher and
// waits until Kafka has all of them.
func publish(t testing.TB, addrs []string, sensor string, from, n int) {
	t.Helper()
	p := newTestPublisher(t, testConfig(addrs), codecSettings(sensor))
	for i := from; i < from+n; i += 250 {
		if err := p.Consume(context.Background(), flow.Batch{Exchanges: testBatch(i, min(250, from+n-i), 37, 200)}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.Close(ctx); err != nil {
		t.Fatalf("publisher Close: %v", err)
	}
	if st := p.Stats(); st.Written != uint64(n) {
		t.Fatalf("published %+v, want %d written", st, n)
	}
}

func keys(sensor string, from, to int) map[recKey]bool {
	m := make(map[recKey]bool, to-from)
	for i := from; i < to; i++ {
		m[recKey{sensor, uint64(i)}] = true
	}
	return m
}

// collector records what a handler accepted (returned nil for).
type collector struct {
	mu       sync.Mutex
	accepted map[recKey]int
	calls    int
	// fail, when set, decides per call (1-based) whether the handler fails;
	// block makes call n block until ctx ends.
	fail  func(call int) bool
	block int
	// inflight holds the records of the blocked call; blocked is closed
	// when it starts.
	inflight map[recKey]bool
	blocked  chan struct{}
	delay    time.Duration
}

func newCollector() *collector {
	return &collector{accepted: map[recKey]int{}, blocked: make(chan struct{})}
}

func (c *collector) handle(ctx context.Context, recs []codec.Record) error {
	c.mu.Lock()
	c.calls++
	call := c.calls
	c.mu.Unlock()
	for i := range recs {
		r := &recs[i]
		if r.Exchange == nil {
			return fmt.Errorf("record %d is not an exchange: %+v", i, r)
		}
		if r.Meta.Sequence != seqOf(r.Exchange) || r.Meta.SchemaVersion != codec.SchemaVersion {
			return fmt.Errorf("record meta %+v does not match path %s", r.Meta, r.Exchange.Path)
		}
	}
	if call == c.block {
		c.mu.Lock()
		c.inflight = map[recKey]bool{}
		for i := range recs {
			c.inflight[recKey{recs[i].Meta.SensorID, recs[i].Meta.Sequence}] = true
		}
		c.mu.Unlock()
		close(c.blocked)
		<-ctx.Done()
		return ctx.Err()
	}
	if c.fail != nil && c.fail(call) {
		return errors.New("storage unavailable")
	}
	if c.delay > 0 {
		time.Sleep(c.delay)
	}
	c.mu.Lock()
	for i := range recs {
		c.accepted[recKey{recs[i].Meta.SensorID, recs[i].Meta.Sequence}]++
	}
	c.mu.Unlock()
	return nil
}

func (c *collector) snapshot() map[recKey]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.accepted)
}

func (c *collector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.accepted)
}

func (c *collector) dups() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.accepted {
		n += v - 1
	}
	return n
}

func testSubConfig(addrs []string) SubscriberConfig {
	cfg := DefaultSubscriberConfig()
	cfg.Brokers = addrs
	cfg.Topic = testTopic
	cfg.Group = testGroup
	cfg.DeadLetterTopic = testDLQ
	cfg.BatchRecords = 500
	cfg.BatchWait = 50 * time.Millisecond
	cfg.MaxWait = 100 * time.Millisecond
	cfg.SessionTimeout = 6 * time.Second // kfake's (and Kafka's) minimum
	cfg.RebalanceTimeout = 3 * time.Second
	cfg.HeartbeatInterval = 100 * time.Millisecond
	cfg.RetryMin = 10 * time.Millisecond
	cfg.RetryMax = 200 * time.Millisecond
	cfg.DialTimeout = time.Second
	return cfg
}

// running is a Subscriber whose Run runs in a goroutine.
type running struct {
	s      *Subscriber
	cancel context.CancelFunc
	done   chan error
}

func startSubscriber(t testing.TB, cfg SubscriberConfig, h Handler) *running {
	t.Helper()
	s, err := NewSubscriber(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{s: s, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- s.Run(ctx, h) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop cancels Run, checks it returns promptly, and closes the subscriber.
func (r *running) stop(t testing.TB) {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
		r.done <- err // keep it for a second stop
	case <-time.After(20 * time.Second):
		t.Errorf("Run did not return 20s after its context was cancelled")
	}
	if err := r.s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func subCluster(t testing.TB, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	return startCluster(t, append([]kfake.Opt{kfake.SeedTopics(2, testDLQ)}, opts...)...)
}

// committedTotal sums the group's committed offsets on topic: with every
// partition starting at 0, that is the number of messages committed.
func committedTotal(c *kfake.Cluster, topic string) int64 {
	gi := c.GroupInfo(testGroup)
	if gi == nil {
		return 0
	}
	var n int64
	for _, pc := range gi.Commits[topic] {
		n += pc.Offset
	}
	return n
}

func checkUnion(t testing.TB, want map[recKey]bool, got ...map[recKey]int) {
	t.Helper()
	union := map[recKey]bool{}
	for _, g := range got {
		for k := range g {
			if !want[k] {
				t.Fatalf("unexpected record %+v", k)
			}
			union[k] = true
		}
	}
	if len(union) != len(want) {
		t.Fatalf("handlers accepted %d distinct records, want %d", len(union), len(want))
	}
}

// (a) Two subscribers of one group share the partitions of a topic and
// together deliver every record, none twice.
func TestSubscriberGroupSplitsPartitions(t *testing.T) {
	c := subCluster(t)
	cfg := testSubConfig(c.ListenAddrs())
	c1, c2 := newCollector(), newCollector()
	s1 := startSubscriber(t, cfg, c1.handle)
	s2 := startSubscriber(t, cfg, c2.handle)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	gi, err := c.WaitGroupStable(ctx, testGroup, 2)
	if err != nil {
		t.Fatalf("group never stable with 2 members: %v", err)
	}
	for _, m := range gi.Members {
		if len(m.Assignment[testTopic]) == 0 {
			t.Fatalf("member %s has no partitions: %+v", m.MemberID, gi.Members)
		}
		t.Logf("member %s: partitions %v", m.MemberID, m.Assignment[testTopic])
	}

	const n = 4000
	publish(t, c.ListenAddrs(), "sensor-a", 0, n)
	eventually(t, 30*time.Second, "every record delivered", func() bool { return c1.count()+c2.count() >= n })
	checkUnion(t, keys("sensor-a", 0, n), c1.snapshot(), c2.snapshot())
	if c1.count() == 0 || c2.count() == 0 {
		t.Fatalf("one subscriber got nothing: %d / %d", c1.count(), c2.count())
	}
	if d := c1.dups() + c2.dups(); d != 0 {
		t.Fatalf("%d records delivered twice in a stable group", d)
	}
	for k := range c1.snapshot() {
		if _, ok := c2.snapshot()[k]; ok {
			t.Fatalf("record %+v delivered to both members", k)
		}
	}
	eventually(t, 10*time.Second, "every offset committed", func() bool { return committedTotal(c, testTopic) == n })
	st1, st2 := s1.s.Stats(), s2.s.Stats()
	if st1.Delivered+st2.Delivered != n || st1.Committed+st2.Committed != n || st1.Fetched+st2.Fetched != n {
		t.Fatalf("stats\n%+v\n%+v", st1, st2)
	}
	if st1.Lag+st2.Lag != 0 {
		t.Fatalf("lag %d + %d after consuming everything", st1.Lag, st2.Lag)
	}
	t.Logf("split: %d / %d records, %d / %d batches", c1.count(), c2.count(), st1.Batches, st2.Batches)
}

// (b) A handler that fails for a while gets the same batch again until it
// succeeds; every record is accepted exactly once and committed, and a new
// subscriber of the group does not see committed records again.
func TestSubscriberHandlerRetries(t *testing.T) {
	c := subCluster(t)
	cfg := testSubConfig(c.ListenAddrs())
	cfg.BatchRecords = 300
	const n = 1500
	publish(t, c.ListenAddrs(), "sensor-b", 0, n)

	col := newCollector()
	col.fail = func(call int) bool { return call <= 5 } // storage down for the first 5 calls
	s1 := startSubscriber(t, cfg, col.handle)
	eventually(t, 30*time.Second, "every record committed", func() bool { return s1.s.Stats().Committed == n })
	got := col.snapshot()
	checkUnion(t, keys("sensor-b", 0, n), got)
	for k, v := range got {
		if v != 1 {
			t.Fatalf("record %+v accepted %d times", k, v)
		}
	}
	st := s1.s.Stats()
	if st.HandlerRetries != 5 || st.Delivered != n || st.CommitErrors != 0 || st.Fetched != n {
		t.Fatalf("stats %+v", st)
	}
	if got := committedTotal(c, testTopic); got != n {
		t.Fatalf("group committed %d offsets, want %d", got, n)
	}
	s1.stop(t)

	// A restarted analyzer: only new records.
	col2 := newCollector()
	s2 := startSubscriber(t, cfg, col2.handle)
	publish(t, c.ListenAddrs(), "sensor-b", n, 200)
	eventually(t, 30*time.Second, "new records delivered", func() bool { return col2.count() >= 200 })
	time.Sleep(300 * time.Millisecond) // anything redelivered would come with them
	checkUnion(t, keys("sensor-b", n, n+200), col2.snapshot())
	if st := s2.s.Stats(); st.Fetched != 200 {
		t.Fatalf("restarted subscriber fetched %d messages, want 200", st.Fetched)
	}
}

// (c) A subscriber killed while its handler runs (before the commit): the
// batch is not committed, and the next member of the group gets it again.
// What was handled and committed before is not redelivered.
func TestSubscriberKilledMidBatch(t *testing.T) {
	c := subCluster(t)
	cfg := testSubConfig(c.ListenAddrs())
	cfg.BatchRecords = 200
	const n = 2000
	publish(t, c.ListenAddrs(), "sensor-c", 0, n)

	col1 := newCollector()
	col1.block = 3 // calls 1 and 2 succeed, call 3 hangs until the kill
	s1 := startSubscriber(t, cfg, col1.handle)
	select {
	case <-col1.blocked:
	case <-time.After(30 * time.Second):
		t.Fatal("third batch never reached the handler")
	}
	s1.cancel()
	select {
	case err := <-s1.done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Run: %v", err)
		}
		s1.done <- err
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	st1 := s1.s.Stats()
	done1 := col1.snapshot()
	if st1.Commits != 2 || st1.CommitErrors != 0 || st1.Committed != uint64(len(done1)) || len(done1) == 0 {
		t.Fatalf("killed subscriber: %+v, %d accepted", st1, len(done1))
	}
	if got := committedTotal(c, testTopic); got != int64(len(done1)) {
		t.Fatalf("group committed %d, handler accepted %d", got, len(done1))
	}
	s1.stop(t) // leaves the group (a hard kill would wait for session_timeout)

	col2 := newCollector()
	startSubscriber(t, cfg, col2.handle)
	eventually(t, 30*time.Second, "the rest delivered", func() bool { return len(done1)+col2.count() >= n })
	done2 := col2.snapshot()
	checkUnion(t, keys("sensor-c", 0, n), done1, done2)
	for k := range col1.inflight {
		if done2[k] == 0 {
			t.Fatalf("record %+v of the killed batch was not redelivered", k)
		}
	}
	for k := range done1 {
		if done2[k] != 0 {
			t.Fatalf("committed record %+v redelivered", k)
		}
	}
	t.Logf("killed after %d committed records; in-flight batch %d records; next member got %d", len(done1), len(col1.inflight), len(done2))
}

// (d1) Partition leadership and the group coordinator move while the
// subscriber consumes: leaders are shuffled, one broker is removed (its
// listener closes, its partitions and the coordinator move to the others)
// and later added back on the same port.
func TestSubscriberLeadershipMoves(t *testing.T) {
	c := subCluster(t)
	cfg := testSubConfig(c.ListenAddrs())
	cfg.BatchRecords = 50
	const n = 3000
	publish(t, c.ListenAddrs(), "sensor-d", 0, n)

	col := newCollector()
	col.delay = 15 * time.Millisecond // ~1 s of consuming for the moves to land in
	s := startSubscriber(t, cfg, col.handle)

	eventually(t, 30*time.Second, "first records", func() bool { return col.count() >= 500 })
	c.ShufflePartitionLeaders()
	c.RehashCoordinators()

	eventually(t, 30*time.Second, "more records", func() bool { return col.count() >= 1200 })
	coord := c.CoordinatorFor(testGroup)
	_, portStr, _ := strings.Cut(c.ListenAddrs()[coord], ":")
	port, _ := strconv.Atoi(portStr)
	if err := c.RemoveNode(coord); err != nil {
		t.Fatal(err)
	}
	t.Logf("removed node %d (port %d), the coordinator; coordinator now %d", coord, port, c.CoordinatorFor(testGroup))

	eventually(t, 30*time.Second, "records after the removal", func() bool { return col.count() >= 2000 })
	if _, _, err := c.AddNode(coord, port); err != nil {
		t.Fatal(err)
	}
	for p := int32(0); p < 8; p++ {
		if err := c.MoveTopicPartition(testTopic, p, coord); err != nil {
			t.Fatal(err)
		}
	}

	eventually(t, 60*time.Second, "every record", func() bool { return col.count() >= n })
	checkUnion(t, keys("sensor-d", 0, n), col.snapshot())
	select {
	case err := <-s.done:
		t.Fatalf("Run returned during the moves: %v", err)
	default:
	}
	eventually(t, 30*time.Second, "every offset committed", func() bool { return committedTotal(c, testTopic) == n })
	st := s.s.Stats()
	t.Logf("redelivered %d; stats %+v", col.dups(), st)
}

// (d2) The whole cluster stops mid-stream and comes back on the same ports
// with its data (kfake persistence: logs and committed offsets): the
// subscriber rides it out, resumes from the committed offsets and delivers
// every record, including ones produced after the restart.
func TestSubscriberClusterRestart(t *testing.T) {
	dir := t.TempDir()
	ports := []int{freePort(t), freePort(t), freePort(t)}
	opts := []kfake.Opt{kfake.NumBrokers(3), kfake.Ports(ports...), kfake.DataDir(dir)}
	c1, err := kfake.NewCluster(append(opts, kfake.SeedTopics(8, testTopic), kfake.SeedTopics(2, testDLQ))...)
	if err != nil {
		t.Fatal(err)
	}
	addrs := c1.ListenAddrs()
	cfg := testSubConfig(addrs)
	cfg.BatchRecords = 100
	const n = 3000
	publish(t, addrs, "sensor-e", 0, n)

	col := newCollector()
	col.delay = 5 * time.Millisecond
	s := startSubscriber(t, cfg, col.handle)
	eventually(t, 30*time.Second, "first records", func() bool { return col.count() >= 1000 })
	c1.Close()
	before := col.count()
	committedBefore := s.s.Stats().Committed
	time.Sleep(2 * time.Second) // down long enough for fetches, heartbeats and commits to fail
	c2, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	publish(t, addrs, "sensor-e", n, 500)

	eventually(t, 60*time.Second, "every record", func() bool { return col.count() >= n+500 })
	checkUnion(t, keys("sensor-e", 0, n+500), col.snapshot())
	select {
	case err := <-s.done:
		t.Fatalf("Run returned during the outage: %v", err)
	default:
	}
	st := s.s.Stats()
	dups := col.dups()
	t.Logf("accepted %d (committed %d) before the stop; redelivered after restart: %d; stats %+v", before, committedBefore, dups, st)
	if st.FetchErrors+st.CommitErrors == 0 {
		t.Fatalf("the outage was not noticed: %+v", st)
	}
	// Resumed from the committed offsets, not from the start: only what
	// was handled but not committed around the stop comes again.
	if uint64(dups) > uint64(before)-committedBefore+uint64(2*cfg.BatchRecords)+200 {
		t.Fatalf("%d records redelivered: committed offsets were not honoured", dups)
	}
}

// badValues are the messages a subscriber must dead-letter, by reason.
func badValues(t testing.TB) []struct {
	name, reason string
	value        []byte
} {
	valid, err := codec.AppendExchange(nil, codec.Meta{SensorID: "sensor-x", Sequence: 99}, testExchange(99, 3, 50))
	if err != nil {
		t.Fatal(err)
	}
	// A newer schema_version: a later field 3 wins (protobuf rules).
	future := protowire.AppendVarint(protowire.AppendTag(append([]byte(nil), valid...), 3, protowire.VarintType), 2)
	// A record kind this reader does not know: envelope field 18.
	var unknown []byte
	unknown = protowire.AppendString(protowire.AppendTag(unknown, 1, protowire.BytesType), "sensor-x")
	unknown = protowire.AppendVarint(protowire.AppendTag(unknown, 3, protowire.VarintType), 1)
	unknown = protowire.AppendVarint(protowire.AppendTag(unknown, 4, protowire.VarintType), 7)
	unknown = protowire.AppendBytes(protowire.AppendTag(unknown, 18, protowire.BytesType), []byte{8, 1})
	huge := make([]byte, 1200<<10)
	for i := range huge {
		huge[i] = byte(i*7 + 1)
	}
	return []struct {
		name, reason string
		value        []byte
	}{
		{"garbage", ReasonMalformed, []byte("this is not a protobuf record \xff\xfe")},
		{"truncated", ReasonMalformed, valid[:len(valid)/2]},
		{"empty", ReasonMalformed, nil},
		{"future", ReasonFutureVersion, future},
		{"unknown-kind", ReasonUnknownKind, unknown},
		{"huge", ReasonMalformed, huge},
	}
}

// (e) Garbage, truncated, empty, oversized, future-version and
// unknown-kind messages go to the dead-letter topic, unchanged (an
// oversized one cut to fit, and marked), with headers saying why and where
// from; the valid records around them are delivered and everything is
// committed.
func TestSubscriberDeadLetters(t *testing.T) {
	c := subCluster(t)
	if err := c.CreateTopic("apitap.test.mixed", 2, map[string]string{"max.message.bytes": strconv.Itoa(4 << 20)}); err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerBatchMaxBytes(4<<20), kgo.MaxBufferedBytes(64<<20))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	bad := badValues(t)
	type sent struct {
		reason    string
		value     []byte
		partition int32
		offset    int64
	}
	var krs []*kgo.Record
	reasons := map[*kgo.Record]string{}
	const nValid = 60
	for i := 0; i < nValid; i++ {
		v, err := codec.AppendExchange(nil, codec.Meta{SensorID: "sensor-f", Sequence: uint64(i)}, testExchange(i, 5, 100))
		if err != nil {
			t.Fatal(err)
		}
		krs = append(krs, &kgo.Record{Topic: "apitap.test.mixed", Partition: int32(i % 2), Key: []byte("k"), Value: v,
			Headers: []kgo.RecordHeader{{Key: HeaderType, Value: []byte("exchange")}}})
		if i%5 == 2 { // both partitions
			b := bad[(i/5)%len(bad)]
			krs = append(krs, &kgo.Record{Topic: "apitap.test.mixed", Partition: int32(i % 2), Key: []byte("k-" + b.name), Value: b.value,
				Headers: []kgo.RecordHeader{{Key: HeaderType, Value: []byte("exchange")}, {Key: HeaderSensor, Value: []byte("sensor-f")}}})
			reasons[krs[len(krs)-1]] = b.reason
		}
	}
	res := cl.ProduceSync(context.Background(), krs...)
	if err := res.FirstErr(); err != nil {
		t.Fatal(err)
	}
	var want []sent
	for _, r := range res {
		if reason, ok := reasons[r.Record]; ok {
			want = append(want, sent{reason, r.Record.Value, r.Record.Partition, r.Record.Offset})
		}
	}
	if len(want) != len(reasons) {
		t.Fatalf("%d bad records produced, want %d", len(want), len(reasons))
	}
	total := len(krs)

	t.Run("dead-letter-topic", func(t *testing.T) {
		cfg := testSubConfig(c.ListenAddrs())
		cfg.Topic = "apitap.test.mixed"
		col := newCollector()
		s := startSubscriber(t, cfg, col.handle)
		eventually(t, 30*time.Second, "everything committed", func() bool { return s.s.Stats().Committed == uint64(total) })
		checkUnion(t, keys("sensor-f", 0, nValid), col.snapshot())
		st := s.s.Stats()
		if st.DeadLettered != uint64(len(want)) || st.Malformed != 8 || st.FutureVersion != 2 || st.UnknownKind != 2 || st.Delivered != nValid {
			t.Fatalf("stats %+v", st)
		}

		dl := readTopic(t, c.ListenAddrs(), testDLQ, len(want))
		byOffset := map[string]*kgo.Record{}
		for _, r := range dl {
			h := headerMap(r)
			byOffset[h[HeaderDLQPartition]+"/"+h[HeaderDLQOffset]] = r
		}
		truncated := 0
		for _, w := range want {
			r := byOffset[fmt.Sprintf("%d/%d", w.partition, w.offset)]
			if r == nil {
				t.Fatalf("no dead letter for partition %d offset %d (%s)", w.partition, w.offset, w.reason)
			}
			h := headerMap(r)
			if h[HeaderDLQReason] != w.reason || h[HeaderDLQTopic] != "apitap.test.mixed" || h[HeaderDLQGroup] != testGroup ||
				!strings.HasPrefix(h[HeaderDLQError], "codec: ") || h[HeaderDLQTime] == "" ||
				h[HeaderType] != "exchange" || h[HeaderSensor] != "sensor-f" || !strings.HasPrefix(string(r.Key), "k-") {
				t.Fatalf("dead letter headers %v key %q", h, r.Key)
			}
			if orig, ok := h[HeaderDLQTruncated]; ok {
				truncated++
				if orig != strconv.Itoa(len(w.value)) || len(r.Value) >= len(w.value) || len(r.Value) < 900<<10 ||
					string(r.Value) != string(w.value[:len(r.Value)]) {
					t.Fatalf("truncated dead letter: header %s, %d of %d bytes", orig, len(r.Value), len(w.value))
				}
			} else if string(r.Value) != string(w.value) {
				t.Fatalf("dead letter %s changed: %q vs %q", w.reason, r.Value, w.value)
			}
			t.Logf("dead letter %s p%d@%d: %s", w.reason, w.partition, w.offset, h[HeaderDLQError])
		}
		if truncated != 2 {
			t.Fatalf("%d truncated dead letters, want 2 (the 1.2 MiB ones)", truncated)
		}
	})

	t.Run("disabled", func(t *testing.T) {
		cfg := testSubConfig(c.ListenAddrs())
		cfg.Topic = "apitap.test.mixed"
		cfg.Group = testGroup + "-nodlq"
		cfg.DeadLetterTopic = ""
		col := newCollector()
		s := startSubscriber(t, cfg, col.handle)
		eventually(t, 30*time.Second, "everything committed", func() bool { return s.s.Stats().Committed == uint64(total) })
		checkUnion(t, keys("sensor-f", 0, nValid), col.snapshot())
		if st := s.s.Stats(); st.DeadLettered != 0 || st.Malformed+st.FutureVersion+st.UnknownKind != uint64(len(want)) {
			t.Fatalf("stats %+v", st)
		}
	})

	t.Run("dead-letter-topic-missing", func(t *testing.T) {
		cfg := testSubConfig(c.ListenAddrs())
		cfg.Topic = "apitap.test.mixed"
		cfg.Group = testGroup + "-missing"
		cfg.DeadLetterTopic = "apitap.test.dlq.missing"
		cfg.BatchRecords = 1000
		col := newCollector()
		s := startSubscriber(t, cfg, col.handle)
		eventually(t, 30*time.Second, "a failed dead-letter write", func() bool { return s.s.Stats().DeadLetterErrors > 0 })
		time.Sleep(200 * time.Millisecond)
		// Nothing at or after a partition's first bad message is committed
		// (a batch of valid records before it may be).
		first := map[int32]int64{}
		for _, w := range want {
			if o, ok := first[w.partition]; !ok || w.offset < o {
				first[w.partition] = w.offset
			}
		}
		if gi := c.GroupInfo(cfg.Group); gi != nil {
			for p, pc := range gi.Commits[cfg.Topic] {
				if pc.Offset > first[p] {
					t.Fatalf("partition %d committed to %d past its bad message at %d while the dead-letter topic is missing", p, pc.Offset, first[p])
				}
			}
		}
		if st := s.s.Stats(); st.DeadLettered != 0 {
			t.Fatalf("stats %+v", st)
		}
		if err := c.CreateTopic(cfg.DeadLetterTopic, 1, nil); err != nil {
			t.Fatal(err)
		}
		eventually(t, 60*time.Second, "everything committed", func() bool { return s.s.Stats().Committed == uint64(total) })
		checkUnion(t, keys("sensor-f", 0, nValid), col.snapshot())
		if st := s.s.Stats(); st.DeadLettered != uint64(len(want)) {
			t.Fatalf("stats %+v", st)
		}
	})
}

func headerMap(r *kgo.Record) map[string]string {
	m := map[string]string{}
	for _, h := range r.Headers {
		m[h.Key] = string(h.Value)
	}
	return m
}

// readTopic reads n records of topic from the start with franz-go.
func readTopic(t testing.TB, addrs []string, topic string, n int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var out []*kgo.Record
	deadline := time.Now().Add(15 * time.Second)
	for len(out) < n {
		if time.Now().After(deadline) {
			t.Fatalf("read %d of %d records from %s", len(out), n, topic)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		fs := cl.PollFetches(ctx)
		cancel()
		fs.EachRecord(func(r *kgo.Record) { out = append(out, r) })
	}
	time.Sleep(200 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { out = append(out, r) })
	cancel()
	if len(out) != n {
		t.Fatalf("%d records in %s, want %d", len(out), topic, n)
	}
	return out
}

// Kafka 4.0 removed the request versions older than these (KIP-896: the
// new baselines, from the 4.0 request schemas; JoinGroup v0-1 were removed
// in 4.0.0 and restored in 4.0.1, KAFKA-19444). Requests not listed keep
// version 0.
var kafka4MinVersions = map[int16]int16{
	kmsg.Produce.Int16():      3,
	kmsg.Fetch.Int16():        4,
	kmsg.ListOffsets.Int16():  1,
	kmsg.OffsetCommit.Int16(): 2,
	kmsg.OffsetFetch.Int16():  1,
	kmsg.JoinGroup.Int16():    2,
}

// Every request the subscriber (and its dead-letter writer) sends, against
// brokers capped at the API versions of Kafka 3.0, 3.9, 4.0 and kfake's
// newest, is at or above the Kafka 4.0 minimum, and the whole cycle (join,
// fetch, dead-letter, commit, leave) works at each.
func TestSubscriberProtocolVersions(t *testing.T) {
	for _, tc := range brokerVersions() {
		t.Run(tc.name, func(t *testing.T) {
			var opts []kfake.Opt
			if tc.v != nil {
				opts = append(opts, kfake.MaxVersions(tc.v))
			}
			c := subCluster(t, opts...)
			var mu sync.Mutex
			seen := map[int16]map[int16]bool{}
			c.Control(func(req kmsg.Request) (kmsg.Response, error, bool) {
				mu.Lock()
				if seen[req.Key()] == nil {
					seen[req.Key()] = map[int16]bool{}
				}
				seen[req.Key()][req.GetVersion()] = true
				mu.Unlock()
				return nil, nil, false
			})
			// Every 50th record is garbage, to exercise the dead-letter writer.
			set := codecSettings("sensor-v")
			enc := set.Encode
			set.Encode = func(dst []byte, e *flow.Exchange) ([]byte, error) {
				if seqOf(e)%50 == 0 {
					return append(dst, "garbage"...), nil
				}
				return enc(dst, e)
			}
			p := newTestPublisher(t, testConfig(c.ListenAddrs()), set)
			consumeFast(t, p, testBatch(0, 500, 11, 100))
			closeOK(t, p)

			col := newCollector()
			s := startSubscriber(t, testSubConfig(c.ListenAddrs()), col.handle)
			eventually(t, 30*time.Second, "everything committed", func() bool { return s.s.Stats().Committed == 500 })
			if st := s.s.Stats(); st.Delivered != 490 || st.DeadLettered != 10 {
				t.Fatalf("stats %+v", st)
			}
			eventually(t, 10*time.Second, "a heartbeat", func() bool {
				mu.Lock()
				defer mu.Unlock()
				return seen[kmsg.Heartbeat.Int16()] != nil
			})
			s.stop(t) // LeaveGroup

			mu.Lock()
			defer mu.Unlock()
			var report []string
			for _, key := range slices.Sorted(maps.Keys(seen)) {
				vs := slices.Sorted(maps.Keys(seen[key]))
				report = append(report, fmt.Sprintf("%s %v", kmsg.NameForKey(key), vs))
				if vs[0] < kafka4MinVersions[key] {
					t.Errorf("%s v%d is below Kafka 4.0's minimum v%d", kmsg.NameForKey(key), vs[0], kafka4MinVersions[key])
				}
			}
			for _, k := range []kmsg.Key{kmsg.ApiVersions, kmsg.Metadata, kmsg.FindCoordinator, kmsg.JoinGroup, kmsg.SyncGroup,
				kmsg.Heartbeat, kmsg.OffsetFetch, kmsg.ListOffsets, kmsg.Fetch, kmsg.Produce, kmsg.OffsetCommit, kmsg.LeaveGroup} {
				if seen[k.Int16()] == nil {
					t.Errorf("no %s request seen", kmsg.NameForKey(k.Int16()))
				}
			}
			t.Logf("requests: %s", strings.Join(report, ", "))
		})
	}
}

// TLS with a private CA and SCRAM-SHA-512, for the group reader and the
// dead-letter writer.
func TestSubscriberTLSAndSASL(t *testing.T) {
	caFile, serverTLS := testPKI(t)
	c := subCluster(t, kfake.NumBrokers(1), kfake.TLS(serverTLS), kfake.EnableSASL(),
		kfake.Superuser("SCRAM-SHA-512", "apitap", "pa55word"))
	t.Setenv("APITAP_TEST_KAFKA_PW", "pa55word")
	pcfg := testConfig(c.ListenAddrs())
	pcfg.TLS = TLSConfig{Enable: true, CAFile: caFile}
	pcfg.SASL = SASLConfig{Mechanism: "SCRAM-SHA-512", Username: "apitap", PasswordEnv: "APITAP_TEST_KAFKA_PW"}
	set := codecSettings("sensor-tls")
	enc := set.Encode
	set.Encode = func(dst []byte, e *flow.Exchange) ([]byte, error) {
		if seqOf(e) == 7 {
			return append(dst, 0xff), nil
		}
		return enc(dst, e)
	}
	p := newTestPublisher(t, pcfg, set)
	consumeFast(t, p, testBatch(0, 100, 3, 100))
	closeOK(t, p)

	cfg := testSubConfig(c.ListenAddrs())
	cfg.TLS, cfg.SASL = pcfg.TLS, pcfg.SASL
	col := newCollector()
	s := startSubscriber(t, cfg, col.handle)
	eventually(t, 30*time.Second, "everything committed", func() bool { return s.s.Stats().Committed == 100 })
	if st := s.s.Stats(); st.Delivered != 99 || st.DeadLettered != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestSubscriberRunAndClose(t *testing.T) {
	c := subCluster(t)
	s, err := NewSubscriber(testSubConfig(c.ListenAddrs()), nil)
	if err != nil {
		t.Fatal(err)
	}
	col := newCollector()
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background(), col.handle) }()
	eventually(t, 5*time.Second, "Run started", func() bool {
		s.runMu.Lock()
		defer s.runMu.Unlock()
		return s.running
	})
	if err := s.Run(context.Background(), col.handle); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("second Run: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run after Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not stop Run")
	}
	if err := s.Run(context.Background(), col.handle); !errors.Is(err, ErrSubscriberClosed) {
		t.Fatalf("Run after Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestSubscriberConfig(t *testing.T) {
	c := DefaultSubscriberConfig()
	if c.Topic != "apitap.exchanges" || c.Group != "apitap-analyzer" || c.DeadLetterTopic != "apitap.exchanges.dlq" ||
		c.BatchRecords != 20000 || c.BatchBytes != 64<<20 || c.BatchWait != time.Second || c.StartOffset != "earliest" || c.MaxBytes != 8<<20 {
		t.Fatalf("defaults changed: %+v", c)
	}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "no brokers") {
		t.Fatalf("Validate without brokers: %v", err)
	}
	c.Brokers = []string{"k1:9092"}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}

	src := `
brokers: [k1:9092, k2:9092]
topic: traffic.v1
group: analyzers-eu
dead_letter_topic: ""
batch_records: 5000
batch_bytes: 8388608
batch_wait: 250ms
fetch_min_bytes: 1024
fetch_max_bytes: 16777216
fetch_max_wait: 200ms
session_timeout: 45s
rebalance_timeout: 60s
heartbeat_interval: 5s
start_offset: latest
retry_min: 50ms
retry_max: 30s
dial_timeout: 3s
tls: {enable: true, ca_file: /etc/kafka/ca.pem}
sasl: {mechanism: SCRAM-SHA-512, username: analyzer, password_file: /run/secrets/kafka}
`
	c = DefaultSubscriberConfig()
	dec := yaml.NewDecoder(strings.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.DeadLetterTopic != "" || c.BatchWait != 250*time.Millisecond || c.StartOffset != "latest" || c.MaxBytes != 16<<20 || c.ClientID != "apitap-analyzer" ||
		c.BatchBytes != 8<<20 {
		t.Fatalf("%+v", c)
	}

	bad := DefaultSubscriberConfig()
	bad.Brokers = []string{"nohost"}
	bad.Topic = "bad topic"
	bad.Group = ""
	bad.DeadLetterTopic = "bad topic"
	bad.BatchRecords = 0
	bad.BatchBytes = 100
	bad.BatchWait = 0
	bad.MinBytes = 0
	bad.MaxBytes = 10
	bad.MaxWait = 0
	bad.HeartbeatInterval = 20 * time.Second
	bad.StartOffset = "middle"
	bad.RetryMax = time.Millisecond
	bad.DialTimeout = 0
	bad.SASL = SASLConfig{Mechanism: "GSSAPI"}
	err := bad.Validate()
	for _, want := range []string{"not host:port", `topic "bad topic"`, "group is required", "dead_letter_topic", "batch_records",
		"batch_bytes", "batch_wait", "fetch_min_bytes", "fetch_max_bytes", "fetch_max_wait", "heartbeat_interval", "start_offset",
		"retry_max", "dial_timeout", "GSSAPI"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate: want %q in %v", want, err)
		}
	}
	same := DefaultSubscriberConfig()
	same.Brokers = []string{"k:1"}
	same.DeadLetterTopic = same.Topic
	if err := same.Validate(); err == nil || !strings.Contains(err.Error(), "must differ") {
		t.Errorf("dead_letter_topic == topic: %v", err)
	}
}
