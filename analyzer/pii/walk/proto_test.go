package walk

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// pb builds a message: pairs of field number and value (string: a
// length-delimited string, []byte: a nested message or bytes, uint64: a
// varint, uint32: fixed32).
func pb(kv ...any) []byte {
	var b []byte
	for i := 0; i < len(kv); i += 2 {
		num := protowire.Number(kv[i].(int))
		switch v := kv[i+1].(type) {
		case string:
			b = protowire.AppendTag(b, num, protowire.BytesType)
			b = protowire.AppendString(b, v)
		case []byte:
			b = protowire.AppendTag(b, num, protowire.BytesType)
			b = protowire.AppendBytes(b, v)
		case uint64:
			b = protowire.AppendTag(b, num, protowire.VarintType)
			b = protowire.AppendVarint(b, v)
		case uint32:
			b = protowire.AppendTag(b, num, protowire.Fixed32Type)
			b = protowire.AppendFixed32(b, v)
		}
	}
	return b
}

// grpcFrame prefixes a message as gRPC does (flag, big-endian length).
func grpcFrame(compressed bool, msg []byte) []byte {
	b := make([]byte, 5, 5+len(msg))
	if compressed {
		b[0] = 1
	}
	binary.BigEndian.PutUint32(b[1:], uint32(len(msg)))
	return append(b, msg...)
}

func leaves(t *testing.T, w *Walker, ctype string, body []byte) (string, error) {
	var out []string
	err := w.Body(ctype, body, func(l *Leaf) bool {
		kind := map[uint8]string{String: "s", Number: "n"}[l.Kind]
		cut := ""
		if l.Cut {
			cut = "~"
		}
		out = append(out, fmt.Sprintf("%s=%s%s:%s", l.Path, kind, cut, l.Value))
		return true
	})
	return strings.Join(out, " "), err
}

func TestProtobuf(t *testing.T) {
	user := pb(1, "alice@example.com", 2, pb(1, "4111111111111111", 2, uint64(12)), 3, uint64(42), 4, "tag-a", 4, "tag-b",
		5, []byte{0xff, 0x00, 0x01}, 6, uint32(7), 7, "")
	want := "$.1=s:alice@example.com $.2.1=s:4111111111111111 $.2.2=n:12 $.3=n:42 $.4=s:tag-a $.4=s:tag-b $.6=n:7"
	var w Walker
	for _, ct := range []string{"application/grpc", "application/grpc+proto", "application/grpc-web"} {
		// Two messages in one body (a server stream), then a compressed
		// one, skipped.
		body := append(append(grpcFrame(false, user), grpcFrame(false, pb(1, "bob@example.org"))...), grpcFrame(true, pb(1, "x"))...)
		got, err := leaves(t, &w, ct, body)
		if err != nil || got != want+" $.1=s:bob@example.org" {
			t.Fatalf("%s: %v\n%s\nwant\n%s", ct, err, got, want)
		}
	}
	got, err := leaves(t, &w, "application/x-protobuf", user)
	if err != nil || got != want {
		t.Fatalf("protobuf: %v\n%s", err, got)
	}
	// Capped inside the second message: what is there, the cut string
	// marked.
	body := append(grpcFrame(false, pb(9, "first")), grpcFrame(false, pb(1, "carol@example.net", 2, "second"))...)
	got, err = leaves(t, &w, "application/grpc", body[:len(body)-3])
	if err != nil || got != "$.9=s:first $.1=s:carol@example.net $.2=s~:sec" {
		t.Fatalf("capped: %v %s", err, got)
	}
	// Not gRPC framing, and a malformed message: errors after what was read.
	if _, err := leaves(t, &w, "application/grpc", []byte{7, 0, 0, 0, 1, 0}); err != ErrSyntax {
		t.Fatalf("bad flag: %v", err)
	}
	if got, err := leaves(t, &w, "application/grpc", grpcFrame(false, append(pb(1, "ok"), 0x0a, 0x09, 'x'))); err != ErrSyntax || got != "$.1=s:ok" {
		t.Fatalf("malformed: %v %s", err, got)
	}
	// Depth is bounded.
	deep := pb(1, "leaf")
	for range 10 {
		deep = pb(1, deep)
	}
	d := Walker{MaxDepth: 4}
	if _, err := leaves(t, &d, "application/x-protobuf", deep); err != ErrDepth {
		t.Fatalf("depth: %v", err)
	}
}

// A warm walker allocates nothing per protobuf body.
func TestProtobufAllocs(t *testing.T) {
	body := grpcFrame(false, pb(1, "alice@example.com", 2, pb(1, "4111111111111111", 2, uint64(12)), 3, uint64(42)))
	var w Walker
	n := 0
	visit := func(l *Leaf) bool { n++; return true }
	w.Body("application/grpc", body, visit)
	if a := testing.AllocsPerRun(100, func() { w.Body("application/grpc", body, visit) }); a != 0 || n != 4*102 {
		t.Fatalf("%.1f allocations per body, %d leaves", a, n)
	}
}

func FuzzProto(f *testing.F) {
	f.Add(grpcFrame(false, pb(1, "alice@example.com", 2, pb(1, "x", 2, uint64(3)))))
	f.Add(pb(1, pb(2, pb(3, "deep")), 5, uint32(9)))
	f.Add([]byte{0, 0, 0, 0, 9, 0x0a, 0x07, 'a'})
	f.Add(grpcFrame(true, gz(pb(1, "x@example.com"))))
	f.Fuzz(func(t *testing.T, data []byte) {
		var out []got
		w := Walker{MaxDepth: 3, MaxPath: 10, MaxValue: 5, MaxLeaves: 4, GRPCEncoding: "gzip"}
		w.Body("application/grpc", data, boundCheck(t, &w, "$", &out))
		out = out[:0]
		w.Body("application/x-protobuf", data, boundCheck(t, &w, "$", &out))
	})
}

func gz(b []byte) []byte {
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	zw.Write(b)
	zw.Close()
	return out.Bytes()
}

// Compressed gRPC messages are read when the body's grpc-encoding is gzip
// (inflated within MaxGRPCInflate: a bomb is cut, not followed), skipped
// otherwise.
func TestGRPCCompressed(t *testing.T) {
	body := append(grpcFrame(true, gz(pb(1, "dave@example.com"))), grpcFrame(false, pb(2, "plain"))...)
	var w Walker
	got, err := leaves(t, &w, "application/grpc", body)
	if err != nil || got != "$.2=s:plain" {
		t.Fatalf("no encoding: %v %s", err, got)
	}
	w.GRPCEncoding = "gzip"
	got, err = leaves(t, &w, "application/grpc", body)
	if err != nil || got != "$.1=s:dave@example.com $.2=s:plain" {
		t.Fatalf("gzip: %v %s", err, got)
	}
	// Not gzip after all: skipped, the next message still read.
	got, err = leaves(t, &w, "application/grpc", append(grpcFrame(true, []byte("not gzip")), grpcFrame(false, pb(2, "plain"))...))
	if err != nil || got != "$.2=s:plain" {
		t.Fatalf("bad gzip: %v %s", err, got)
	}
	// A bomb: 64 MiB of one repeated field inflates to MaxGRPCInflate only.
	field := pb(1, strings.Repeat("x", 1000))
	bomb := gz(bytes.Repeat(field, 64<<10))
	n := 0
	w.MaxLeaves = 1 << 20
	if err := w.Body("application/grpc", grpcFrame(true, bomb), func(l *Leaf) bool { n++; return true }); err != nil {
		t.Fatalf("bomb: %v", err)
	}
	if n == 0 || n > MaxGRPCInflate/len(field)+1 || w.zbuf.Cap() > 2*MaxGRPCInflate {
		t.Fatalf("bomb: %d leaves, buffer %d", n, w.zbuf.Cap())
	}
}

// The three numeric wire types are Number leaves in unsigned decimal.
func TestProtobufNumbers(t *testing.T) {
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, 300)
	b = protowire.AppendTag(b, 2, protowire.Fixed32Type)
	b = protowire.AppendFixed32(b, 4000000000)
	b = protowire.AppendTag(b, 3, protowire.Fixed64Type)
	b = protowire.AppendFixed64(b, 1<<63)
	var w Walker
	got, err := leaves(t, &w, "application/x-protobuf", b)
	if err != nil || got != "$.1=n:300 $.2=n:4000000000 $.3=n:9223372036854775808" {
		t.Fatalf("%v %s", err, got)
	}
	if got, err := leaves(t, &w, "application/grpc", grpcFrame(false, b[:len(b)-3])); err != ErrSyntax || got != "$.1=n:300 $.2=n:4000000000" {
		t.Fatalf("a fixed64 cut short: %v %s", err, got)
	}
}
