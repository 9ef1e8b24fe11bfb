package h2

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"golang.org/x/net/http2"
)

// grpcTraffic is one direction of gRPC-like traffic written by x/net's
// Framer: a few unary calls on one connection (HEADERS, DATA, trailers,
// WINDOW_UPDATE, PING), without the preface: what a sensor joining later
// sees.
func grpcTraffic(calls int) []byte {
	c := newConv(false)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range calls {
		id := uint32(2*i + 1)
		c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, EndHeaders: true,
			BlockFragment: c.block(":method", "POST", ":path", fmt.Sprintf("/shop.Orders/Get%d", i%3), ":authority", "orders:50051", "content-type", "application/grpc", "te", "trailers")})
		msg := make([]byte, 5+r.IntN(3000))
		for k := range msg {
			msg[k] = byte(r.Uint32())
		}
		c.fr.WriteData(id, false, msg)
		c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, EndHeaders: true, EndStream: true,
			BlockFragment: c.block("grpc-status", "0")})
		if i%4 == 3 {
			c.fr.WriteWindowUpdate(0, uint32(len(msg)))
			c.fr.WritePing(false, [8]byte{byte(i)})
		}
	}
	return c.buf.Bytes()
}

func syncFeed(b []byte, piece int) bool {
	var s Sync
	for len(b) > 0 {
		n := min(piece, len(b))
		if s.Feed(b[:n]) {
			return true
		}
		b = b[n:]
	}
	return false
}

// TestSyncJoins: joined at any byte of the stream and fed in pieces of
// any size, HTTP/2 is recognised.
func TestSyncJoins(t *testing.T) {
	b := grpcTraffic(40)
	for off := 0; off < 4000; off += 7 {
		for _, piece := range []int{1, 3, 9, 100, 1448, 65536} {
			if !syncFeed(b[off:], piece) {
				t.Fatalf("joined at byte %d, pieces of %d: not recognised", off, piece)
			}
		}
	}
	// Frames larger than SETTINGS_MAX_FRAME_SIZE's default chain too (a
	// chain starts at a frame within the default: here the HEADERS).
	c := newConv(false)
	for i := range 4 {
		id := uint32(2*i + 1)
		c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, EndHeaders: true, BlockFragment: c.block(":method", "PUT", ":path", "/upload")})
		c.fr.WriteData(id, false, bytes.Repeat([]byte{byte(i)}, 100<<10))
		c.fr.WriteData(id, true, bytes.Repeat([]byte{byte(i)}, 100<<10))
	}
	if !syncFeed(c.buf.Bytes()[50:], 1448) {
		t.Error("streams of 100 KiB DATA frames: not recognised")
	}
}

// TestSyncGap: a gap breaks the chain, and the chain is found again after.
func TestSyncGap(t *testing.T) {
	b := grpcTraffic(40)
	var s Sync
	first := b[:2*9+40] // too short for four headers
	if s.Feed(first) {
		t.Fatal("recognised from too few frames")
	}
	s.Gap()
	if s.run != 0 || s.locked {
		t.Fatalf("Gap left the chain: %+v", s)
	}
	if !s.Feed(b[5000:]) {
		t.Fatal("not recognised after a gap")
	}
	s.Gap()
	if !s.Feed(nil) {
		t.Fatal("a confirmed Sync must stay confirmed")
	}
}

// TestSyncRejects: other traffic is never taken for HTTP/2: random bytes,
// HTTP/1.1, TLS records, and HTTP/2 cut so that fewer than four frames
// remain.
func TestSyncRejects(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	random := make([]byte, 4<<20)
	for i := range random {
		random[i] = byte(r.Uint32())
	}
	var h1 bytes.Buffer
	for i := range 2000 {
		fmt.Fprintf(&h1, "GET /api/v1/items/%d HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n\x00\x00\x01\x04\x00", i)
	}
	var tlsRecs bytes.Buffer
	for i := range 2000 {
		n := 16 + r.IntN(16000)
		tlsRecs.Write([]byte{0x17, 0x03, 0x03, byte(n >> 8), byte(n)})
		tlsRecs.Write(random[i : i+n])
	}
	short := grpcTraffic(1)
	for name, b := range map[string][]byte{"random": random, "http1": h1.Bytes(), "tls": tlsRecs.Bytes(), "three frames": short[len(short)-3*9-8:]} {
		for _, piece := range []int{1, 1448, len(b)} {
			if syncFeed(b, piece) {
				t.Errorf("%s (pieces of %d): taken for HTTP/2", name, piece)
			}
		}
	}
}

// TestSyncAllocs: following a connection allocates nothing.
func TestSyncAllocs(t *testing.T) {
	b := random(64 << 10)
	var s Sync
	if n := testing.AllocsPerRun(50, func() { s = Sync{}; s.Feed(b) }); n != 0 {
		t.Errorf("%v allocations per Feed", n)
	}
}

func random(n int) []byte {
	r := rand.New(rand.NewPCG(3, 3))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// BenchmarkSync is the cost of the search on what a sensor joining
// connections midstream mostly sees: TLS records (random bytes) and, for
// comparison, HTTP/2 frames being followed.
func BenchmarkSync(b *testing.B) {
	for name, data := range map[string][]byte{"random": random(64 << 10), "h2": grpcTraffic(40)} {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				var s Sync
				for p := data; len(p) > 0; {
					n := min(1448, len(p))
					s.Feed(p[:n])
					p = p[n:]
				}
			}
		})
	}
}

type frameLog []string

func (l *frameLog) Frame(typ, flags byte, stream uint32) {
	*l = append(*l, fmt.Sprintf("%d/%d/%d", typ, flags, stream))
}

// TestSyncFollow: once confirmed, every frame header from the chain's
// start is handed over exactly once and in order: what is visited is the
// true sequence of frames (read by x/net's Framer) from some frame on,
// to the end; nothing before confirmation, nothing twice.
func TestSyncFollow(t *testing.T) {
	b := grpcTraffic(40)
	var truth []string
	starts := map[int]int{} // byte offset of a frame header → its index
	fr := http2.NewFramer(nil, bytes.NewReader(b))
	for off := 0; ; {
		f, err := fr.ReadFrame()
		if err != nil {
			break
		}
		h := f.Header()
		starts[off] = len(truth)
		truth = append(truth, fmt.Sprintf("%d/%d/%d", h.Type, h.Flags, h.StreamID))
		off += 9 + int(h.Length)
	}
	late := 0
	for off := 0; off < 6000; off += 13 {
		for _, piece := range []int{1, 5, 700, 1448, 1 << 20} {
			var s Sync
			var got frameLog
			for p := b[off:]; len(p) > 0; {
				n := min(piece, len(p))
				s.Follow(p[:n], &got)
				p = p[n:]
			}
			if len(got) == 0 {
				t.Fatalf("joined at %d, pieces of %d: nothing visited", off, piece)
			}
			k := len(truth) - len(got)
			if k < 0 || !slices.Equal(got, truth[k:]) {
				t.Fatalf("joined at %d, pieces of %d: visited %d frames, not a suffix of the %d true ones", off, piece, len(got), len(truth))
			}
			// Not before the first whole frame after the join (a false
			// chain start in a payload may make it later).
			first := -1
			for o := off; o < len(b) && first < 0; o++ {
				if i, ok := starts[o]; ok {
					first = i
				}
			}
			if k < first {
				t.Fatalf("joined at %d, pieces of %d: visits start at frame %d, before the first whole frame %d", off, piece, k, first)
			}
			late = max(late, k-first)
		}
	}
	t.Logf("visits started at most %d frames after the first whole one", late)
}
