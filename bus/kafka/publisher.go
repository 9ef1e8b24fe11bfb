// Package kafka publishes the sensor's records to Apache Kafka.
//
// Publisher is a flow.Consumer. Consume encodes each exchange (with the
// injected codec) into a bounded queue and returns at once; one sender
// goroutine routes the queue to partitions, builds the produce batches
// (Kafka record batches v2, compressed once per batch) and sends them with
// segmentio/kafka-go's Transport, one request in flight per partition.
// Nothing blocks capture: when the queue is full — by records or by bytes,
// counting what is queued and what is in flight — records are dropped and
// counted, and when a produce fails its records are counted as lost. The
// counts travel as flow.Loss records on the same topic once Kafka accepts
// writes again, so a consumer knows when the stream has holes.
//
// Records are keyed by the exchange's Host (the server address when there
// is no Host) and partitioned with kafka-go's Hash balancer function
// (FNV-1a, Sarama-compatible), so one service's traffic stays in one
// partition, in order. Loss records are keyed by the sensor id.
//
// Delivery is at most once from the sensor's point of view: the publisher
// never re-queues a record whose write failed; a batch is retried up to
// MaxAttempts times, so a batch whose first attempt reached the broker but
// whose answer was lost may be written twice. docs/kafka.md has the details.
package kafka

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/compress"
	"github.com/segmentio/kafka-go/compress/gzip"
	"go.uber.org/zap"

	"github.com/apitap/apitap/flow"
	"github.com/apitap/apitap/internal/zstd"
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
	WriteErrors      uint64 // failed produce batches, and failed metadata reads while records wait to be routed
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

// span is one Consume batch: its capture-time window, its Kafka timestamp
// and the arena that holds its keys and values. Every queued record points
// at it, so a failed write can say when the sensor went blind without a
// per-record allocation, and the arena is recycled as soon as the sender
// has copied the last of its records into a produce batch.
type span struct {
	first, last time.Time
	ts          int64 // Kafka timestamp of its records: enqueue wall time, ms
	p           *Publisher
	arena       []byte
	refs        atomic.Int32 // records not yet copied out
}

// release marks n records of the batch as copied out.
func (s *span) release(n int) {
	if n > 0 && s.refs.Add(int32(-n)) == 0 && s.p != nil {
		s.p.putArena(s.arena)
		s.arena = nil
	}
}

// qrec is a queued exchange record: key arena[start:kend], value
// arena[kend:end] of its span.
type qrec struct {
	s                *span
	start, kend, end int
}

func (r *qrec) key() []byte   { return r.s.arena[r.start:r.kend:r.kend] }
func (r *qrec) value() []byte { return r.s.arena[r.kend:r.end:r.end] }

// heldSize is what a record costs against QueueBytes.
func (r *qrec) heldSize() int64 { return int64(r.end - r.start) }

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

type lossAcc struct {
	n           uint64
	first, last time.Time
}

func (a *lossAcc) add(n uint64, first, last time.Time) {
	if n == 0 {
		return
	}
	if a.n == 0 || first.Before(a.first) {
		a.first = first
	}
	if a.n == 0 || last.After(a.last) {
		a.last = last
	}
	a.n += n
}

// Publisher publishes exchanges and loss records to one Kafka topic. It is
// safe for concurrent use; Consume calls are serialised.
type Publisher struct {
	cfg       Config
	set       Settings
	log       *zap.Logger
	transport *kafkago.Transport
	addr      net.Addr
	stopTrans context.CancelFunc

	maxRecords, maxBytes, maxMsg int64
	exHdrSize                    int64  // kafka-go's size accounting of the exchange headers (too_large)
	exHdrs, lossHdrs             []byte // the record headers, encoded as in a v2 record
	sensorKey                    []byte
	attrs                        int16          // record batch attributes: the compression codec
	codec                        compress.Codec // gzip, snappy, lz4; nil for none and zstd
	zstd                         *zstd.Encoder
	acks                         int16

	enqueued, written, dropFull, dropLarge, encodeErrs atomic.Uint64
	writeFailed, undelivered, writeErrors              atomic.Uint64
	lossWritten, lossUndelivered                       atomic.Uint64
	held, heldBytes                                    atomic.Int64

	// cmu serialises Consume; the fields below it belong to the caller.
	cmu       sync.Mutex
	scratch   []qrec
	arenaHint int

	arenaMu   sync.Mutex
	arenas    [][]byte // free arenas
	freeBytes int

	mu        sync.Mutex
	queue     []qrec        // handed to the sender, not yet routed
	room      chan struct{} // closed and replaced when records settle (Block)
	closed    bool
	healthy   bool
	own       [nCauses]lossAcc
	pending   []flow.Loss // loss records waiting to be published
	lossDirty bool        // pending or own has something

	wake    chan struct{}   // sender wake-up, capacity 1
	closing chan struct{}   // closed by Close
	stop    chan struct{}   // closed by the sender when it stops routing
	done    chan struct{}   // closed when the sender and its helpers have finished
	results chan *prodBatch // produce outcomes, to the sender

	abortCtx context.Context // cancelled when Close's context ends first
	abortFn  context.CancelFunc

	closeOnce, abortOnce sync.Once
	closeMu              sync.Mutex
	closeDone            bool
	closeErr             error

	// Metadata: the partition count the sender routes by (0: unknown yet),
	// read from the transport's cache by the metadata goroutine.
	nparts      atomic.Int32
	metaKick    chan struct{} // capacity 1
	metaStarted bool          // sender only
	metaCtx     context.Context
	metaCancel  context.CancelFunc
	refreshMu   sync.Mutex
	lastRefresh time.Time

	helpers sync.WaitGroup // produce and metadata goroutines
	stats   producerStats

	// Sender-only state.
	snd sender

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
	comp := compressions[cfg.Compression]
	p := &Publisher{
		cfg:        cfg,
		set:        set,
		log:        set.Logger.Named("kafka"),
		transport:  tr,
		addr:       kafkago.TCP(cfg.Brokers...),
		stopTrans:  stop,
		maxRecords: int64(cfg.QueueRecords),
		maxBytes:   cfg.QueueBytes,
		maxMsg:     cfg.BatchBytes,
		sensorKey:  []byte(set.SensorID),
		attrs:      int16(comp),
		acks:       int16(acks[cfg.RequiredAcks]),
		arenaHint:  64 << 10,
		room:       make(chan struct{}),
		healthy:    true,
		wake:       make(chan struct{}, 1),
		closing:    make(chan struct{}),
		stop:       make(chan struct{}),
		done:       make(chan struct{}),
		results:    make(chan *prodBatch, 16),
		metaKick:   make(chan struct{}, 1),
	}
	switch comp {
	case compress.None:
	case compress.Zstd:
		if p.zstd, err = newZstd(cfg.BatchBytes, cfg.CompressionLevel); err != nil {
			stop()
			return nil, err
		}
	case compress.Gzip:
		p.codec = &gzip.Codec{Level: gzipLevels[cfg.CompressionLevel]}
	default:
		p.codec = comp.Codec()
	}
	p.abortCtx, p.abortFn = context.WithCancel(context.Background())
	exHeaders := p.headers("exchange")
	p.exHdrSize = headerSize(exHeaders)
	p.exHdrs = appendHeaders(nil, exHeaders)
	p.lossHdrs = appendHeaders(nil, p.headers("loss"))
	p.snd.init(p)
	if p.zstd != nil {
		p.log.Info("zstd compression", zap.String("implementation", zstd.Implementation()))
	}
	p.log.Info("kafka publisher ready",
		zap.Strings("brokers", cfg.Brokers), zap.String("topic", cfg.Topic),
		zap.String("compression", cfg.Compression), zap.String("compression_level", cfg.CompressionLevel), zap.String("acks", cfg.RequiredAcks),
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

// msgSize is what a record costs against BatchBytes when it is admitted
// (kafka-go's Message.totalSize: v1 framing plus key, value and headers; it
// is never below the record's size in a v2 batch, up to a few varint bytes).
// A record above BatchBytes is dropped as too large.
func msgSize(key, value []byte, hdr int64) int64 {
	return 4 + 1 + 1 + 4 + int64(len(key)) + 4 + int64(len(value)) + 8 + hdr
}

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
	recs := p.encode(b.Exchanges, s)
	defer func() {
		clear(p.scratch)
		p.scratch = p.scratch[:0]
	}()
	for len(recs) > 0 {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			p.undelivered.Add(uint64(len(recs)))
			s.release(len(recs))
			return ErrClosed
		}
		n, size := 0, int64(0)
		held, heldBytes := p.held.Load(), p.heldBytes.Load()
		for n < len(recs) {
			sz := recs[n].heldSize()
			if held+1 > p.maxRecords || heldBytes+sz > p.maxBytes {
				break
			}
			held++
			heldBytes += sz
			size += sz
			n++
		}
		backlog := len(p.queue) > 0
		if n > 0 {
			p.held.Add(int64(n))
			p.heldBytes.Add(size)
			p.queue = append(p.queue, recs[:n]...)
		}
		room := p.room
		p.mu.Unlock()
		if n > 0 {
			p.enqueued.Add(uint64(n))
			p.signal()
			if backlog {
				// The sender has not taken the previous batch yet (on one
				// core it runs only when this goroutine yields): let it
				// copy the records out while they are still in cache,
				// rather than thousands at once later.
				runtime.Gosched()
			}
			recs = recs[n:]
			continue
		}
		if !p.set.Block {
			p.drop(len(recs), s)
			s.release(len(recs))
			return nil
		}
		select {
		case <-room:
		case <-ctx.Done():
			p.drop(len(recs), s)
			s.release(len(recs))
			return ctx.Err()
		case <-p.closing:
			p.undelivered.Add(uint64(len(recs)))
			s.release(len(recs))
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

// encode builds the batch's records in p.scratch. Keys and values share
// one arena per batch, so a batch costs a few allocations, not one per
// record; the arena is recycled when its last record has been copied into
// a produce batch.
func (p *Publisher) encode(exs []*flow.Exchange, s *span) []qrec {
	arena := p.getArena()
	recs := p.scratch[:0]
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
		recs = append(recs, qrec{s: s, start: start, kend: keyEnd, end: len(arena)})
	}
	if nEnc+nLarge > 0 {
		p.encodeErrs.Add(nEnc)
		p.dropLarge.Add(nLarge)
		p.mu.Lock()
		p.own[causeEncode].add(nEnc, s.first, s.last)
		p.own[causeTooLarge].add(nLarge, s.first, s.last)
		p.lossDirty = true
		p.mu.Unlock()
	}
	// Size classes (powers of two) keep recycled arenas reusable when
	// batch sizes wobble.
	if h := 1 << bits.Len(uint(len(arena)+len(arena)/8)); h > p.arenaHint {
		p.arenaHint = h
	}
	p.scratch = recs
	s.p, s.arena, s.ts = p, arena, time.Now().UnixMilli()
	s.refs.Store(int32(len(recs)))
	if len(recs) == 0 {
		p.putArena(arena)
	}
	return recs
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
	p.own[causeQueueFull].add(uint64(n), s.first, s.last)
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
// connections — all bounded by ctx. It reports, in its error, the records
// it could not deliver. It is safe to call more than once.
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
			// (a request already on the wire may still be written).
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
