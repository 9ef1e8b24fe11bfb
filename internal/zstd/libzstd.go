//go:build cgo && !nolibzstd

package zstd

/*
#cgo LDFLAGS: -lzstd
#include <zstd.h>

// set configures a fresh context; it returns 0 or a zstd error code.
static size_t apitap_zstd_set(ZSTD_CCtx *c, int level, int wlog) {
	size_t r = ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level);
	if (ZSTD_isError(r)) return r;
	r = ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 0);
	if (ZSTD_isError(r)) return r;
	r = ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 1);
	if (ZSTD_isError(r)) return r;
	return ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, wlog);
}
*/
import "C"

import (
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/apitap/apitap/internal/freelist"
)

// Implementation names the encoder this build uses.
func Implementation() string { return "libzstd " + C.GoString(C.ZSTD_versionString()) }

// Levels maps Level to libzstd's levels. 5 costs what the Go encoder's
// SpeedBetterCompression costs on the publisher's batches, with more ratio.
var Levels = [...]int{Default: 3, Fastest: 1, Better: 5}

// Encoder compresses with libzstd. It is safe for concurrent use: each
// call takes a compression context (C memory, outside the Go heap: 1.25
// MiB at level 3, 0.55 at 1, 3.5 at 5, measured with ZSTD_sizeof_CCtx)
// from a free list of at most maxIdle.
type Encoder struct {
	level, wlog C.int

	mu     sync.Mutex
	idle   freelist.List[cctx]
	closed bool
	live   atomic.Int64 // contexts not freed: for the leak test
}

// cctx is a compression context and its output buffer: compressing needs
// room for the worst case (ZSTD_compressBound), which is more than a
// frame of API traffic takes (~1/14), so a dst without that room gets the
// frame copied from here instead of growing to the worst case.
type cctx struct {
	c   *C.ZSTD_CCtx
	out []byte
}

// NewEncoder returns an encoder at level whose frames need a window of at
// most window bytes (rounded up to a power of two, 64 KiB..8 MiB).
func NewEncoder(level Level, window int) (*Encoder, error) {
	if int(level) >= len(Levels) {
		return nil, fmtLevel(level)
	}
	e := &Encoder{level: C.int(Levels[level]), wlog: C.int(windowLog(window)), idle: freelist.New[cctx](maxIdle)}
	// A context made now reports a bad setting at construction.
	c, err := e.get()
	if err != nil {
		return nil, err
	}
	e.put(c)
	return e, nil
}

func (e *Encoder) get() (*cctx, error) {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil, ErrClosed
	}
	c := e.idle.Get()
	e.mu.Unlock()
	if c.c != nil {
		return c, nil
	}
	if c.c = C.ZSTD_createCCtx(); c.c == nil {
		return nil, fmt.Errorf("zstd: cannot allocate a compression context")
	}
	e.live.Add(1)
	if r := C.apitap_zstd_set(c.c, e.level, e.wlog); C.ZSTD_isError(r) != 0 {
		e.free(c)
		return nil, fmt.Errorf("zstd: %s", C.GoString(C.ZSTD_getErrorName(r)))
	}
	return c, nil
}

func (e *Encoder) free(c *cctx) {
	C.ZSTD_freeCCtx(c.c)
	c.c = nil
	e.live.Add(-1)
}

func (e *Encoder) put(c *cctx) {
	e.mu.Lock()
	kept := !e.closed && e.idle.Put(c)
	e.mu.Unlock()
	if !kept {
		e.free(c)
	}
}

// EncodeAll appends one frame holding src to dst. A dst with less room
// than the worst case gets the frame copied from the context's buffer.
func (e *Encoder) EncodeAll(src, dst []byte) ([]byte, error) {
	c, err := e.get()
	if err != nil {
		return dst, err
	}
	defer e.put(c)
	bound := int(C.ZSTD_compressBound(C.size_t(len(src))))
	out := dst[len(dst):cap(dst)]
	direct := len(out) >= bound
	if !direct {
		if cap(c.out) < bound {
			c.out = make([]byte, bound)
		}
		out = c.out[:bound]
	}
	// Go memory without Go pointers, not retained by C: allowed by the cgo rules.
	r := C.ZSTD_compress2(c.c, unsafe.Pointer(unsafe.SliceData(out)), C.size_t(len(out)),
		unsafe.Pointer(unsafe.SliceData(src)), C.size_t(len(src)))
	if C.ZSTD_isError(r) != 0 {
		return dst, fmt.Errorf("zstd: %s", C.GoString(C.ZSTD_getErrorName(r)))
	}
	if direct {
		return dst[:len(dst)+int(r)], nil
	}
	return append(dst, out[:r]...), nil
}

// Close frees the idle contexts; calls still running free theirs when
// they end. EncodeAll fails with ErrClosed afterwards.
func (e *Encoder) Close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closed = true
	for e.idle.Len() > 0 {
		e.free(e.idle.Get())
	}
}
