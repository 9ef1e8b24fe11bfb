package exchange

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"slices"

	"github.com/andybalholm/brotli"
	"github.com/apitap/apitap/flow"
	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
)

// Body decoding undoes Content-Encoding with bounded output and bounded
// work, whatever the input:
//
//   - The decoded size is capped at MaxDecodedBytes by reading through a
//     limited sink: the first Limits.MaxBodyBytes bytes are kept, the rest
//     only counted, and decoding stops at the cap (FlagDecompressionBomb).
//     Nothing is ever expanded beyond the cap, so a 10 KB gzip of 10 GB of
//     zeros costs 1 MiB of inflate work, not 10 GB.
//   - Stacked codings ("gzip, br" = gzip applied first, then br) are undone
//     in reverse order as a chain of streaming readers. Every intermediate
//     layer is itself read through a MaxDecodedBytes limit, so an inner
//     layer that consumes much and produces little cannot make the outer
//     one expand without bound.
//   - zstd runs single-threaded with an 8 MiB window limit (the largest
//     window HTTP zstd requires, RFC 9659); brotli windows are at most
//     16 MiB (large-window brotli is not accepted).
//   - The decompressors are pooled per Factory (Reset, not New), one set per
//     layer depth.

type coding uint8

const (
	codingIdentity coding = iota
	codingGzip
	codingDeflate
	codingBrotli
	codingZstd
	codingUnknown
)

// maxLayers is the most stacked content codings decoded; more is treated
// as an unknown coding.
const maxLayers = 4

// zstdMaxWindow is the largest zstd window accepted (RFC 9659 §3: HTTP
// decoders need not support more than 8 MB).
const zstdMaxWindow = 8 << 20

// codingList is the parsed Content-Encoding of one message.
type codingList struct {
	c       [maxLayers]coding
	n       int
	unknown bool // an unknown coding, or more than maxLayers
	present bool // a non-identity coding was listed
}

// add parses one Content-Encoding field value ("gzip, br").
func (l *codingList) add(v []byte) {
	for len(v) > 0 {
		tok := v
		if i := bytes.IndexByte(v, ','); i >= 0 {
			tok, v = v[:i], v[i+1:]
		} else {
			v = nil
		}
		tok = trimOWS(tok)
		var c coding
		switch {
		case len(tok) == 0 || equalFold(tok, "identity"):
			continue
		case equalFold(tok, "gzip") || equalFold(tok, "x-gzip"):
			c = codingGzip
		case equalFold(tok, "deflate"):
			c = codingDeflate
		case equalFold(tok, "br"):
			c = codingBrotli
		case equalFold(tok, "zstd"):
			c = codingZstd
		default:
			c = codingUnknown
		}
		l.present = true
		if c == codingUnknown || l.n == maxLayers {
			l.unknown = true
			continue
		}
		l.c[l.n] = c
		l.n++
	}
}

// errLimit is returned by a limitReader once its limit is reached and more
// input exists.
var errLimit = errors.New("exchange: decoded size limit reached")

// limitReader passes at most n bytes through; when the limit is reached
// it checks whether more would have come and records that in hit.
type limitReader struct {
	r   io.Reader
	n   int64
	hit bool
	one [1]byte
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		if k, _ := io.ReadFull(l.r, l.one[:]); k > 0 {
			l.hit = true
			return 0, errLimit
		}
		return 0, io.EOF
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// layer holds the pooled decompressors for one depth of a coding stack.
type layer struct {
	lim  limitReader   // bounds what this layer reads from the one below
	bufr *bufio.Reader // gives this layer an io.ByteReader (fast inflate path)
	gz   *gzip.Reader
	zl   io.ReadCloser // zlib, implements zlib.Resetter
	fl   io.ReadCloser // raw deflate, implements flate.Resetter
	br   *brotli.Reader
	zs   *zstd.Decoder
}

func (l *layer) open(c coding, r io.Reader, peek []byte, rawDeflate bool) (io.Reader, error) {
	switch c {
	case codingGzip:
		if l.gz == nil {
			l.gz = new(gzip.Reader)
		}
		return l.gz, l.gz.Reset(r)
	case codingDeflate:
		// "deflate" is zlib-wrapped per RFC 9110, but some servers send raw
		// deflate: use zlib when the two header bytes say so.
		if !rawDeflate && isZlibHeader(peek) {
			if l.zl == nil {
				zr, err := zlib.NewReader(r)
				if err != nil {
					return nil, err
				}
				l.zl = zr
				return zr, nil
			}
			return l.zl, l.zl.(zlib.Resetter).Reset(r, nil)
		}
		if l.fl == nil {
			l.fl = flate.NewReader(r)
			return l.fl, nil
		}
		return l.fl, l.fl.(flate.Resetter).Reset(r, nil)
	case codingBrotli:
		if l.br == nil {
			l.br = brotli.NewReader(r)
			return l.br, nil
		}
		return l.br, l.br.Reset(r)
	case codingZstd:
		if l.zs == nil {
			zs, err := zstd.NewReader(nil,
				zstd.WithDecoderConcurrency(1), // synchronous: no goroutines, no async buffers
				zstd.WithDecoderMaxWindow(zstdMaxWindow),
				zstd.WithDecoderMaxMemory(zstdMaxWindow),
				zstd.WithDecoderLowmem(true))
			if err != nil {
				return nil, err
			}
			l.zs = zs
		}
		return l.zs, l.zs.Reset(r)
	}
	return nil, errors.New("exchange: unsupported coding")
}

// isZlibHeader checks the RFC 1950 header: deflate method, window <= 32K,
// FCHECK consistent.
func isZlibHeader(b []byte) bool {
	if len(b) < 2 {
		return false
	}
	return b[0]&0x0f == 8 && b[0]>>4 <= 7 && (uint16(b[0])<<8|uint16(b[1]))%31 == 0
}

// decoder decodes bodies; one per Factory (not safe for concurrent use).
type decoder struct {
	src    bytes.Reader
	layers [maxLayers]layer
	sink   []byte // discard buffer for decoded bytes beyond the kept prefix
	one    [1]byte
}

// decodeResult describes one decoded body.
type decodeResult struct {
	decoded int64 // decoded bytes counted (stops at the cap)
	flags   flow.Flags
	err     bool // decoding failed: the caller keeps the raw body instead
}

// decode appends the decoded form of body (encoded with codings, in the
// order applied) to dst, keeping at most keep bytes and counting at most
// max. truncated says the body is known to be incomplete, so running out
// of input is expected rather than an error.
func (d *decoder) decode(dst, body []byte, codings []coding, keep int, max int64, truncated bool) ([]byte, decodeResult) {
	start := len(dst)
	var res decodeResult
	for attempt := 0; attempt < 2; attempt++ {
		usedZlib := false
		dst, res, usedZlib = d.run(dst[:start], body, codings, keep, max, truncated, attempt == 1)
		// A body labelled deflate that failed as zlib is retried once as
		// raw deflate (the header check can be fooled by raw data).
		if !res.err || !usedZlib {
			break
		}
	}
	return dst, res
}

func (d *decoder) run(dst, body []byte, codings []coding, keep int, max int64, truncated, rawDeflate bool) (_ []byte, res decodeResult, usedZlib bool) {
	d.src.Reset(body)
	for li := range d.layers {
		d.layers[li].lim.hit = false
	}
	var r io.Reader = &d.src
	peek := body
	n := len(codings)
	for li := 0; li < n; li++ {
		c := codings[n-1-li] // the last coding applied is undone first
		l := &d.layers[li]
		if li > 0 {
			l.lim = limitReader{r: r, n: max}
			if l.bufr == nil {
				l.bufr = bufio.NewReaderSize(&l.lim, 16<<10)
			} else {
				l.bufr.Reset(&l.lim)
			}
			r = l.bufr
			peek, _ = l.bufr.Peek(2)
		}
		if li == 0 && c == codingDeflate && !rawDeflate && isZlibHeader(peek) {
			usedZlib = true
		}
		var err error
		r, err = l.open(c, r, peek, rawDeflate && li == 0)
		if err != nil {
			return dst, d.classify(err, n, truncated, 0), usedZlib
		}
	}

	var total int64
	kept, zeros := 0, 0
	if d.sink == nil {
		d.sink = make([]byte, 32<<10)
	}
	for {
		var p []byte
		if kept < keep {
			want := min(keep-kept, 32<<10)
			if cap(dst)-len(dst) < want {
				dst = slices.Grow(dst, want)
			}
			p = dst[len(dst) : len(dst)+want]
		} else {
			p = d.sink
		}
		if rem := max - total; int64(len(p)) > rem {
			p = p[:rem]
		}
		if len(p) == 0 {
			// At the cap: one more byte means the body decodes to more.
			if k, _ := io.ReadFull(r, d.one[:]); k > 0 {
				res.flags |= flow.FlagDecompressionBomb
			}
			break
		}
		k, err := r.Read(p)
		if kept < keep {
			dst = dst[:len(dst)+k]
			kept += k
		}
		total += int64(k)
		if err == io.EOF {
			break
		}
		if err != nil {
			r := d.classify(err, n, truncated, total)
			r.flags |= res.flags
			return dst, r, usedZlib
		}
		if k == 0 {
			if zeros++; zeros > 100 {
				return dst, decodeResult{err: true}, usedZlib
			}
		}
	}
	res.decoded = total
	if d.limitHit(n) {
		res.flags |= flow.FlagDecompressionBomb
	}
	if total > int64(keep) {
		res.flags |= flow.FlagTruncated // Data holds a prefix of the decoded body
	}
	return dst, res, usedZlib
}

// classify turns a decoding error into a result: a limit reached in an
// intermediate layer or a zstd window over the limit is a bomb; running out
// of input in a body known to be truncated is expected; anything else is a
// decode error.
func (d *decoder) classify(err error, n int, truncated bool, total int64) decodeResult {
	res := decodeResult{decoded: total}
	switch {
	case d.limitHit(n) || errors.Is(err, errLimit):
		res.flags |= flow.FlagDecompressionBomb
	case errors.Is(err, zstd.ErrWindowSizeExceeded) || errors.Is(err, zstd.ErrDecoderSizeExceeded):
		// The frame declares a window (for single-segment frames: the
		// decoded size) beyond what we are willing to allocate.
		res.flags |= flow.FlagDecompressionBomb
	case truncated && isEOF(err):
	default:
		res.err = true
	}
	return res
}

func (d *decoder) limitHit(n int) bool {
	for li := 1; li < n; li++ {
		if d.layers[li].lim.hit {
			return true
		}
	}
	return false
}

func isEOF(err error) bool {
	// gzip, zlib, flate, brotli and zstd all report running out of input
	// as io.ErrUnexpectedEOF (an empty input as io.EOF).
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}
