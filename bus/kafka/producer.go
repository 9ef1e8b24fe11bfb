package kafka

// The sender side of Publisher: routing queued records to partitions,
// building Kafka record batches (v2), compressing each batch once, and
// producing it with kafka-go's Transport (RawProduce requests), one request
// in flight per partition.
//
// kafka-go's Writer did the same job with a metadata-cache lookup, a hash
// and a map insertion per message, and serialised each record field by
// field through its compressor; at ~1 KB records that was most of the
// publisher's CPU (docs/kafka.md, "Performance"). Here the sender copies
// each record once, into its partition's batch buffer, and the batch is
// compressed with one call.

import (
	"bytes"
	stdgzip "compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"math/bits"
	"net"
	"sync"
	"syscall"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
	metaAPI "github.com/segmentio/kafka-go/protocol/metadata"
	produceAPI "github.com/segmentio/kafka-go/protocol/produce"
	"github.com/segmentio/kafka-go/protocol/rawproduce"

	"go.uber.org/zap"

	"github.com/apitap/apitap/flow"
	"github.com/apitap/apitap/internal/zstd"
)

// batchHeader is the record set's size prefix (4 bytes) and the record
// batch v2 header (61 bytes) in front of the records.
const batchHeader = 4 + 61

// maxRecordOverhead bounds a record's framing in a v2 batch beyond its key,
// value and headers: length, attributes, timestamp delta, offset delta and
// the key and value lengths, each varint at its largest.
const maxRecordOverhead = 5 + 1 + 10 + 5 + 5 + 5

// minRefresh is the shortest time between two forced metadata refreshes.
const minRefresh = 100 * time.Millisecond

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// prodBatch is one produce batch of one partition.
type prodBatch struct {
	part        int32
	buf         []byte // batchHeader bytes, then the records, uncompressed
	zbuf        []byte // the compressed batch
	wire        []byte // what is sent: buf or zbuf, framed
	n           int32  // records
	firstTs     int64  // ms
	maxTs       int64
	nEx         int64     // exchange records
	exBytes     int64     // their held bytes
	first, last time.Time // capture window of the exchanges
	losses      []flow.Loss
	opened      time.Time
	err         error
	reusable    bool // no request can still be reading it
}

// add appends one record, its timestamp ts in ms.
func (b *prodBatch) add(ts int64, key, value, hdrs []byte) {
	if b.n == 0 {
		b.firstTs, b.maxTs = ts, ts
	} else if ts > b.maxTs {
		b.maxTs = ts
	}
	b.buf = appendRecord(b.buf, ts-b.firstTs, int64(b.n), key, value, hdrs)
	b.n++
}

// appendRecord appends a v2 record (KIP-98): varint length, attributes,
// varint timestamp and offset deltas, key, value, headers (pre-encoded,
// count included). Varints are zigzag, as binary.AppendVarint writes them.
func appendRecord(dst []byte, tsDelta, offDelta int64, key, value, hdrs []byte) []byte {
	body := 1 + varintLen(tsDelta) + varintLen(offDelta) +
		varintLen(int64(len(key))) + len(key) + varintLen(int64(len(value))) + len(value) + len(hdrs)
	dst = binary.AppendVarint(dst, int64(body))
	dst = append(dst, 0)
	dst = binary.AppendVarint(dst, tsDelta)
	dst = binary.AppendVarint(dst, offDelta)
	dst = binary.AppendVarint(dst, int64(len(key)))
	dst = append(dst, key...)
	dst = binary.AppendVarint(dst, int64(len(value)))
	dst = append(dst, value...)
	return append(dst, hdrs...)
}

func varintLen(x int64) int {
	ux := uint64(x<<1) ^ uint64(x>>63)
	return (bits.Len64(ux|1) + 6) / 7
}

// appendHeaders encodes record headers as a v2 record carries them.
func appendHeaders(dst []byte, hs []kafkago.Header) []byte {
	dst = binary.AppendVarint(dst, int64(len(hs)))
	for _, h := range hs {
		dst = binary.AppendVarint(dst, int64(len(h.Key)))
		dst = append(dst, h.Key...)
		dst = binary.AppendVarint(dst, int64(len(h.Value)))
		dst = append(dst, h.Value...)
	}
	return dst
}

// partitionOf is kafka-go's Hash balancer (Sarama's hash partitioner):
// FNV-1a of the key, as an int32, modulo the partition count, absolute.
func partitionOf(key []byte, n int) int {
	h := uint32(2166136261)
	for _, c := range key {
		h ^= uint32(c)
		h *= 16777619
	}
	p := int32(h) % int32(n)
	if p < 0 {
		p = -p
	}
	return int(p)
}

// newZstd returns the batch compressor (internal/zstd): libzstd at level
// 3 for "default" (1 for "fastest", 5 for "better"), one EncodeAll per
// batch; concurrent calls (partitions in flight) each take a context of
// their own. The window is the batch size rounded up to a power of two
// (1 MiB by default, within 64 KiB..8 MiB): a batch is compressed on its
// own, so a larger window cannot find more, and consumers' decoders size
// their buffers by it. Frames carry no content checksum: the batch's
// CRC32C already covers the compressed bytes, and the xxhash64 pass over
// every uncompressed byte cost 3–4 % of the publisher's CPU (docs/kafka.md).
func newZstd(batchBytes int64, level string) (*zstd.Encoder, error) {
	l, err := zstd.ParseLevel(level)
	if err != nil {
		return nil, err
	}
	return zstd.NewEncoder(l, int(batchBytes)) // the window is clamped there
}

// The compression levels (Config.CompressionLevel) of gzip; "" is the
// default level. zstd's are internal/zstd's.
var (
	gzipLevels = map[string]int{"fastest": stdgzip.BestSpeed, "default": stdgzip.DefaultCompression, "": stdgzip.DefaultCompression,
		"better": stdgzip.BestCompression}
)

// frame compresses the records (once: retries resend the same bytes) and
// writes the record batch header and the record set's size prefix.
func (p *Publisher) frame(b *prodBatch) error {
	b.wire = nil
	recs := b.buf[batchHeader:]
	switch {
	case p.zstd != nil:
		var err error
		if b.zbuf, err = p.zstd.EncodeAll(recs, append(b.zbuf[:0], b.buf[:batchHeader]...)); err != nil {
			return err
		}
		b.wire = b.zbuf
	case p.codec != nil:
		w := appendWriter{b: append(b.zbuf[:0], b.buf[:batchHeader]...)}
		cw := p.codec.NewWriter(&w)
		_, err := cw.Write(recs)
		if cerr := cw.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		b.zbuf = w.b
		b.wire = b.zbuf
	default:
		b.wire = b.buf
	}
	putHeader(b.wire, b, p.attrs)
	return nil
}

// putHeader fills the first batchHeader bytes of w, whose records follow.
func putHeader(w []byte, b *prodBatch, attrs int16) {
	be := binary.BigEndian
	be.PutUint32(w[0:], uint32(len(w)-4))   // record set size
	be.PutUint64(w[4:], 0)                  // base offset
	be.PutUint32(w[12:], uint32(len(w)-16)) // batch length, from the leader epoch on
	be.PutUint32(w[16:], 0xffffffff)        // partition leader epoch: -1
	w[20] = 2                               // magic
	be.PutUint16(w[25:], uint16(attrs))     // compression; CreateTime; not transactional
	be.PutUint32(w[27:], uint32(b.n-1))     // last offset delta
	be.PutUint64(w[31:], uint64(b.firstTs))
	be.PutUint64(w[39:], uint64(b.maxTs))
	be.PutUint64(w[47:], ^uint64(0))  // producer id: -1
	be.PutUint16(w[55:], 0xffff)      // producer epoch: -1
	be.PutUint32(w[57:], 0xffffffff)  // base sequence: -1
	be.PutUint32(w[61:], uint32(b.n)) // records
	be.PutUint32(w[21:], crc32.Checksum(w[25:], castagnoli))
}

type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// sender is the state of the sender goroutine (Publisher.run).
type sender struct {
	p         *Publisher
	parts     []partState
	inflight  int
	free      []*prodBatch
	freeBytes int
	spare     []qrec
	lossBuf   []byte
	lastLoss  time.Time
	timer     *time.Timer
	timerAt   time.Time // zero: not armed
	bufHint   int       // capacity of a new batch buffer: the largest batch sealed so far
}

type partState struct {
	open  *prodBatch   // taking records
	ready []*prodBatch // sealed, in order
	busy  bool         // a request (or its retries) in flight
}

func (s *sender) init(p *Publisher) {
	s.p = p
	s.bufHint = 64 << 10
	s.timer = time.NewTimer(time.Hour)
	s.timer.Stop()
}

// run is the sender: it routes queued records into batches, sends them,
// settles their outcomes, reports losses, and on Close flushes everything.
func (p *Publisher) run() {
	s := &p.snd
	defer close(p.done)
	tick := time.NewTicker(p.cfg.LossInterval)
	defer tick.Stop()
	closingC := p.closing
	closing, aborted := false, false
	finals := 0
	for !aborted {
		select {
		case <-p.wake:
		case <-tick.C:
		case b := <-p.results:
			s.settle(b)
		case <-s.timer.C:
			s.timerAt = time.Time{}
			s.sealExpired(time.Now())
		case <-closingC:
			closing, closingC = true, nil
		case <-p.abortCtx.Done():
			aborted = true
			continue
		}
		for more := true; more; {
			select {
			case b := <-p.results:
				s.settle(b)
			default:
				more = false
			}
		}
		s.route()
		if closing {
			s.sealAll()
		}
		s.flushLosses(false)
		if closing {
			s.sealAll()
		}
		s.dispatch()
		if closing && s.idle() {
			// Every record is settled. The last flight may have lost
			// records: report them (twice at most, bounded by Close).
			p.mu.Lock()
			dirty := p.lossDirty
			p.mu.Unlock()
			if !dirty || finals == 2 {
				break
			}
			finals++
			s.flushLosses(true)
			s.sealAll()
			s.dispatch()
			continue
		}
		s.armTimer()
	}
	s.shutdown(aborted)
}

// shutdown ends the sender. After an abort (Close's deadline) it gives
// requests still in flight a moment to settle, and counts the loss records
// that never left.
func (s *sender) shutdown(aborted bool) {
	p := s.p
	if aborted {
		for i := range s.parts {
			ps := &s.parts[i]
			if ps.open != nil {
				p.lossUndelivered.Add(uint64(len(ps.open.losses)))
			}
			for _, b := range ps.ready {
				p.lossUndelivered.Add(uint64(len(b.losses)))
			}
		}
		grace := time.NewTimer(time.Second)
		for s.inflight > 0 {
			select {
			case b := <-p.results:
				if b.err != nil {
					p.lossUndelivered.Add(uint64(len(b.losses)))
					b.losses = b.losses[:0]
				}
				s.settle(b)
				continue
			case <-grace.C:
			}
			break
		}
		grace.Stop()
	}
	close(p.stop)
	p.stopMeta()
	p.helpers.Wait()
	if p.zstd != nil {
		p.zstd.Close() // no produce goroutine is left to compress
	}
	p.stopTrans()
	p.transport.CloseIdleConnections()
	p.abortFn() // release the context; nothing is left to abort
}

// route moves the queue into the partitions' batches. Without a partition
// count (cluster unreachable since start, topic missing) the records wait
// in the queue, which keeps filling, and Consume drops what does not fit.
func (s *sender) route() {
	p := s.p
	n := int(p.nparts.Load())
	p.mu.Lock()
	if n == 0 {
		waiting := len(p.queue) > 0
		p.mu.Unlock()
		if waiting {
			p.kickMetadata()
		}
		return
	}
	recs := p.queue
	p.queue = s.spare[:0]
	p.mu.Unlock()
	if len(recs) == 0 {
		s.spare = recs
		return
	}
	s.grow(n)
	var run *span
	runN := 0
	maxSize := p.cfg.BatchSize
	for i := range recs {
		r := &recs[i]
		key, value := r.key(), r.value()
		part := partitionOf(key, n)
		ps := &s.parts[part]
		b := s.batchFor(ps, int32(part), maxRecordOverhead+len(key)+len(value)+len(p.exHdrs))
		b.add(r.s.ts, key, value, p.exHdrs)
		if b.nEx == 0 || r.s.first.Before(b.first) {
			b.first = r.s.first
		}
		if b.nEx == 0 || r.s.last.After(b.last) {
			b.last = r.s.last
		}
		b.nEx++
		b.exBytes += r.heldSize()
		if int(b.n) >= maxSize {
			s.seal(ps)
		}
		if r.s != run {
			if run != nil {
				run.release(runN)
			}
			run, runN = r.s, 0
		}
		runN++
	}
	run.release(runN)
	clear(recs)
	s.spare = recs[:0]
}

func (s *sender) grow(n int) {
	if n > len(s.parts) {
		s.parts = append(s.parts, make([]partState, n-len(s.parts))...)
	}
}

// batchFor returns the partition's open batch with room for a record of at
// most size bytes, sealing a full one. A batch takes at least one record.
func (s *sender) batchFor(ps *partState, part int32, size int) *prodBatch {
	if b := ps.open; b != nil {
		if int64(len(b.buf)-4+size) <= s.p.cfg.BatchBytes {
			return b
		}
		s.seal(ps)
	}
	b := s.newBatch(part)
	ps.open = b
	if s.timerAt.IsZero() {
		s.timerAt = b.opened.Add(s.p.cfg.BatchTimeout)
		s.timer.Reset(s.p.cfg.BatchTimeout)
	}
	return b
}

func (s *sender) seal(ps *partState) {
	// A new buffer starts at the size batches reach (a full batch once
	// one was half full, up to 4 MiB) rather than growing there in a
	// dozen copies: the first batches of a busy publisher would each
	// allocate and copy ~5× their size.
	n := len(ps.open.buf) + len(ps.open.buf)/16
	if int64(n) >= s.p.cfg.BatchBytes/2 {
		n = int(s.p.cfg.BatchBytes) + batchHeader + maxRecordOverhead
	}
	if n > s.bufHint {
		s.bufHint = min(n, 4<<20)
	}
	ps.ready = append(ps.ready, ps.open)
	ps.open = nil
}

func (s *sender) sealAll() {
	for i := range s.parts {
		if s.parts[i].open != nil {
			s.seal(&s.parts[i])
		}
	}
}

// sealExpired seals the batches that have waited BatchTimeout.
func (s *sender) sealExpired(now time.Time) {
	for i := range s.parts {
		if b := s.parts[i].open; b != nil && now.Sub(b.opened) >= s.p.cfg.BatchTimeout {
			s.seal(&s.parts[i])
		}
	}
}

// armTimer arms the batch timer for the oldest open batch.
func (s *sender) armTimer() {
	if !s.timerAt.IsZero() {
		return
	}
	var oldest time.Time
	for i := range s.parts {
		if b := s.parts[i].open; b != nil && (oldest.IsZero() || b.opened.Before(oldest)) {
			oldest = b.opened
		}
	}
	if !oldest.IsZero() {
		s.timerAt = oldest.Add(s.p.cfg.BatchTimeout)
		s.timer.Reset(max(time.Until(s.timerAt), time.Millisecond))
	}
}

// dispatch starts a request for every partition that has a sealed batch
// and none in flight: one in flight per partition keeps a host's records in
// order through retries.
func (s *sender) dispatch() {
	p := s.p
	for i := range s.parts {
		ps := &s.parts[i]
		if ps.busy || len(ps.ready) == 0 {
			continue
		}
		b := ps.ready[0]
		copy(ps.ready, ps.ready[1:])
		ps.ready[len(ps.ready)-1] = nil
		ps.ready = ps.ready[:len(ps.ready)-1]
		ps.busy = true
		s.inflight++
		p.stats.batch(b)
		p.helpers.Add(1)
		go p.produce(b)
	}
}

func (s *sender) idle() bool {
	if s.inflight > 0 {
		return false
	}
	for i := range s.parts {
		if s.parts[i].open != nil || len(s.parts[i].ready) > 0 {
			return false
		}
	}
	s.p.mu.Lock()
	empty := len(s.p.queue) == 0
	s.p.mu.Unlock()
	return empty
}

// Batch recycling: buffers of up to a few MiB each, kept while they total
// at most maxFreeBytes.
func (s *sender) newBatch(part int32) *prodBatch {
	var b *prodBatch
	for n := len(s.free); n > 0 && b == nil; n = len(s.free) {
		b = s.free[n-1]
		s.free[n-1] = nil
		s.free = s.free[:n-1]
		s.freeBytes -= cap(b.buf) + cap(b.zbuf)
		if cap(b.buf) < s.bufHint {
			b = nil // would grow: drop it
		}
	}
	if b == nil {
		b = &prodBatch{buf: make([]byte, batchHeader, s.bufHint)}
	}
	b.part = part
	b.buf = b.buf[:batchHeader]
	b.opened = time.Now()
	return b
}

func (s *sender) recycle(b *prodBatch) {
	if !b.reusable {
		return
	}
	size := cap(b.buf) + cap(b.zbuf)
	if s.freeBytes+size > maxFreeBytes || cap(b.buf) > 2*int(s.p.cfg.BatchBytes)+batchHeader+(1<<20) {
		return
	}
	clear(b.losses)
	*b = prodBatch{buf: b.buf, zbuf: b.zbuf[:0], losses: b.losses[:0]}
	s.free = append(s.free, b)
	s.freeBytes += size
}

// settle accounts for a batch the producer is done with.
func (s *sender) settle(b *prodBatch) {
	p := s.p
	if int(b.part) < len(s.parts) {
		s.parts[b.part].busy = false
	}
	s.inflight--
	err := b.err
	var failed uint64
	if err != nil {
		failed = uint64(b.nEx)
		p.writeErrors.Add(1)
		p.writeFailed.Add(failed)
		p.warn("kafka produce failed; its records are counted as lost", err)
	} else {
		p.lossWritten.Add(uint64(len(b.losses)))
	}
	p.written.Add(uint64(b.nEx) - failed)
	p.held.Add(-b.nEx)
	p.heldBytes.Add(-b.exBytes)

	p.mu.Lock()
	if err != nil {
		p.healthy = false
		p.own[causeWriteFailed].add(failed, b.first, b.last)
		for _, l := range b.losses {
			p.addPending(l)
		}
		if failed > 0 || len(b.losses) > 0 {
			p.lossDirty = true
		}
	} else {
		p.healthy = true
	}
	if p.set.Block && b.nEx > 0 {
		close(p.room)
		p.room = make(chan struct{})
	}
	p.mu.Unlock()
	s.recycle(b)
}

// flushLosses publishes pending loss records and the publisher's own loss
// counts, at most once per LossInterval and only while Kafka takes writes
// (always on the final flush). Loss records bypass the queue bounds: they
// are few and merged. Until the partition count is known they stay pending.
func (s *sender) flushLosses(final bool) {
	p := s.p
	now := time.Now()
	p.mu.Lock()
	// While Kafka is failing, a slower attempt doubles as the probe that
	// notices it is back when no exchanges flow.
	every := p.cfg.LossInterval
	if !p.healthy {
		every *= 5
	}
	if !p.lossDirty || (!final && now.Sub(s.lastLoss) < every) {
		p.mu.Unlock()
		return
	}
	n := int(p.nparts.Load())
	if n == 0 {
		p.mu.Unlock()
		s.lastLoss = now
		p.kickMetadata()
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
	s.lastLoss = now
	if len(ls) == 0 {
		return
	}
	s.grow(n)
	part := partitionOf(p.sensorKey, n)
	ps := &s.parts[part]
	ts := now.UnixMilli()
	for i := range ls {
		var err error
		s.lossBuf, err = p.set.EncodeLoss(s.lossBuf[:0], &ls[i])
		if err != nil {
			p.log.Error("kafka: encoding a loss record failed; the loss is unreported", zap.Error(err))
			p.lossUndelivered.Add(1)
			continue
		}
		b := s.batchFor(ps, int32(part), maxRecordOverhead+len(p.sensorKey)+len(s.lossBuf)+len(p.lossHdrs))
		b.add(ts, p.sensorKey, s.lossBuf, p.lossHdrs)
		b.losses = append(b.losses, ls[i])
		if int(b.n) >= p.cfg.BatchSize {
			s.seal(ps)
		}
	}
}

// produce sends one batch, retrying up to MaxAttempts times, and hands the
// outcome back to the sender.
func (p *Publisher) produce(b *prodBatch) {
	defer p.helpers.Done()
	b.reusable = true
	err := p.frame(b)
	for attempt := 0; attempt < p.cfg.MaxAttempts && b.wire != nil; attempt++ {
		if attempt > 0 {
			if !p.sleep(retryBackoff(attempt)) {
				break
			}
			p.stats.retry()
		}
		if err = p.send(b); err == nil {
			break
		}
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			// The transport may still be writing the request.
			b.reusable = false
		}
		p.log.Debug("kafka produce attempt failed", zap.Int32("partition", b.part),
			zap.Int("attempt", attempt+1), zap.Int32("records", b.n), zap.Error(err))
		if staleMetadata(err) {
			p.refreshMetadata()
		}
		if !retriable(err) || p.abortCtx.Err() != nil {
			break
		}
	}
	b.err = err
	select {
	case p.results <- b:
	case <-p.stop:
	}
}

// retryBackoff is kafka-go's Writer backoff: attempt² × 100 ms, at most 1 s.
func retryBackoff(attempt int) time.Duration {
	return min(time.Duration(attempt*attempt)*100*time.Millisecond, time.Second)
}

// sleep waits d unless Close gives up first.
func (p *Publisher) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-p.abortCtx.Done():
		return false
	}
}

// send makes one produce request for the batch. The transport routes it to
// the partition's leader in its cached cluster layout and negotiates the
// Produce version (v3..v8: record batches v2, none of the versions Kafka
// 4.0 removed).
func (p *Publisher) send(b *prodBatch) error {
	req := &rawproduce.Request{
		Acks:    p.acks,
		Timeout: int32(max(p.cfg.WriteTimeout/2/time.Millisecond, 1)),
		Topics: []rawproduce.RequestTopic{{
			Topic: p.cfg.Topic,
			Partitions: []rawproduce.RequestPartition{{
				Partition: b.part,
				RecordSet: protocol.RawRecordSet{Reader: bytes.NewReader(b.wire)},
			}},
		}},
	}
	ctx, cancel := context.WithTimeout(p.abortCtx, p.cfg.WriteTimeout)
	start := time.Now()
	r, err := p.transport.RoundTrip(ctx, p.addr, req)
	cancel()
	if err == nil {
		err = produceError(r, b.part)
	}
	p.stats.write(b, time.Since(start), err)
	return err
}

// produceError extracts the partition's error from a produce response (nil
// with acks none: there is no response).
func produceError(r protocol.Message, part int32) error {
	res, _ := r.(*produceAPI.Response)
	if res == nil {
		return nil
	}
	if len(res.Topics) == 0 {
		return protocol.ErrNoTopic
	}
	for _, rp := range res.Topics[0].Partitions {
		if rp.Partition == part {
			if rp.ErrorCode != 0 {
				return kafkago.Error(rp.ErrorCode)
			}
			return nil
		}
	}
	return protocol.ErrNoPartition
}

// staleMetadata tells whether err means the transport's cluster layout is
// out of date: the partition moved, its broker went away, or the topic
// changed.
func staleMetadata(err error) bool {
	var ke kafkago.Error
	if errors.As(err, &ke) {
		switch ke {
		case kafkago.NotLeaderForPartition, kafkago.LeaderNotAvailable, kafkago.UnknownTopicOrPartition,
			kafkago.BrokerNotAvailable, kafkago.ReplicaNotAvailable, kafkago.KafkaStorageError,
			kafkago.FencedLeaderEpoch, kafkago.UnknownLeaderEpoch, kafkago.UnknownTopicID:
			return true
		}
		return false
	}
	return errors.Is(err, protocol.ErrNoLeader) || errors.Is(err, protocol.ErrNoPartition) ||
		errors.Is(err, protocol.ErrNoTopic) || networkError(err)
}

// retriable: kafka-go's Writer's rule (temporary errors, transient network
// errors), plus routing errors, which a metadata refresh fixes.
func retriable(err error) bool {
	var tmp interface{ Temporary() bool }
	if errors.As(err, &tmp) && tmp.Temporary() {
		return true
	}
	return networkError(err) || errors.Is(err, protocol.ErrNoLeader) ||
		errors.Is(err, protocol.ErrNoPartition) || errors.Is(err, protocol.ErrNoTopic)
}

func networkError(err error) bool {
	var ne net.Error
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed) ||
		(errors.As(err, &ne) && !errors.Is(err, context.Canceled))
}

// refreshMetadata makes the transport fetch the cluster layout again now,
// not at its next metadata_ttl: kafka-go's Transport refreshes on a timer
// only, and CloseIdleConnections is its one public way to drop the cached
// layout (the next request opens a new pool, which fetches metadata first;
// requests in flight finish on the old one). At most once per minRefresh.
func (p *Publisher) refreshMetadata() {
	p.refreshMu.Lock()
	now := time.Now()
	if now.Sub(p.lastRefresh) < minRefresh {
		p.refreshMu.Unlock()
		return
	}
	p.lastRefresh = now
	p.refreshMu.Unlock()
	p.stats.refresh()
	p.transport.CloseIdleConnections()
	select {
	case p.metaKick <- struct{}{}:
	default:
	}
}

// kickMetadata starts the metadata goroutine on first use and asks it for
// a read. Called by the sender only.
func (p *Publisher) kickMetadata() {
	if !p.metaStarted {
		p.metaStarted = true
		p.metaCtx, p.metaCancel = context.WithCancel(p.abortCtx)
		p.helpers.Add(1)
		go p.metadataLoop()
	}
	select {
	case p.metaKick <- struct{}{}:
	default:
	}
}

func (p *Publisher) stopMeta() {
	if p.metaStarted {
		p.metaCancel()
	}
}

// metadataLoop keeps the partition count the sender routes by: read at
// once when asked, then every min(metadata_ttl, 1 s) from the transport's
// cache (which kafka-go refreshes every metadata_ttl), and again after a
// forced refresh. While the count is unknown, failed reads are retried
// with backoff (50 ms doubling to 1 s) and counted as failed hand-overs.
func (p *Publisher) metadataLoop() {
	defer p.helpers.Done()
	period := min(p.cfg.MetadataTTL, time.Second)
	backoff := 50 * time.Millisecond
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-p.metaCtx.Done():
			return
		case <-p.metaKick:
		case <-t.C:
		}
		n, err := p.readPartitions()
		if err == nil {
			backoff = 50 * time.Millisecond
			if int(p.nparts.Swap(int32(n))) != n {
				p.signal()
			}
			t.Reset(period)
			continue
		}
		if p.metaCtx.Err() != nil {
			return
		}
		if p.nparts.Load() == 0 {
			p.writeErrors.Add(1)
			p.mu.Lock()
			p.healthy = false
			p.mu.Unlock()
			p.warn("kafka unreachable; holding records, dropping what does not fit", err)
		}
		t.Reset(backoff)
		backoff = min(2*backoff, time.Second)
	}
}

// readPartitions reads the topic's partition count from the transport's
// metadata cache (the first read of a pool waits for its first fetch).
func (p *Publisher) readPartitions() (int, error) {
	ctx, cancel := context.WithTimeout(p.metaCtx, p.cfg.WriteTimeout)
	defer cancel()
	r, err := p.transport.RoundTrip(ctx, p.addr, &metaAPI.Request{TopicNames: []string{p.cfg.Topic}})
	if err != nil {
		return 0, err
	}
	res, _ := r.(*metaAPI.Response)
	if res == nil {
		return 0, kafkago.UnknownTopicOrPartition
	}
	for _, t := range res.Topics {
		if t.Name != p.cfg.Topic {
			continue
		}
		if t.ErrorCode != 0 {
			return 0, kafkago.Error(t.ErrorCode)
		}
		if len(t.Partitions) > 0 {
			return len(t.Partitions), nil
		}
	}
	return 0, kafkago.UnknownTopicOrPartition
}

// producerStats are the producer's statistics in kafka-go's WriterStats
// shape, reset on every read.
type producerStats struct {
	mu                                       sync.Mutex
	writes, messages, bytes, errors, retries int64
	refreshes                                int64
	batchSize, batchBytes                    kafkago.SummaryStats
	batchTime, writeTime                     kafkago.DurationStats
}

func observe(s *kafkago.SummaryStats, v int64) {
	if s.Count == 0 || v < s.Min {
		s.Min = v
	}
	if v > s.Max {
		s.Max = v
	}
	s.Count++
	s.Sum += v
}

func observeDuration(s *kafkago.DurationStats, d time.Duration) {
	if s.Count == 0 || d < s.Min {
		s.Min = d
	}
	if d > s.Max {
		s.Max = d
	}
	s.Count++
	s.Sum += d
}

// batch records a batch leaving for Kafka (its first attempt).
func (st *producerStats) batch(b *prodBatch) {
	st.mu.Lock()
	observe(&st.batchSize, int64(b.n))
	observe(&st.batchBytes, int64(len(b.buf)-batchHeader))
	observeDuration(&st.batchTime, time.Since(b.opened))
	st.mu.Unlock()
}

// write records one produce request (attempt).
func (st *producerStats) write(b *prodBatch, d time.Duration, err error) {
	st.mu.Lock()
	st.writes++
	st.messages += int64(b.n)
	st.bytes += int64(len(b.buf) - batchHeader)
	if err != nil {
		st.errors++
	}
	observeDuration(&st.writeTime, d)
	st.mu.Unlock()
}

func (st *producerStats) retry() {
	st.mu.Lock()
	st.retries++
	st.mu.Unlock()
}

func (st *producerStats) refresh() {
	st.mu.Lock()
	st.refreshes++
	st.mu.Unlock()
}

func finish(s kafkago.SummaryStats) kafkago.SummaryStats {
	if s.Count > 0 {
		s.Avg = s.Sum / s.Count
	}
	return s
}

func finishDuration(s kafkago.DurationStats) kafkago.DurationStats {
	if s.Count > 0 {
		s.Avg = s.Sum / time.Duration(s.Count)
	}
	return s
}

// WriterStats returns the producer's statistics since the previous call, in
// kafka-go's WriterStats shape (the fields it fills: Writes — produce
// requests, retries included —, Messages, Bytes — uncompressed record
// bytes —, Errors — failed requests —, Retries, BatchSize, BatchBytes,
// BatchTime — how long a batch filled —, WriteTime — request round trips —,
// and the configuration gauges). The counters reset on every call, as
// kafka-go's do: call it from one place, periodically.
func (p *Publisher) WriterStats() kafkago.WriterStats {
	st := &p.stats
	st.mu.Lock()
	ws := kafkago.WriterStats{
		Writes: st.writes, Messages: st.messages, Bytes: st.bytes, Errors: st.errors, Retries: st.retries,
		BatchSize: finish(st.batchSize), BatchBytes: finish(st.batchBytes),
		BatchTime: finishDuration(st.batchTime), WriteTime: finishDuration(st.writeTime),
	}
	st.writes, st.messages, st.bytes, st.errors, st.retries = 0, 0, 0, 0, 0
	st.batchSize, st.batchBytes = kafkago.SummaryStats{}, kafkago.SummaryStats{}
	st.batchTime, st.writeTime = kafkago.DurationStats{}, kafkago.DurationStats{}
	st.mu.Unlock()
	ws.MaxAttempts = int64(p.cfg.MaxAttempts)
	ws.WriteBackoffMin, ws.WriteBackoffMax = 100*time.Millisecond, time.Second
	ws.MaxBatchSize = int64(p.cfg.BatchSize)
	ws.BatchTimeout = p.cfg.BatchTimeout
	ws.ReadTimeout, ws.WriteTimeout = p.cfg.WriteTimeout, p.cfg.WriteTimeout
	ws.RequiredAcks = int64(p.acks)
	ws.Async = true
	ws.Topic = p.cfg.Topic
	ws.ClientID = p.cfg.ClientID
	return ws
}
