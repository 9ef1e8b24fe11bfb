package sensor

import (
	"reflect"
	"time"

	"github.com/apitap/apitap/flow"
	"github.com/apitap/apitap/sensor/capture"
	"github.com/apitap/apitap/sensor/decode"
	"github.com/apitap/apitap/sensor/exchange"
	"github.com/apitap/apitap/sensor/tcp"
)

// Stats are the sensor's counters, summed over sources and workers.
type Stats struct {
	Capture capture.Stats
	Decode  decode.Stats
	TCP     tcp.Stats
	HTTP    exchange.Stats
	// Exchanges emitted by the workers.
	Exchanges uint64
	// QueueDrops: packets dropped because a worker queue was full (live mode).
	QueueDrops uint64
	// OutputDrops: exchanges dropped because the output queue was full (live mode).
	OutputDrops uint64
	// Delivered: exchanges the consumer accepted.
	Delivered uint64
	// ConsumeErrors: consumer calls that failed.
	ConsumeErrors uint64
	// ReadErrors: capture read errors other than end of file.
	ReadErrors uint64
	// FirstTS and LastTS bound the capture time seen (Unix nanoseconds).
	FirstTS, LastTS int64
}

// addCounters adds every unsigned-integer field of src to dst (same struct
// type). Used only when collecting stats, never per packet.
func addCounters(dst, src any) {
	dv := reflect.ValueOf(dst).Elem()
	sv := reflect.ValueOf(src)
	for i := 0; i < dv.NumField(); i++ {
		f := dv.Field(i)
		switch f.Kind() {
		case reflect.Uint64, reflect.Uint32, reflect.Uint, reflect.Uint16:
			f.SetUint(f.Uint() + sv.Field(i).Uint())
		case reflect.Int64, reflect.Int:
			f.SetInt(f.Int() + sv.Field(i).Int())
		case reflect.Bool:
			if sv.Field(i).Bool() {
				f.SetBool(true)
			}
		case reflect.Struct:
			if f.CanAddr() {
				addCounters(f.Addr().Interface(), sv.Field(i).Interface())
			}
		}
	}
}

// snapshot sums the latest published counters of every stage.
func snapshot(srcs []capture.Source, readers []*reader, workers []*worker, out *output) Stats {
	var st Stats
	for _, src := range srcs {
		addCounters(&st.Capture, src.Stats())
	}
	for _, r := range readers {
		rs := r.stats()
		addCounters(&st.Decode, rs.Decode)
		st.QueueDrops += rs.QueueDrops
		st.ReadErrors += rs.ReadErrors
		if rs.FirstTS != 0 && (st.FirstTS == 0 || rs.FirstTS < st.FirstTS) {
			st.FirstTS = rs.FirstTS
		}
		if rs.LastTS > st.LastTS {
			st.LastTS = rs.LastTS
		}
	}
	for _, w := range workers {
		ws := w.stats()
		addCounters(&st.TCP, ws.TCP)
		addCounters(&st.HTTP, ws.HTTP)
		st.Exchanges += ws.Exchanges
	}
	if out != nil {
		st.OutputDrops = out.dropped.Load()
		st.Delivered = out.delivered.Load()
		st.ConsumeErrors = out.errors.Load()
	}
	return st
}

// lossCounter is one cumulative counter that means the sensor missed data.
type lossCounter struct {
	stage  flow.Stage
	reason string
	unit   string
	get    func(*Stats) uint64
}

// lossCounters lists every counter that becomes a flow.Loss record. The
// reasons are a contract (docs/exchange-format.md).
var lossCounters = []lossCounter{
	{flow.StageCapture, "kernel_drop", "packets", func(s *Stats) uint64 { return s.Capture.Dropped }},
	{flow.StageCapture, "interface_drop", "packets", func(s *Stats) uint64 { return s.Capture.IfDropped }},
	{flow.StageCapture, "bad_record", "records", func(s *Stats) uint64 { return s.Capture.BadRecords }},
	{flow.StageCapture, "truncated_file", "files", func(s *Stats) uint64 { return b2u(s.Capture.TruncatedFile) }},
	{flow.StageCapture, "read_error", "errors", func(s *Stats) uint64 { return s.ReadErrors }},
	{flow.StageDecode, "malformed", "packets", func(s *Stats) uint64 { return s.Decode.Malformed }},
	{flow.StageDecode, "unsupported", "packets", func(s *Stats) uint64 { return s.Decode.Unsupported }},
	{flow.StageDecode, "snaplen", "packets", func(s *Stats) uint64 { return s.Decode.Snapped }},
	{flow.StageDecode, "fragment_timeout", "datagrams", func(s *Stats) uint64 { return s.Decode.FragTimeout }},
	{flow.StageDecode, "fragment_cap", "datagrams", func(s *Stats) uint64 { return s.Decode.FragDropCap }},
	{flow.StageReassembly, "gap_unacked", "bytes", func(s *Stats) uint64 { return s.TCP.GapBytesAck }},
	{flow.StageReassembly, "gap_timeout", "bytes", func(s *Stats) uint64 { return s.TCP.GapBytesTimeout }},
	{flow.StageReassembly, "buffer_cap", "bytes", func(s *Stats) uint64 { return s.TCP.GapBytesPerConnCap + s.TCP.GapBytesTotalCap }},
	{flow.StageReassembly, "snaplen", "bytes", func(s *Stats) uint64 { return s.TCP.GapBytesSnaplen }},
	{flow.StageReassembly, "gap_at_close", "bytes", func(s *Stats) uint64 { return s.TCP.GapBytesClose }},
	{flow.StageReassembly, "evicted", "connections", func(s *Stats) uint64 { return s.TCP.EvictedEstablished + s.TCP.EvictedHalfClosed }},
	{flow.StageParser, "skipped", "bytes", func(s *Stats) uint64 { return s.HTTP.SkippedBytes }},
	{flow.StageParser, "pending_overflow", "exchanges", func(s *Stats) uint64 { return s.HTTP.PendingDrops }},
	{flow.StageParser, "http2_desync", "bytes", func(s *Stats) uint64 { return s.HTTP.HTTP2LostBytes }},
	{flow.StageParser, "http2_midstream", "bytes", func(s *Stats) uint64 { return s.HTTP.HTTP2MidstreamBytes }},
	{flow.StageParser, "http2_midstream", "exchanges", func(s *Stats) uint64 { return s.HTTP.HTTP2MidstreamStreams }},
	{flow.StageQueue, "worker_queue_full", "packets", func(s *Stats) uint64 { return s.QueueDrops }},
	{flow.StageQueue, "output_queue_full", "exchanges", func(s *Stats) uint64 { return s.OutputDrops }},
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// lossRecords returns a flow.Loss for every loss counter that grew from
// prev to cur, over the window [first, last].
func lossRecords(prev, cur *Stats, first, last time.Time) []flow.Loss {
	var out []flow.Loss
	for _, c := range lossCounters {
		if d := c.get(cur) - c.get(prev); d > 0 && c.get(cur) > c.get(prev) {
			out = append(out, flow.Loss{Stage: c.stage, Reason: c.reason, Unit: c.unit, Count: d, First: first, Last: last})
		}
	}
	return out
}
