//go:build !cgo || nolibzstd

package zstd

import (
	"runtime"
	"sync/atomic"

	kzstd "github.com/klauspost/compress/zstd"
)

// Implementation names the encoder this build uses.
func Implementation() string { return "klauspost/compress (Go)" }

// Levels maps Level to the Go encoder's levels.
var Levels = [...]kzstd.EncoderLevel{Default: kzstd.SpeedDefault, Fastest: kzstd.SpeedFastest, Better: kzstd.SpeedBetterCompression}

// Encoder compresses with klauspost/compress: safe for concurrent use, up
// to min(GOMAXPROCS, maxIdle) calls at once (more wait).
type Encoder struct {
	enc    *kzstd.Encoder
	closed atomic.Bool
}

// NewEncoder returns an encoder at level whose frames need a window of at
// most window bytes (rounded up to a power of two, 64 KiB..8 MiB).
func NewEncoder(level Level, window int) (*Encoder, error) {
	if int(level) >= len(Levels) {
		return nil, fmtLevel(level)
	}
	enc, err := kzstd.NewWriter(nil,
		kzstd.WithEncoderLevel(Levels[level]),
		kzstd.WithWindowSize(1<<windowLog(window)),
		// One encoder per core at most: each holds its own history, so
		// more than the cores can run only goes cold in cache.
		kzstd.WithEncoderConcurrency(min(runtime.GOMAXPROCS(0), maxIdle)),
		kzstd.WithZeroFrames(true), kzstd.WithEncoderCRC(false))
	if err != nil {
		return nil, err
	}
	return &Encoder{enc: enc}, nil
}

// EncodeAll appends one frame holding src to dst.
func (e *Encoder) EncodeAll(src, dst []byte) ([]byte, error) {
	if e.closed.Load() {
		return dst, ErrClosed
	}
	return e.enc.EncodeAll(src, dst), nil
}

// Close releases the encoder; EncodeAll fails with ErrClosed afterwards.
func (e *Encoder) Close() {
	if !e.closed.Swap(true) {
		e.enc.Close()
	}
}
