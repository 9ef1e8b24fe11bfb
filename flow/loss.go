package flow

import "time"

// Stage names where data was lost. Values are a contract.
type Stage string

const (
	StageCapture    Stage = "capture"    // kernel/ring or libpcap drops, truncated capture file
	StageDecode     Stage = "decode"     // malformed or unsupported packets, fragment limits
	StageReassembly Stage = "reassembly" // TCP gaps, buffer caps, connection-table caps
	StageParser     Stage = "parser"     // HTTP limits, resynchronisation
	StageQueue      Stage = "queue"      // internal queues full
	StagePublish    Stage = "publish"    // output failures
)

// Loss says the sensor was (partly) blind: Count units of Reason were
// dropped at Stage between First and Last. It travels in the same stream as
// exchanges so a consumer knows when absence of traffic means nothing.
type Loss struct {
	Stage  Stage
	Reason string // e.g. "ring_drop", "gap_bytes", "queue_full"
	Unit   string // "packets", "bytes", "exchanges", "connections"
	Count  uint64
	First  time.Time
	Last   time.Time
}
