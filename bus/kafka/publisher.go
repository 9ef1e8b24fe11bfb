// Package kafka publishes the sensor's records to Apache Kafka.
//
// Publisher is a flow.Consumer. Consume encodes each exchange (with the
// injected codec) into a bounded queue and returns at once; one sender
// goroutine hands the queue to a segmentio/kafka-go Writer running in async
// mode, whose Completion callback settles every record. Nothing blocks
// capture: when the queue is full — by records or by bytes, counting what is
// queued and what is in flight inside the Kafka client — records are dropped
// and counted, and when a produce fails its records are counted as lost. The
// counts travel as flow.Loss records on the same topic once Kafka accepts
// writes again, so a consumer knows when the stream has holes.
//
// Records are keyed by the exchange's Host (the server address when there
// is no Host), so with the hash partitioner one service's traffic stays in
// one partition, in order. Loss records are keyed by the sensor id.
//
// Delivery is at most once from the sensor's point of view: the publisher
// never re-queues a record whose write failed; the Kafka client retries a
// batch up to MaxAttempts times, so a batch whose first attempt reached the
// broker but whose answer was lost may be written twice. docs/kafka.md has
// the details.
package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"os"
	"sync"
	"sync/atomic"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/apitap/apitap/flow"
)

// ErrClosed is returned by Consume after Close.
var ErrClosed = errors.New("kafka: publisher closed")

// Settings are the publisher's non-serialisable dependencies.
type Settings struct {
	// Logger receives lifecycle events and rate-limited warnings; never
	// one line per record. Default: no logging.
	Logger *zap.Logger
	// Encode appends the wire encoding of one exchange to dst and returns
	// the extended slice (append semantics: dst's bytes stay in place). It
	// must not retain e or dst. Required. It is called from Consume, one
	// call at a time, in record order. A record it encoded may still be
	// lost (queue full, failed write), leaving a gap in a sequence number
	// assigned here; records refused before encoding (the queue was
	// already full) leave none. Loss records count both.
	Encode func(dst []byte, e *flow.Exchange) ([]byte, error)
	// EncodeLoss appends the wire encoding of one loss record. Required. It
	// is called from the publisher's sender goroutine, possibly at the same
	// time as Encode: state shared between the two (a sequence counter)
	// must be safe for concurrent use. A loss record whose write fails is
	// encoded again for the next attempt.
	EncodeLoss func(dst []byte, l *flow.Loss) ([]byte, error)
	// SensorID identifies this sensor: the key of loss records and the
	// value of the "apitap-sensor" header. Default: the host name.
	SensorID string
	// Codec names the encoding; when set it is sent in every record's
	// "apitap-codec" header so consumers can tell versions apart.
	Codec string
	// Block makes Consume wait (bounded by its context) for room in the
	// queue instead of dropping: for replaying capture files, which can
	// wait. Live capture must leave it false. Default false.
	Block bool
}

// Stats are the publisher's counters, in records unless named otherwise.
// Every record given to Consume ends up in exactly one of Written,
// DroppedQueueFull, DroppedTooLarge, EncodeErrors, WriteFailed,
// Undelivered — or is still held (QueueRecords). The one overlap: when
// Close gives up at its deadline, what was held is counted Undelivered,
// and the Kafka client may still settle some of it afterwards.
type Stats struct {
	Enqueued         uint64 // accepted into the queue
	Written          uint64 // acknowledged by Kafka
	DroppedQueueFull uint64 // dropped: queue full by records or bytes (or closed)
	DroppedTooLarge  uint64 // dropped: larger than batch_bytes
	EncodeErrors     uint64 // dropped: the encoder failed
	WriteFailed      uint64 // lost: the produce failed after the client's retries
	Undelivered      uint64 // still held when Close gave up, or given to Consume after Close
	WriteErrors      uint64 // failed produce batches and failed hand-overs to the client
	LossWritten      uint64 // flow.Loss records acknowledged by Kafka
	LossUndelivered  uint64 // flow.Loss records that could not be sent before Close returned
	QueueRecords     int64  // held now: queued plus in flight
	QueueBytes       int64  // encoded bytes held now
}

// The publisher's own loss causes.
type cause uint8

const (
	causeQueueFull cause = iota
	causeWriteFailed
	causeTooLarge
	causeEncode
	nCauses
)

var (
	causeStage  = [nCauses]flow.Stage{flow.StageQueue, flow.StagePublish, flow.StagePublish, flow.StagePublish}
	causeReason = [nCauses]string{"queue_full", "write_failed", "too_large", "encode_error"}
)

// Record-kind headers.
const (
	HeaderType   = "apitap-type"   // "exchange" or "loss"
	HeaderCodec  = "apitap-codec"  // Settings.Codec, when set
	HeaderSensor = "apitap-sensor" // Settings.SensorID
)

// maxPendingLoss bounds the loss records waiting to be published; beyond
// it, records of the same stage, reason and unit are merged.
const maxPendingLoss = 256

// span is one Consume batch: its capture-time window and the arena that
// holds its keys and values. Every message of the batch points at it
// (WriterData), so a failed write can say when the sensor went blind
// without a per-record allocation, and the arena is recycled when the last
// of its records is settled.
type span struct {
	first, last time.Time
	p           *Publisher
	arena       []byte
	refs        atomic.Int32 // records not yet settled
}

// release settles n records of the batch.
func (s *span) release(n int) {
	if n > 0 && s.refs.Add(int32(-n)) == 0 && s.p != nil {
		s.p.putArena(s.arena)
		s.arena = nil
	}
}

// Arena recycling: a fresh 100 KB+ slice per batch costs page faults and
// zeroing on every batch; a free list of at most 32 MiB removes both.
const (
	maxFreeBytes  = 32 << 20
	maxArenaBytes = 4 << 20
)

func (p *Publisher) getArena() []byte {
	p.arenaMu.Lock()
	defer p.arenaMu.Unlock()
	for n := len(p.arenas); n > 0; n = len(p.arenas) {
		a := p.arenas[n-1]
		p.arenas[n-1] = nil
		p.arenas = p.arenas[:n-1]
		p.freeBytes -= cap(a)
		if cap(a) >= p.arenaHint {
			return a[:0]
		}
	}
	return make([]byte, 0, p.arenaHint)
}

func (p *Publisher) putArena(a []byte) {
	if cap(a) > maxArenaBytes {
		return
	}
	p.arenaMu.Lock()
	if p.freeBytes+cap(a) <= maxFreeBytes {
		p.arenas = append(p.arenas, a[:0])
		p.freeBytes += cap(a)
	}
	p.arenaMu.Unlock()
}

// lossMsg marks a loss record in flight.
type lossMsg struct{ l flow.Loss }

type lossAcc struct {
	n           uint64
	first, last time.Time
}

func (a *lossAcc) add(n uint64, s *span) {
	if n == 0 {
		return
	}
	if a.n == 0 || s.first.Before(a.first) {
		a.first = s.first
	}
	if a.n == 0 || s.last.After(a.last) {
		a.last = s.last
	}
	a.n += n
}

// Publisher publishes exchanges and loss records to one Kafka topic. It is
// safe for concurrent use; Consume calls are serialised.
type Publisher struct {
	cfg       Config
	set       Settings
	log       *zap.Logger
	w         *kafkago.Writer
	transport *kafkago.Transport
	stopTrans context.CancelFunc

	maxRecords, maxBytes, maxMsg int64
	exHeaders, lossHeaders       []kafkago.Header
	exHdrSize                    int64
	sensorKey                    []byte

	enqueued, written, dropFull, dropLarge, encodeErrs atomic.Uint64
	writeFailed, undelivered, writeErrors              atomic.Uint64
	lossWritten, lossUndelivered                       atomic.Uint64
	held, heldBytes                                    atomic.Int64

	// cmu serialises Consume; the fields below it belong to the caller.
	cmu       sync.Mutex
	scratch   []kafkago.Message
	ends      []int
	arenaHint int

	arenaMu   sync.Mutex
	arenas    [][]byte // free arenas
	freeBytes int

	mu        sync.Mutex
	queue     []kafkago.Message // handed to the sender, not yet to the writer
	room      chan struct{}     // closed and replaced when records settle (Block)
	closed    bool
	healthy   bool
	own       [nCauses]lossAcc
	pending   []flow.Loss // loss records waiting to be published
	lossDirty bool        // pending or own has something

	wake    chan struct{} // sender wake-up, capacity 1
	closing chan struct{} // closed by Close
	done    chan struct{} // closed when the sender has finished

	abortCtx context.Context // cancelled when Close's context ends first
	abortFn  context.CancelFunc

	closeOnce, abortOnce sync.Once
	closeMu              sync.Mutex
	closeDone            bool
	closeErr             error

	// Sender-only state.
	spare    []kafkago.Message
	lossBuf  []byte
	lastLoss time.Time

	warnMu   sync.Mutex
	lastWarn time.Time
	warnN    int
}

var _ flow.Consumer = (*Publisher)(nil)

// NewPublisher validates cfg, loads the TLS material and the SASL password,
// and starts the sender goroutine. It does not contact the brokers: a broker
// that is down at start costs records, not an error.
func NewPublisher(cfg Config, set Settings) (*Publisher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if set.Encode == nil || set.EncodeLoss == nil {
		return nil, errors.New("kafka: Settings.Encode and Settings.EncodeLoss are required")
	}
	if set.Logger == nil {
		set.Logger = zap.NewNop()
	}
	if set.SensorID == "" {
		h, err := os.Hostname()
		if err != nil || h == "" {
			h = "apitap"
		}
		set.SensorID = h
	}
	tlsCfg, err := cfg.TLS.tlsConfig()
	if err != nil {
		return nil, err
	}
	mech, err := cfg.SASL.mechanism()
	if err != nil {
		return nil, err
	}

	tctx, stop := context.WithCancel(context.Background())
	tr := &kafkago.Transport{
		DialTimeout: cfg.DialTimeout,
		MetadataTTL: cfg.MetadataTTL,
		ClientID:    cfg.ClientID,
		TLS:         tlsCfg,
		SASL:        mech,
		Context:     tctx,
	}
	p := &Publisher{
		cfg:        cfg,
		set:        set,
		log:        set.Logger.Named("kafka"),
		transport:  tr,
		stopTrans:  stop,
		maxRecords: int64(cfg.QueueRecords),
		maxBytes:   cfg.QueueBytes,
		maxMsg:     cfg.BatchBytes,
		sensorKey:  []byte(set.SensorID),
		arenaHint:  64 << 10,
		room:       make(chan struct{}),
		healthy:    true,
		wake:       make(chan struct{}, 1),
		closing:    make(chan struct{}),
		done:       make(chan struct{}),
	}
	p.abortCtx, p.abortFn = context.WithCancel(context.Background())
	p.exHeaders = p.headers("exchange")
	p.lossHeaders = p.headers("loss")
	p.exHdrSize = headerSize(p.exHeaders)
	p.w = &kafkago.Writer{
		Addr:         kafkago.TCP(cfg.Brokers...),
		Topic:        cfg.Topic,
		Balancer:     &kafkago.Hash{},
		MaxAttempts:  cfg.MaxAttempts,
		BatchSize:    cfg.BatchSize,
		BatchBytes:   cfg.BatchBytes,
		BatchTimeout: cfg.BatchTimeout,
		ReadTimeout:  cfg.WriteTimeout,
		WriteTimeout: cfg.WriteTimeout,
		RequiredAcks: acks[cfg.RequiredAcks],
		Async:        true,
		Completion:   p.completion,
		Compression:  compressions[cfg.Compression],
		Transport:    tr,
		// kafka-go logs one line per failed batch attempt: debug only.
		ErrorLogger: kafkago.LoggerFunc(p.log.Sugar().Debugf),
	}
	p.log.Info("kafka publisher ready",
		zap.Strings("brokers", cfg.Brokers), zap.String("topic", cfg.Topic),
		zap.String("compression", cfg.Compression), zap.String("acks", cfg.RequiredAcks),
		zap.Int("queue_records", cfg.QueueRecords), zap.Int64("queue_bytes", cfg.QueueBytes),
		zap.Bool("tls", cfg.TLS.Enable), zap.String("sasl", cfg.SASL.Mechanism), zap.Bool("block", set.Block))
	go p.run()
	return p, nil
}

func (p *Publisher) headers(kind string) []kafkago.Header {
	h := []kafkago.Header{{Key: HeaderType, Value: []byte(kind)}}
	if p.set.Codec != "" {
		h = append(h, kafkago.Header{Key: HeaderCodec, Value: []byte(p.set.Codec)})
	}
	return append(h, kafkago.Header{Key: HeaderSensor, Value: []byte(p.set.SensorID)})
}

// headerSize is kafka-go's accounting of a message's headers (varints are
// counted at their largest, 5 bytes, which only overestimates).
func headerSize(hs []kafkago.Header) int64 {
	n := int64(5)
	for _, h := range hs {
		n += 5 + int64(len(h.Key)) + 5 + int64(len(h.Value))
	}
	return n
}

// msgSize is what a message costs against BatchBytes (kafka-go's
// Message.totalSize: v1 framing plus key, value and headers).
func msgSize(key, value []byte, hdr int64) int64 {
	return 4 + 1 + 1 + 4 + int64(len(key)) + 4 + int64(len(value)) + 8 + hdr
}

// heldSize is what a message costs against QueueBytes.
func heldSize(m *kafkago.Message) int64 { return int64(len(m.Key) + len(m.Value)) }

// Consume encodes the batch's exchanges into the queue and returns; loss
// records are queued for publishing. It never waits for Kafka unless
// Settings.Block is set; records that do not fit are dropped and counted.
// It returns ErrClosed after Close, and in Block mode ctx's error when ctx
// ends before there was room (the rest of the batch is then dropped).
func (p *Publisher) Consume(ctx context.Context, b flow.Batch) error {
	if len(b.Losses) > 0 {
		p.mu.Lock()
		closed := p.closed
		if !closed {
			for i := range b.Losses {
				p.addPending(b.Losses[i])
			}
		}
		p.mu.Unlock()
		if closed {
			p.undelivered.Add(uint64(len(b.Exchanges)))
			return ErrClosed
		}
		p.signal()
	}
	if len(b.Exchanges) == 0 {
		return nil
	}
	p.cmu.Lock()
	defer p.cmu.Unlock()

	s := batchSpan(b.Exchanges)
	// Cheap refusal under overload: do not encode what cannot be queued.
	if !p.set.Block && (p.held.Load() >= p.maxRecords || p.heldBytes.Load() >= p.maxBytes) {
		return p.refuse(len(b.Exchanges), s)
	}
	msgs := p.encode(b.Exchanges, s)
	defer func() {
		clear(p.scratch)
		p.scratch = p.scratch[:0]
	}()
	for len(msgs) > 0 {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			p.undelivered.Add(uint64(len(msgs)))
			s.release(len(msgs))
			return ErrClosed
		}
		n, size := 0, int64(0)
		held, heldBytes := p.held.Load(), p.heldBytes.Load()
		for n < len(msgs) {
			sz := heldSize(&msgs[n])
			if held+1 > p.maxRecords || heldBytes+sz > p.maxBytes {
				break
			}
			held++
			heldBytes += sz
			size += sz
			n++
		}
		if n > 0 {
			p.held.Add(int64(n))
			p.heldBytes.Add(size)
			p.queue = append(p.queue, msgs[:n]...)
		}
		room := p.room
		p.mu.Unlock()
		if n > 0 {
			p.enqueued.Add(uint64(n))
			p.signal()
			msgs = msgs[n:]
			continue
		}
		if !p.set.Block {
			p.drop(len(msgs), s)
			s.release(len(msgs))
			return nil
		}
		select {
		case <-room:
		case <-ctx.Done():
			p.drop(len(msgs), s)
			s.release(len(msgs))
			return ctx.Err()
		case <-p.closing:
			p.undelivered.Add(uint64(len(msgs)))
			s.release(len(msgs))
			return ErrClosed
		}
	}
	return nil
}

func batchSpan(exs []*flow.Exchange) *span {
	s := &span{}
	for _, e := range exs {
		if !e.Start.IsZero() && (s.first.IsZero() || e.Start.Before(s.first)) {
			s.first = e.Start
		}
		end := e.End
		if end.IsZero() {
			end = e.Start
		}
		if end.After(s.last) {
			s.last = end
		}
	}
	if s.first.IsZero() || s.last.IsZero() {
		now := time.Now().UTC()
		if s.first.IsZero() {
			s.first = now
		}
		if s.last.IsZero() {
			s.last = now
		}
	}
	return s
}

// encode builds the batch's messages in p.scratch. Keys and values share
// one arena per batch, so a batch costs a few allocations, not one per
// record; the arena is recycled when its last record is settled.
func (p *Publisher) encode(exs []*flow.Exchange, s *span) []kafkago.Message {
	arena := p.getArena()
	ends := p.ends[:0]
	var err error
	var nEnc, nLarge uint64
	for _, e := range exs {
		start := len(arena)
		arena = appendKey(arena, e)
		keyEnd := len(arena)
		if arena, err = p.set.Encode(arena, e); err != nil {
			arena = arena[:start]
			nEnc++
			continue
		}
		if msgSize(arena[start:keyEnd], arena[keyEnd:], p.exHdrSize) > p.maxMsg {
			arena = arena[:start]
			nLarge++
			continue
		}
		ends = append(ends, start, keyEnd, len(arena))
	}
	p.ends = ends
	if nEnc+nLarge > 0 {
		p.encodeErrs.Add(nEnc)
		p.dropLarge.Add(nLarge)
		p.mu.Lock()
		p.own[causeEncode].add(nEnc, s)
		p.own[causeTooLarge].add(nLarge, s)
		p.lossDirty = true
		p.mu.Unlock()
	}
	// Size classes (powers of two) keep recycled arenas reusable when
	// batch sizes wobble.
	if h := 1 << bits.Len(uint(len(arena)+len(arena)/8)); h > p.arenaHint {
		p.arenaHint = h
	}
	now := time.Now()
	msgs := p.scratch[:0]
	for i := 0; i < len(ends); i += 3 {
		a, k, v := ends[i], ends[i+1], ends[i+2]
		msgs = append(msgs, kafkago.Message{
			Key:        arena[a:k:k],
			Value:      arena[k:v:v],
			Headers:    p.exHeaders,
			WriterData: s,
			Time:       now,
		})
	}
	p.scratch = msgs
	s.p, s.arena = p, arena
	s.refs.Store(int32(len(msgs)))
	if len(msgs) == 0 {
		p.putArena(arena)
	}
	return msgs
}

// appendKey appends the partitioning key: the Host, or the server address
// when the request named no host.
func appendKey(dst []byte, e *flow.Exchange) []byte {
	if e.Host != "" {
		return append(dst, e.Host...)
	}
	return e.Server.AppendTo(dst)
}

// refuse drops n records that were never encoded.
func (p *Publisher) refuse(n int, s *span) error {
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		p.undelivered.Add(uint64(n))
		return ErrClosed
	}
	p.drop(n, s)
	return nil
}

func (p *Publisher) drop(n int, s *span) {
	p.dropFull.Add(uint64(n))
	p.mu.Lock()
	p.own[causeQueueFull].add(uint64(n), s)
	p.lossDirty = true
	p.mu.Unlock()
}

func (p *Publisher) signal() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// addPending queues a loss record for publishing, merging with one of the
// same stage, reason and unit when too many wait. Called with p.mu held.
func (p *Publisher) addPending(l flow.Loss) {
	p.lossDirty = true
	if len(p.pending) < maxPendingLoss {
		p.pending = append(p.pending, l)
		return
	}
	for i := range p.pending {
		q := &p.pending[i]
		if q.Stage == l.Stage && q.Reason == l.Reason && q.Unit == l.Unit {
			q.Count += l.Count
			if l.First.Before(q.First) {
				q.First = l.First
			}
			if l.Last.After(q.Last) {
				q.Last = l.Last
			}
			return
		}
	}
	// A new kind with the table full: merge into the last one's count
	// would mislabel it; keep it (the table exceeds its bound by kinds,
	// which are few).
	p.pending = append(p.pending, l)
}

// completion settles records the Kafka client is done with. It runs on the
// client's goroutines, once per produce batch.
func (p *Publisher) completion(msgs []kafkago.Message, err error) {
	var n, size int64
	var failed uint64
	var fs span
	var lossOK uint64
	var lossBack []flow.Loss
	for i := range msgs {
		m := &msgs[i]
		switch d := m.WriterData.(type) {
		case *span:
			n++
			size += heldSize(m)
			if err != nil {
				if failed == 0 || d.first.Before(fs.first) {
					fs.first = d.first
				}
				if failed == 0 || d.last.After(fs.last) {
					fs.last = d.last
				}
				failed++
			}
			d.release(1)
		case *lossMsg:
			if err != nil {
				lossBack = append(lossBack, d.l)
			} else {
				lossOK++
			}
		}
	}
	if err != nil {
		p.writeErrors.Add(1)
		p.writeFailed.Add(failed)
		p.warn("kafka produce failed; its records are counted as lost", err)
	}
	p.written.Add(uint64(n) - failed)
	p.lossWritten.Add(lossOK)
	p.held.Add(-n)
	p.heldBytes.Add(-size)

	p.mu.Lock()
	if err != nil {
		p.healthy = false
		p.own[causeWriteFailed].add(failed, &fs)
		for _, l := range lossBack {
			p.addPending(l)
		}
		if failed > 0 || len(lossBack) > 0 {
			p.lossDirty = true
		}
	} else {
		p.healthy = true
	}
	if p.set.Block && n > 0 {
		close(p.room)
		p.room = make(chan struct{})
	}
	p.mu.Unlock()
	p.signal()
}

// run is the sender: it hands queued records to the Kafka client, reports
// losses, and on Close flushes everything and closes the client.
func (p *Publisher) run() {
	defer close(p.done)
	tick := time.NewTicker(p.cfg.LossInterval)
	defer tick.Stop()
	closing := false
	for {
		if !closing {
			select {
			case <-p.wake:
			case <-tick.C:
			case <-p.closing:
				closing = true
			}
		}
		p.mu.Lock()
		msgs := p.queue
		p.queue = p.spare[:0]
		p.mu.Unlock()
		if len(msgs) > 0 {
			p.write(msgs)
			clear(msgs)
		}
		p.spare = msgs[:0]
		p.flushLosses(false)
		if !closing {
			continue
		}
		p.mu.Lock()
		empty := len(p.queue) == 0
		p.mu.Unlock()
		if empty {
			break
		}
	}
	p.finish()
}

// finish drains on Close: publish the last loss records, then close the
// client, which sends every pending batch and waits for it to settle. If
// that last flight lost records, a synchronous writer on the same transport
// reports them, so that a nil error from Close means every loss reached
// Kafka; what even that cannot send is counted in Close's error.
func (p *Publisher) finish() {
	if p.abortCtx.Err() == nil {
		p.flushLosses(true)
	}
	if err := p.w.Close(); err != nil {
		p.log.Warn("kafka writer close", zap.Error(err))
	}
	p.mu.Lock()
	dirty := p.lossDirty
	p.mu.Unlock()
	if dirty && p.abortCtx.Err() == nil {
		last := p.w // configuration only: the closed writer's state is not reused
		p.w = &kafkago.Writer{
			Addr: last.Addr, Topic: last.Topic, Balancer: &kafkago.Hash{},
			MaxAttempts: last.MaxAttempts, BatchTimeout: time.Millisecond,
			ReadTimeout: last.ReadTimeout, WriteTimeout: last.WriteTimeout,
			RequiredAcks: last.RequiredAcks, Completion: last.Completion,
			Compression: last.Compression, Transport: last.Transport, ErrorLogger: last.ErrorLogger,
		}
		p.flushLosses(true)
		if err := p.w.Close(); err != nil {
			p.log.Warn("kafka writer close", zap.Error(err))
		}
	}
	p.stopTrans()
	p.transport.CloseIdleConnections()
	p.abortFn() // release the context; nothing is left to abort
}

// write hands msgs to the client, retrying with backoff while the client
// cannot route them (cluster unreachable since start, topic unknown).
// Meanwhile the queue fills and Consume drops. It gives up only when
// Close's deadline passes.
func (p *Publisher) write(msgs []kafkago.Message) {
	backoff := 50 * time.Millisecond
	var timer *time.Timer
	for {
		ctx, cancel := context.WithTimeout(p.abortCtx, p.cfg.WriteTimeout)
		err := p.w.WriteMessages(ctx, msgs...)
		cancel()
		if err == nil {
			return
		}
		p.writeErrors.Add(1)
		p.mu.Lock()
		p.healthy = false
		p.mu.Unlock()
		var tooLarge kafkago.MessageTooLargeError
		if errors.As(err, &tooLarge) || errors.Is(err, io.ErrClosedPipe) {
			// Cannot happen (sizes are checked in Consume, the client is
			// closed only by finish); settle rather than spin.
			p.completion(msgs, err)
			return
		}
		if p.abortCtx.Err() != nil {
			p.settleUndelivered(msgs)
			return
		}
		p.warn("kafka unreachable; holding records, dropping what does not fit", err)
		if timer == nil {
			timer = time.NewTimer(backoff)
		} else {
			timer.Reset(backoff)
		}
		select {
		case <-timer.C:
		case <-p.abortCtx.Done():
			timer.Stop()
			p.settleUndelivered(msgs)
			return
		}
		backoff = min(2*backoff, time.Second)
	}
}

// settleUndelivered gives up on msgs when Close's deadline has passed.
// Their exchanges stay counted as held: Close reported them as undelivered.
func (p *Publisher) settleUndelivered(msgs []kafkago.Message) {
	for i := range msgs {
		if _, ok := msgs[i].WriterData.(*lossMsg); ok {
			p.lossUndelivered.Add(1)
		}
	}
}

// flushLosses publishes pending loss records and the publisher's own loss
// counts, at most once per LossInterval and only while Kafka takes writes
// (always on the final flush). Loss records bypass the queue bounds: they
// are few and merged.
func (p *Publisher) flushLosses(final bool) {
	now := time.Now()
	p.mu.Lock()
	// While Kafka is failing, a slower attempt doubles as the probe that
	// notices it is back when no exchanges flow.
	every := p.cfg.LossInterval
	if !p.healthy {
		every *= 5
	}
	if !p.lossDirty || (!final && now.Sub(p.lastLoss) < every) {
		p.mu.Unlock()
		return
	}
	ls := p.pending
	p.pending = nil
	for c := range p.own {
		a := &p.own[c]
		if a.n == 0 {
			continue
		}
		ls = append(ls, flow.Loss{
			Stage: causeStage[c], Reason: causeReason[c], Unit: "exchanges",
			Count: a.n, First: a.first.UTC(), Last: a.last.UTC(),
		})
		*a = lossAcc{}
	}
	p.lossDirty = false
	p.mu.Unlock()
	p.lastLoss = now
	if len(ls) == 0 {
		return
	}

	msgs := make([]kafkago.Message, 0, len(ls))
	for i := range ls {
		var err error
		start := len(p.lossBuf)
		p.lossBuf, err = p.set.EncodeLoss(p.lossBuf, &ls[i])
		if err != nil {
			p.lossBuf = p.lossBuf[:start]
			p.log.Error("kafka: encoding a loss record failed; the loss is unreported", zap.Error(err))
			p.lossUndelivered.Add(1)
			continue
		}
		v := append([]byte(nil), p.lossBuf[start:]...)
		p.lossBuf = p.lossBuf[:0]
		msgs = append(msgs, kafkago.Message{
			Key: p.sensorKey, Value: v, Headers: p.lossHeaders,
			WriterData: &lossMsg{l: ls[i]}, Time: now,
		})
	}
	ctx, cancel := context.WithTimeout(p.abortCtx, p.cfg.WriteTimeout)
	err := p.w.WriteMessages(ctx, msgs...)
	cancel()
	if err != nil {
		// Kafka is not taking writes: keep them for later.
		p.writeErrors.Add(1)
		p.mu.Lock()
		p.healthy = false
		for i := range msgs {
			p.addPending(msgs[i].WriterData.(*lossMsg).l)
		}
		p.mu.Unlock()
	}
}

// warn logs at most once per 10 s, with the number of occurrences.
func (p *Publisher) warn(msg string, err error) {
	p.warnMu.Lock()
	defer p.warnMu.Unlock()
	p.warnN++
	if now := time.Now(); now.Sub(p.lastWarn) >= 10*time.Second {
		p.log.Warn(msg, zap.Error(err), zap.Int("occurrences", p.warnN))
		p.lastWarn, p.warnN = now, 0
	}
}

// Close stops accepting records, hands everything queued to Kafka, waits
// for it to settle, publishes the final loss records and closes the
// client — all bounded by ctx. It reports, in its error, the records it
// could not deliver. It is safe to call more than once.
func (p *Publisher) Close(ctx context.Context) error {
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
		close(p.closing)
	})
	select {
	case <-p.done:
	case <-ctx.Done():
		p.abortOnce.Do(func() {
			p.abortFn()
			// Whatever is still held was not delivered by the deadline
			// (the client may still settle some of it later).
			p.undelivered.Add(uint64(max(p.held.Load(), 0)))
			p.stopTrans()
		})
	}
	p.closeMu.Lock()
	defer p.closeMu.Unlock()
	if p.closeDone {
		return p.closeErr
	}
	p.closeDone = true
	st := p.Stats()
	p.mu.Lock()
	var unreported uint64
	for i := range p.pending {
		unreported += p.pending[i].Count
	}
	for i := range p.own {
		unreported += p.own[i].n
	}
	p.mu.Unlock()
	p.log.Info("kafka publisher closed",
		zap.Uint64("enqueued", st.Enqueued), zap.Uint64("written", st.Written),
		zap.Uint64("dropped_queue_full", st.DroppedQueueFull), zap.Uint64("dropped_too_large", st.DroppedTooLarge),
		zap.Uint64("encode_errors", st.EncodeErrors), zap.Uint64("write_failed", st.WriteFailed),
		zap.Uint64("undelivered", st.Undelivered), zap.Uint64("loss_written", st.LossWritten),
		zap.Uint64("unreported_loss", unreported))
	if st.Undelivered > 0 || unreported > 0 {
		p.closeErr = fmt.Errorf("kafka: close: %d records undelivered, %d lost records unreported", st.Undelivered, unreported)
		if ctx.Err() != nil {
			p.closeErr = fmt.Errorf("%w: %w", p.closeErr, ctx.Err())
		}
		return p.closeErr
	}
	if ctx.Err() != nil {
		p.closeErr = ctx.Err()
	}
	return p.closeErr
}

// Stats returns a snapshot of the counters.
func (p *Publisher) Stats() Stats {
	return Stats{
		Enqueued:         p.enqueued.Load(),
		Written:          p.written.Load(),
		DroppedQueueFull: p.dropFull.Load(),
		DroppedTooLarge:  p.dropLarge.Load(),
		EncodeErrors:     p.encodeErrs.Load(),
		WriteFailed:      p.writeFailed.Load(),
		Undelivered:      p.undelivered.Load(),
		WriteErrors:      p.writeErrors.Load(),
		LossWritten:      p.lossWritten.Load(),
		LossUndelivered:  p.lossUndelivered.Load(),
		QueueRecords:     p.held.Load(),
		QueueBytes:       p.heldBytes.Load(),
	}
}

// WriterStats returns the Kafka client's own statistics (batch sizes and
// timings, retries), for export as metrics. kafka-go resets its counters on
// every call: call it from one place, periodically.
func (p *Publisher) WriterStats() kafkago.WriterStats { return p.w.Stats() }
