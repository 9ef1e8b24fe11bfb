// Package sink holds the sensor's local outputs: JSON Lines, a readable
// summary, and a discard sink for benchmarks. Each is a flow.Consumer.
package sink

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/apitap/apitap/flow"
)

// JSONL writes one JSON object per exchange, one per line. Loss records are
// written too, as objects with "type":"loss", so a reader of the file knows
// when the sensor was blind; exchanges carry no "type" field (it would
// break nothing to add one later, but the contract fields come first).
type JSONL struct {
	mu  sync.Mutex
	w   *bufio.Writer
	c   io.Closer
	buf []byte
	n   uint64
}

// NewJSONL writes to w; c, if not nil, is closed by Close.
func NewJSONL(w io.Writer, c io.Closer) *JSONL {
	return &JSONL{w: bufio.NewWriterSize(w, 256<<10), c: c, buf: make([]byte, 0, 64<<10)}
}

// OpenJSONL opens "-" (standard output) or a file path (created or truncated).
func OpenJSONL(path string) (*JSONL, error) {
	if path == "-" || path == "" {
		return NewJSONL(os.Stdout, nil), nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("jsonl output: %w", err)
	}
	return NewJSONL(f, f), nil
}

func (j *JSONL) Consume(_ context.Context, b flow.Batch) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, e := range b.Exchanges {
		j.buf = flow.AppendJSON(j.buf[:0], e)
		j.buf = append(j.buf, '\n')
		if _, err := j.w.Write(j.buf); err != nil {
			return fmt.Errorf("jsonl output: %w", err)
		}
		j.n++
	}
	for i := range b.Losses {
		j.buf = appendLossJSON(j.buf[:0], &b.Losses[i])
		j.buf = append(j.buf, '\n')
		if _, err := j.w.Write(j.buf); err != nil {
			return fmt.Errorf("jsonl output: %w", err)
		}
	}
	return nil
}

// Close flushes and closes the file.
func (j *JSONL) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	err := j.w.Flush()
	if j.c != nil {
		if cerr := j.c.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

func appendLossJSON(b []byte, l *flow.Loss) []byte {
	b = append(b, `{"type":"loss","stage":"`...)
	b = append(b, l.Stage...)
	b = append(b, `","reason":"`...)
	b = append(b, strings.ReplaceAll(l.Reason, `"`, ``)...)
	b = append(b, `","unit":"`...)
	b = append(b, l.Unit...)
	b = fmt.Appendf(b, `","count":%d,"first_ts":"`, l.Count)
	b = l.First.UTC().AppendFormat(b, "2006-01-02T15:04:05.000000000Z07:00")
	b = append(b, `","last_ts":"`...)
	b = l.Last.UTC().AppendFormat(b, "2006-01-02T15:04:05.000000000Z07:00")
	return append(b, `"}`...)
}

// Discard counts and drops everything (benchmarks, --output null).
type Discard struct {
	mu        sync.Mutex
	Exchanges uint64
	Losses    uint64
}

func (d *Discard) Consume(_ context.Context, b flow.Batch) error {
	d.mu.Lock()
	d.Exchanges += uint64(len(b.Exchanges))
	d.Losses += uint64(len(b.Losses))
	d.mu.Unlock()
	return nil
}

// Tee fans a batch out to several consumers in order; the first error wins
// but every consumer is still called.
type Tee []flow.Consumer

func (t Tee) Consume(ctx context.Context, b flow.Batch) error {
	var first error
	for _, c := range t {
		if err := c.Consume(ctx, b); err != nil && first == nil {
			first = err
		}
	}
	return first
}
