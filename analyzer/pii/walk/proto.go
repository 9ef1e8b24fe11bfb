package walk

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
)

// Protocol Buffers without a schema: gRPC bodies (application/grpc,
// grpc+proto, grpc-web, grpc-web+proto: length-prefixed messages) and
// plain protobuf bodies (application/x-protobuf, protobuf). Each field is
// a leaf named by its field number, nested messages adding a segment:
// $.1, $.2.3 (field 3 of the message in field 2); repeated fields share
// their path, as JSON array elements do. A length-delimited field is a
// String when it is printable UTF-8, a nested message when it parses as
// one, and is skipped otherwise (bytes). Varints and fixed-width fields
// are Number leaves in decimal (unsigned: no schema says signed or
// zigzag). gRPC messages compressed with grpc-encoding are skipped: the
// encoding is in a header the walker does not see.

// GRPC walks a gRPC body (length-prefixed messages) with visit.
func (w *Walker) GRPC(body []byte, visit Visitor) error {
	w.init(visit)
	return w.grpc(body, "$")
}

func (w *Walker) grpc(b []byte, root string) error {
	for len(b) >= 5 {
		flag, n := b[0], binary.BigEndian.Uint32(b[1:5])
		b = b[5:]
		msg, cut := b, true
		if uint64(n) <= uint64(len(b)) {
			msg, b, cut = b[:n], b[n:], false
		} else {
			b = nil // the body was capped inside this message
		}
		if flag > 1 {
			return ErrSyntax // not gRPC framing
		}
		if flag == 1 {
			// Compressed: only gzip is read, and a message cut by the
			// body cap cannot be inflated.
			if cut || !strings.EqualFold(strings.TrimSpace(w.GRPCEncoding), "gzip") {
				continue
			}
			var ok bool
			if msg, ok = w.inflate(msg); !ok {
				continue
			}
			cut = len(msg) == MaxGRPCInflate // may end inside a field
		}
		w.setRoot(root)
		if !w.message(msg, 0, cut) {
			return w.err
		}
	}
	return nil
}

func (w *Walker) proto(b []byte, root string) error {
	w.setRoot(root)
	w.message(b, 0, true) // a plain body may be capped anywhere
	return w.err
}

// message visits the fields of one message; cut: b may end inside a
// field (the body was capped), which then ends the walk quietly. It
// returns false when the walk must stop.
func (w *Walker) message(b []byte, depth int, cut bool) bool {
	if depth >= w.MaxDepth {
		w.err = ErrDepth
		return false
	}
	plen := len(w.path)
	defer func() { w.path = w.path[:plen] }()
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			if !cut {
				w.err = ErrSyntax
			}
			return false
		}
		b = b[n:]
		w.path = w.path[:plen]
		w.appendSeg(".", strconv.AppendUint(w.num[:0], uint64(num), 10))
		switch typ {
		case protowire.VarintType, protowire.Fixed32Type, protowire.Fixed64Type:
			v, n := consumeNumber(typ, b)
			if n < 0 {
				return w.short(cut)
			}
			b = b[n:]
			if !w.emit(strconv.AppendUint(w.num[:0], v, 10), Number, false) {
				return false
			}
		case protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				// The body ends inside this value: what is there may
				// still be a (cut) string.
				if _, k := protowire.ConsumeVarint(b); cut && k > 0 && printable(b[k:]) && len(b) > k {
					w.emit(b[k:], String, true)
				}
				return w.short(cut)
			}
			b = b[n:]
			switch {
			case len(v) == 0:
			case printable(v):
				if !w.emit(v, String, false) {
					return false
				}
			case isMessage(v):
				if !w.message(v, depth+1, false) {
					return false
				}
			}
		default: // groups (deprecated) and reserved wire types
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return w.short(cut)
			}
			b = b[n:]
		}
		if w.stop {
			return false
		}
	}
	return true
}

// consumeNumber reads a varint, fixed32 or fixed64 value (unsigned: no
// schema says signed or zigzag); n < 0 when b ends inside it.
func consumeNumber(typ protowire.Type, b []byte) (v uint64, n int) {
	switch typ {
	case protowire.VarintType:
		return protowire.ConsumeVarint(b)
	case protowire.Fixed32Type:
		v32, n := protowire.ConsumeFixed32(b)
		return uint64(v32), n
	default:
		return protowire.ConsumeFixed64(b)
	}
}

// short ends a message whose last field is incomplete: quietly when the
// body was capped, as a syntax error otherwise.
func (w *Walker) short(cut bool) bool {
	if !cut {
		w.err = ErrSyntax
	}
	return false
}

// isMessage reports whether b parses as protobuf fields from end to end.
func isMessage(b []byte) bool {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 || typ == protowire.StartGroupType || typ == protowire.EndGroupType || typ > protowire.Fixed32Type {
			return false
		}
		b = b[n:]
		if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
			return false
		}
		b = b[n:]
	}
	return true
}

// printable reports valid UTF-8 without control bytes other than white
// space: text, not an encoded message or binary.
func printable(b []byte) bool {
	for i := 0; i < len(b); {
		c := b[i]
		if c < 0x80 {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' || c == 0x7f {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return false
		}
		i += size
	}
	return true
}

// MaxGRPCInflate bounds what one compressed gRPC message is inflated to:
// a decompression bomb costs at most this much work and memory.
const MaxGRPCInflate = 1 << 20

// inflate gunzips a compressed gRPC message into the walker's scratch, up
// to MaxGRPCInflate bytes; ok is false when it is not valid gzip.
func (w *Walker) inflate(msg []byte) ([]byte, bool) {
	zr, err := gzip.NewReader(bytes.NewReader(msg))
	if err != nil {
		return nil, false
	}
	w.zbuf.Reset()
	_, err = io.Copy(&w.zbuf, io.LimitReader(zr, MaxGRPCInflate))
	if err != nil {
		return nil, false
	}
	return w.zbuf.Bytes(), true
}
