// Package walk visits every leaf of a message part (a JSON, NDJSON, form,
// multipart, XML, gRPC/protobuf or text body, a query string, a Cookie header) with its key
// path, in one pass over the bytes and without allocating per leaf, so that
// the PII classifier can test each value with its key as context (a key
// path is the JSON equivalent of a keyword window).
//
// Paths aggregate per field, not per occurrence: array indexes collapse to
// "[]", so every element of $.users[] shares one path and findings can be
// counted per (endpoint, path). Keys are written verbatim (unescaped, not
// quoted): a key holding '.' or '[' makes a path ambiguous, which costs a
// little precision in aggregation and nothing else.
//
//	JSON, NDJSON        $.user.addresses[].street   ($ for a root scalar)
//	form, query         $.email, $.user.email (user[email]), $.ids[] (ids[]=1, ids[0]=1)
//	multipart           $.<part name> (+ the JSON path inside a JSON part)
//	cookies             $.<cookie name>
//	XML                 /Envelope/Body/GetUserResponse/email, …/email/@type
//	gRPC, protobuf      $.1.2 (field numbers: no schema; proto.go)
//	text                $
//
// Everything is bounded: nesting depth, path bytes, leaves per body and
// bytes per leaf value (Walker's fields); a Walker keeps its scratch between
// calls, so a warm Walker allocates nothing.
package walk

import (
	"bytes"
	"errors"
)

// Leaf kinds.
const (
	String uint8 = iota + 1 // a JSON string, a form/query/cookie/multipart value, XML text or attribute
	Number                  // the raw JSON number text
	Bool                    // true or false
	Null                    // null
	Text                    // a chunk of a free-text body
)

// Leaf is one value. Path and Value alias the body or the Walker's scratch:
// they are valid only during the Visitor call, copy what must outlive it.
type Leaf struct {
	Path  []byte
	Value []byte
	Kind  uint8
	// Cut is set when Value is not the whole value: the body ended inside
	// it (a capped body) or it is longer than MaxValue. A checksum
	// validator must not call a cut value invalid, nor valid.
	Cut bool
}

// Visitor is called once per leaf; returning false stops the walk (with a
// nil error).
type Visitor func(l *Leaf) bool

// Defaults for the Walker's zero fields.
const (
	DefaultMaxDepth  = 64
	DefaultMaxPath   = 512
	DefaultMaxLeaves = 10000
	DefaultMaxValue  = 64 << 10
)

var (
	// ErrSyntax: the body is malformed at some point; the leaves before
	// the fault were visited.
	ErrSyntax = errors.New("walk: malformed body")
	// ErrDepth: the body nests deeper than MaxDepth; the leaves before were visited.
	ErrDepth = errors.New("walk: nesting too deep")
	// ErrLeaves: the body has more than MaxLeaves leaves; the first MaxLeaves were visited.
	ErrLeaves = errors.New("walk: too many leaves")
)

// Walker holds reusable scratch. It is not safe for concurrent use; use one
// per goroutine. The zero value uses the defaults.
type Walker struct {
	MaxDepth  int // containers (JSON) or elements (XML) deeper than this stop the walk with ErrDepth
	MaxPath   int // path bytes; a longer path is cut (a key is cut to fit, deeper segments are dropped)
	MaxLeaves int // leaves per call; more stop the walk with ErrLeaves
	MaxValue  int // value bytes per leaf; a longer value is cut (Leaf.Cut); text bodies are chunked at this size
	// CollapseIDs writes JSON object keys that are identifiers rather
	// than names — numbers, versions and dates ("1.6.0", "2024-05-01"),
	// UUIDs, long hex — as "*", so a map keyed by id aggregates like an
	// array: $.versions.*.maintainers[].email, not one path per version.
	CollapseIDs bool
	// GRPCEncoding is the grpc-encoding of the gRPC body walked next:
	// messages marked compressed are walked when it is "gzip" (inflated
	// up to MaxGRPCInflate bytes each), skipped otherwise.
	GRPCEncoding string

	path   []byte
	buf    []byte       // unescaped values
	nbuf   []byte       // decoded names
	num    [24]byte     // a protobuf field number or number value in decimal
	zbuf   bytes.Buffer // an inflated gRPC message
	stack  []frame
	leaf   Leaf
	fn     Visitor
	leaves int
	stop   bool // the visitor returned false
	err    error
}

type frame struct {
	plen int32 // path length before this container's segment
	arr  bool
	cut  bool // XML: the element's name segment was cut by MaxPath
}

func (w *Walker) init(fn Visitor) {
	w.fn = fn
	if w.MaxDepth <= 0 {
		w.MaxDepth = DefaultMaxDepth
	}
	if w.MaxPath <= 0 {
		w.MaxPath = DefaultMaxPath
	}
	if w.MaxLeaves <= 0 {
		w.MaxLeaves = DefaultMaxLeaves
	}
	if w.MaxValue <= 0 {
		w.MaxValue = DefaultMaxValue
	}
	if cap(w.path) < w.MaxPath {
		w.path = make([]byte, 0, w.MaxPath)
	}
	if cap(w.stack) < w.MaxDepth+1 {
		w.stack = make([]frame, 0, w.MaxDepth+1)
	}
	w.path = w.path[:0]
	w.stack = w.stack[:0]
	w.leaves = 0
	w.stop = false
	w.err = nil
}

// emit visits one leaf; it returns false when the walk must stop (the
// visitor said so, or the leaf cap is reached, recorded in w.err).
func (w *Walker) emit(v []byte, kind uint8, cut bool) bool {
	if w.leaves >= w.MaxLeaves {
		w.err = ErrLeaves
		return false
	}
	w.leaves++
	if len(v) > w.MaxValue {
		v, cut = v[:w.MaxValue], true
	}
	// Field by field, not w.leaf = Leaf{...}: the composite literal is
	// built on the stack and copied with 16-byte moves that read across
	// two 8-byte stores, a store-forwarding stall on every leaf.
	l := &w.leaf
	l.Path, l.Value, l.Kind, l.Cut = w.path, v, kind, cut
	if !w.fn(&w.leaf) {
		w.stop = true
		return false
	}
	return true
}

// appendSeg appends sep and seg to the path, cutting to MaxPath; it reports
// whether seg fit whole.
// idKey reports an object key that is an identifier (Walker.CollapseIDs).
func idKey(k []byte) bool {
	if len(k) == 0 {
		return false
	}
	if k[0] >= '0' && k[0] <= '9' {
		// numbers, versions (1.6.0, 2.0.0-beta.1), dates, numeric ids;
		// not names such as 2fa or 3d_secure
		digits, sep, nd := true, false, 0
		for _, c := range k {
			switch {
			case c >= '0' && c <= '9':
				nd++
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '+' || c == '_':
				digits = false
			case c == '.' || c == '-' || c == ':':
				sep = true
			default:
				return false
			}
		}
		return digits || sep || len(k) >= 8 && 2*nd >= len(k)
	}
	if len(k) < 16 {
		return false
	}
	for _, c := range k { // long hex, UUIDs with a letter first
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == '-') {
			return false
		}
	}
	return true
}

func (w *Walker) appendSeg(sep string, seg []byte) bool {
	room := w.MaxPath - len(w.path)
	if room < len(sep)+1 && !(len(seg) == 0 && room >= len(sep)) {
		return false
	}
	w.path = append(w.path, sep...)
	room -= len(sep)
	if len(seg) > room {
		w.path = append(w.path, seg[:room]...)
		return false
	}
	w.path = append(w.path, seg...)
	return true
}

// setRoot starts the path at root (cut to MaxPath).
func (w *Walker) setRoot(root string) {
	w.path = w.path[:0]
	if len(root) > w.MaxPath {
		root = root[:w.MaxPath]
	}
	w.path = append(w.path, root...)
}
