// Package zstd compresses whole buffers (Kafka record batches) into single
// zstd frames: with libzstd, the reference C library, through cgo when the
// build has cgo, and with klauspost/compress's Go encoder otherwise (or
// with the nolibzstd build tag). On the publisher's batches libzstd's
// level 3 costs two thirds of the Go encoder's default level at a slightly
// better ratio (docs/kafka.md), and compression is most of what publishing
// a record costs.
//
// Frames carry the content size and no content checksum: the Kafka batch's
// CRC32C already covers the compressed bytes, and the checksum flag is
// optional for every decoder (RFC 8878 §3.1.1.1.1).
package zstd

import (
	"errors"
	"fmt"
	"math/bits"
)

// Level is a compression level by intent; each implementation maps it to
// its own levels (Levels).
type Level uint8

const (
	Default Level = iota // libzstd 3; Go encoder SpeedDefault (~3)
	Fastest              // libzstd 1; Go encoder SpeedFastest (~1)
	Better               // libzstd 5; Go encoder SpeedBetterCompression (~7); similar cost
)

// ParseLevel reads "fastest", "default" (or "") and "better".
func ParseLevel(s string) (Level, error) {
	switch s {
	case "", "default":
		return Default, nil
	case "fastest":
		return Fastest, nil
	case "better":
		return Better, nil
	}
	return 0, fmt.Errorf("zstd: unknown level %q (fastest, default, better)", s)
}

// ErrClosed is returned by EncodeAll after Close.
var ErrClosed = errors.New("zstd: encoder closed")

// maxIdle bounds the compression contexts an Encoder keeps between calls:
// one per batch in flight, and publishers rarely have more than a few.
// Calls beyond it get a context of their own that is freed afterwards.
const maxIdle = 4

// windowLog is the window of the frames: window rounded up to a power of
// two, within 64 KiB..8 MiB. A buffer is compressed on its own, so a
// window larger than the buffer cannot find more, and the decoder's
// memory follows the window.
func windowLog(window int) int {
	l := bits.Len64(uint64(max(window, 1) - 1))
	return min(max(l, 16), 23)
}

func fmtLevel(l Level) error { return fmt.Errorf("zstd: level %d out of range", l) }
