package tcp

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/apitap/apitap/sensor/decode"
)

const request = "GET /api/v1/users?id=42&expand=orders HTTP/1.1\r\nHost: api.example.com\r\nAuthorization: Bearer abc.def.ghi\r\nAccept: */*\r\n\r\n"

func newTest(t *testing.T, cfg Config) (*Assembler, *recFactory, *tconn) {
	t.Helper()
	f := &recFactory{}
	a := NewAssembler(cfg, f)
	return a, f, newTConn(a)
}

// A message split at every byte offset into two segments reassembles to the
// same bytes whether the halves arrive in order or reversed.
func TestSplitEveryOffset(t *testing.T) {
	for _, reversed := range []bool{false, true} {
		for k := 1; k < len(request); k++ {
			a, f, tc := newTest(t, Config{})
			tc.handshake()
			first, second := func() { tc.data(ClientToServer, 0, request[:k]) }, func() { tc.data(ClientToServer, uint32(k), request[k:]) }
			if reversed {
				first, second = second, first
			}
			first()
			second()
			s := f.only(t)
			if got := s.c2s(); got != request {
				t.Fatalf("split %d reversed=%v: got %q", k, reversed, show(got))
			}
			checkInvariants(t, a)
			if st := a.Stats(); st.BufferedBytes != 0 || st.Gaps != 0 {
				t.Fatalf("split %d: buffered %d gaps %d", k, st.BufferedBytes, st.Gaps)
			}
			a.FlushAll(tc.ts)
			if !s.ended || s.reason != EndFlush {
				t.Fatalf("split %d: end %v %v", k, s.ended, s.reason)
			}
			f.check(t)
		}
	}
}

// Random segmentations, permutations, duplicates and partial overlaps, with
// ISNs chosen so that the stream crosses the 2^32 wrap, all reassemble to the
// original bytes without gaps.
func TestPermutations(t *testing.T) {
	isns := []uint32{0, 1, 1 << 31, 1<<31 - 700, 0xFFFFFFFF, 0xFFFFFFFF - 100, 0xFFFFFFFF - 4000, 0x7FFFFFFF}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, isn := range isns {
		for round := 0; round < 40; round++ {
			msg := make([]byte, 1+rng.IntN(6000))
			for i := range msg {
				msg[i] = byte(rng.Uint32())
			}
			type piece struct{ lo, hi int }
			var pieces []piece
			for lo := 0; lo < len(msg); {
				hi := min(len(msg), lo+1+rng.IntN(700))
				pieces = append(pieces, piece{lo, hi})
				lo = hi
			}
			// Exact duplicates and random overlapping ranges.
			for i, n := 0, rng.IntN(len(pieces)+1); i < n; i++ {
				pieces = append(pieces, pieces[rng.IntN(len(pieces))])
				lo := rng.IntN(len(msg))
				pieces = append(pieces, piece{lo, min(len(msg), lo+1+rng.IntN(900))})
			}
			rng.Shuffle(len(pieces), func(i, j int) { pieces[i], pieces[j] = pieces[j], pieces[i] })

			a, f, tc := newTest(t, Config{})
			f.ref[ServerToClient] = msg
			tc.isn[ServerToClient] = isn
			tc.handshake()
			for _, p := range pieces {
				tc.data(ServerToClient, uint32(p.lo), string(msg[p.lo:p.hi]))
				checkInvariants(t, a)
			}
			s := f.only(t)
			if got := s.s2c(); got != string(msg) {
				t.Fatalf("isn %#x round %d: %d bytes out of %d, gaps %d", isn, round, len(got), len(msg), a.Stats().Gaps)
			}
			st := a.Stats()
			if st.BufferedBytes != 0 || st.Gaps != 0 || a.holes.head != nil {
				t.Fatalf("isn %#x round %d: left buffered %d gaps %d", isn, round, st.BufferedBytes, st.Gaps)
			}
			f.check(t)
		}
	}
}

// Overlap policy: the first copy of a byte wins, whether it was delivered or
// only buffered when the other copy came.
func TestFirstCopyWins(t *testing.T) {
	type seg struct {
		off  uint32
		data string
	}
	cases := []struct {
		name string
		segs []seg
		want string
	}{
		{"retransmission after delivery", []seg{{0, "hello"}, {0, "HELLO"}}, "hello"},
		{"partial overlap of delivered bytes keeps the new tail", []seg{{0, "hello"}, {3, "LOxyz"}}, "helloxyz"},
		{"buffered copy wins over a later one", []seg{{5, "world"}, {5, "WORLD"}, {0, "hello"}}, "helloworld"},
		{"buffered copy wins over an in-order overlap", []seg{{5, "world"}, {0, "helloWORLD"}}, "helloworld"},
		{"in-order segment spanning buffered bytes keeps its tail", []seg{{5, "wo"}, {0, "helloWOrld!"}}, "helloworld!"},
		{"overlapping out-of-order segments", []seg{{6, "orld"}, {4, "OWOR"}, {0, "hell"}}, "hellOWorld"},
		{"segment covering two buffered ones fills between them", []seg{{2, "c"}, {5, "f"}, {1, "BCDEFGH"}, {0, "a"}}, "aBcDEfGH"},
		{"old segment entirely before the stream", []seg{{0, "abcdef"}, {1, "XY"}, {6, "gh"}}, "abcdefgh"},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			a, f, tc := newTest(t, Config{})
			tc.handshake()
			for _, s := range tt.segs {
				tc.data(ClientToServer, s.off, s.data)
				checkInvariants(t, a)
			}
			if got := f.only(t).c2s(); got != tt.want {
				t.Fatalf("got %q want %q", got, tt.want)
			}
			if st := a.Stats(); st.RetransBytes == 0 {
				t.Fatalf("retransmitted bytes not counted: %+v", st)
			}
			f.check(t)
		})
	}
}

func TestRetransmissionCounters(t *testing.T) {
	a, f, tc := newTest(t, Config{})
	tc.handshake()
	tc.data(ClientToServer, 0, "hello")
	tc.data(ClientToServer, 0, "hello") // pure retransmission
	tc.data(ClientToServer, 3, "loabc") // overlap: 2 old bytes
	tc.data(ClientToServer, 20, "zz")   // out of order
	tc.data(ClientToServer, 20, "zz")   // duplicate of buffered
	st := a.Stats()
	if st.RetransSegments != 2 || st.RetransBytes != 5+2+2 || st.Overlaps != 1 || st.OutOfOrderSegments != 1 {
		t.Fatalf("stats %+v", st)
	}
	if got := f.only(t).c2s(); got != "helloabc" {
		t.Fatalf("got %q", got)
	}
}

// Gaps: a segment never delivered is reported with its exact size, then the
// bytes behind it, whatever declares it lost.
func TestGaps(t *testing.T) {
	const gt = DefaultGapTimeout
	cases := []struct {
		name   string
		run    func(tc *tconn)
		want   string // client-to-server output before FlushAll
		reason EndReason
		check  func(t *testing.T, st Stats)
	}{
		{
			name: "peer ACK past the hole",
			run: func(tc *tconn) {
				tc.data(ClientToServer, 0, "hello")
				tc.data(ClientToServer, 10, "world")
				tc.ack(ServerToClient, 15)
			},
			want: "hello[gap:5]world", reason: EndFlush,
			check: func(t *testing.T, st Stats) {
				if st.GapBytesAck != 5 || st.Gaps != 1 || st.GapBytes != 5 {
					t.Fatalf("%+v", st)
				}
			},
		},
		{
			name: "peer ACK seen before the later data",
			run: func(tc *tconn) {
				tc.ack(ServerToClient, 15)
				tc.data(ClientToServer, 0, "hello")
				tc.data(ClientToServer, 10, "world")
			},
			want: "hello[gap:5]world", reason: EndFlush,
		},
		{
			name: "peer ACK inside the hole declares only what it proves",
			run: func(tc *tconn) {
				tc.data(ClientToServer, 0, "hello")
				tc.data(ClientToServer, 10, "world")
				tc.ack(ServerToClient, 7)
				tc.data(ClientToServer, 7, "abc")
			},
			want: "hello[gap:2]abcworld", reason: EndFlush,
		},
		{
			name: "ACK without later data waits",
			run: func(tc *tconn) {
				tc.data(ClientToServer, 0, "hello")
				tc.ack(ServerToClient, 15)
			},
			want: "hello", reason: EndFlush,
		},
		{
			name: "gap timeout on the capture clock",
			run: func(tc *tconn) {
				tc.data(ClientToServer, 0, "hello")
				tc.data(ClientToServer, 10, "world")
				tc.a.Advance(tc.ts + int64(gt) - 1)
				if tc.a.Stats().Gaps != 0 {
					panic("gap declared early")
				}
				tc.a.Advance(tc.ts + int64(gt))
			},
			want: "hello[gap:5]world", reason: EndFlush,
			check: func(t *testing.T, st Stats) {
				if st.GapBytesTimeout != 5 {
					t.Fatalf("%+v", st)
				}
			},
		},
		{
			name: "two holes time out one after the other",
			run: func(tc *tconn) {
				tc.data(ClientToServer, 0, "ab")
				tc.data(ClientToServer, 4, "ef")
				tc.data(ClientToServer, 8, "ij")
				tc.a.Advance(tc.ts + int64(gt))
				if tc.a.Stats().Gaps != 1 {
					panic("first hole not declared")
				}
				tc.a.Advance(tc.ts + 2*int64(gt))
			},
			want: "ab[gap:2]ef[gap:2]ij", reason: EndFlush,
		},
		{
			name: "RST delivers the buffered bytes after the gap",
			run: func(tc *tconn) {
				tc.data(ClientToServer, 0, "hello")
				tc.data(ClientToServer, 10, "world")
				tc.rst(ServerToClient, 0)
			},
			want: "hello[gap:5]world", reason: EndRST,
		},
		{
			name: "FIN behind a hole, ACK of the FIN declares it",
			run: func(tc *tconn) {
				tc.data(ClientToServer, 0, "hello")
				tc.fin(ClientToServer, 15)
				tc.fin(ServerToClient, 0)
				tc.ack(ServerToClient, 16)
			},
			want: "hello[gap:10]", reason: EndFIN,
		},
		{
			name: "segment never delivered, flush at the end",
			run: func(tc *tconn) {
				tc.data(ClientToServer, 0, "hello")
				tc.data(ClientToServer, 10, "world")
				tc.data(ClientToServer, 20, "!")
			},
			want: "hello", reason: EndFlush,
		},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			a, f, tc := newTest(t, Config{})
			tc.handshake()
			tt.run(tc)
			checkInvariants(t, a)
			s := f.only(t)
			if got := s.c2s(); got != tt.want {
				t.Fatalf("got %q want %q", got, tt.want)
			}
			if tt.check != nil {
				tt.check(t, a.Stats())
			}
			a.FlushAll(tc.ts)
			if s.reason != tt.reason || !s.ended {
				t.Fatalf("end %v %v, want %v", s.ended, s.reason, tt.reason)
			}
			f.check(t)
		})
	}
	// Flush gives up holes in order and reports each exactly.
	a, f, tc := newTest(t, Config{})
	tc.handshake()
	tc.data(ClientToServer, 0, "hello")
	tc.data(ClientToServer, 10, "world")
	tc.data(ClientToServer, 20, "!")
	a.FlushAll(tc.ts)
	if got, want := f.only(t).c2s(), "hello[gap:5]world[gap:5]!"; got != want {
		t.Fatalf("flush: got %q want %q", got, want)
	}
	if st := a.Stats(); st.GapBytesClose != 10 || st.Gaps != 2 || st.BufferedBytes != 0 || st.Conns != 0 {
		t.Fatalf("flush stats %+v", st)
	}
}

// Snaplen cuts: the captured part is delivered, then Gap(Missing).
func TestSnaplenMissing(t *testing.T) {
	cases := []struct {
		name string
		run  func(tc *tconn)
		want string
	}{
		{"in order", func(tc *tconn) {
			tc.missing(ClientToServer, 0, "hello", 5)
			tc.data(ClientToServer, 10, "world")
		}, "hello[gap:5]world"},
		{"out of order", func(tc *tconn) {
			tc.missing(ClientToServer, 10, "wo", 3)
			tc.data(ClientToServer, 15, "xyz")
			tc.data(ClientToServer, 0, "helloHELLO")
		}, "helloHELLOwo[gap:3]xyz"},
		{"full retransmission after the cut is dropped", func(tc *tconn) {
			tc.missing(ClientToServer, 0, "hello", 5)
			tc.data(ClientToServer, 0, "helloworld")
			tc.data(ClientToServer, 10, "!")
		}, "hello[gap:5]!"},
		{"nothing captured at all", func(tc *tconn) {
			tc.missing(ClientToServer, 0, "", 7)
			tc.data(ClientToServer, 7, "x")
		}, "[gap:7]x"},
		{"cut segment overlapping delivered bytes", func(tc *tconn) {
			tc.data(ClientToServer, 0, "hello")
			tc.missing(ClientToServer, 3, "lo", 4)
			tc.data(ClientToServer, 9, "!")
		}, "hello[gap:4]!"},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			a, f, tc := newTest(t, Config{})
			tc.handshake()
			tt.run(tc)
			checkInvariants(t, a)
			if got := f.only(t).c2s(); got != tt.want {
				t.Fatalf("got %q want %q", got, tt.want)
			}
			if a.Stats().GapBytesSnaplen == 0 {
				t.Fatal("snaplen gap not counted")
			}
			f.check(t)
		})
	}
}

func TestEndReasons(t *testing.T) {
	cfg := DefaultConfig()
	cases := []struct {
		name   string
		run    func(tc *tconn)
		reason EndReason
		// ended before FlushAll
		early bool
		check func(t *testing.T, st Stats)
	}{
		{"FIN both ways", func(tc *tconn) {
			tc.data(ClientToServer, 0, "GET")
			tc.fin(ClientToServer, 3)
			tc.data(ServerToClient, 0, "200")
			tc.fin(ServerToClient, 3)
		}, EndFIN, true, func(t *testing.T, st Stats) {
			if st.ClosedFIN != 1 || st.Conns != 1 {
				t.Fatalf("%+v", st)
			}
		}},
		{"FIN and FIN in one segment with data", func(tc *tconn) {
			tc.send(tc.pkt(ClientToServer, decode.FlagFIN|decode.FlagPSH, 0, "GET", 0))
			tc.send(tc.pkt(ServerToClient, decode.FlagFIN|decode.FlagPSH, 0, "200", 4))
		}, EndFIN, true, nil},
		{"FIN before the data it follows", func(tc *tconn) {
			tc.fin(ClientToServer, 3)
			tc.fin(ServerToClient, 0)
			tc.data(ClientToServer, 0, "GET")
		}, EndFIN, true, nil},
		{"RST", func(tc *tconn) {
			tc.data(ClientToServer, 0, "GET")
			tc.rst(ServerToClient, 0)
		}, EndRST, true, func(t *testing.T, st Stats) {
			if st.ClosedRST != 1 {
				t.Fatalf("%+v", st)
			}
		}},
		{"idle", func(tc *tconn) {
			tc.data(ClientToServer, 0, "GET")
			tc.a.Advance(tc.ts + int64(cfg.IdleTimeout) - 1)
			if tc.a.Stats().ClosedIdle != 0 {
				panic("early idle")
			}
			tc.a.Advance(tc.ts + int64(cfg.IdleTimeout))
		}, EndIdle, true, func(t *testing.T, st Stats) {
			if st.ClosedIdle != 1 || st.Conns != 0 {
				t.Fatalf("%+v", st)
			}
		}},
		{"one FIN then quiet", func(tc *tconn) {
			tc.data(ClientToServer, 0, "GET")
			tc.data(ServerToClient, 0, "200")
			tc.fin(ServerToClient, 3)
			tc.a.Advance(tc.ts + int64(cfg.HalfClosedTimeout))
		}, EndFIN, true, nil},
		{"flush", func(tc *tconn) {
			tc.data(ClientToServer, 0, "GET")
		}, EndFlush, false, nil},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			a, f, tc := newTest(t, cfg)
			tc.handshake()
			tt.run(tc)
			checkInvariants(t, a)
			s := f.only(t)
			if s.ended != tt.early {
				t.Fatalf("ended before flush: %v, want %v (%v)", s.ended, tt.early, s.events)
			}
			if tt.check != nil {
				tt.check(t, a.Stats())
			}
			a.FlushAll(tc.ts + int64(time.Hour))
			if s.reason != tt.reason {
				t.Fatalf("reason %v want %v", s.reason, tt.reason)
			}
			if st := a.Stats(); st.Conns != 0 || st.BufferedBytes != 0 {
				t.Fatalf("not empty after flush: %+v", st)
			}
			f.check(t)
		})
	}
}

// Connections without payload never reach the Factory; they time out on
// their own clocks.
func TestHalfOpenAndEmptyConnections(t *testing.T) {
	cfg := DefaultConfig()
	a, f, tc := newTest(t, cfg)
	tc.syn()
	if st := a.Stats(); st.Conns != 1 || st.ConnsOpened != 1 {
		t.Fatalf("%+v", st)
	}
	a.Advance(tc.ts + int64(cfg.HalfOpenTimeout) - 1)
	if a.Stats().Conns != 1 {
		t.Fatal("half-open expired early")
	}
	a.Advance(tc.ts + int64(cfg.HalfOpenTimeout))
	if st := a.Stats(); st.Conns != 0 || st.ClosedHalfOpen != 1 {
		t.Fatalf("%+v", st)
	}

	// A completed handshake without data is established: IdleTimeout.
	tc.ts += int64(time.Minute)
	tc.handshake()
	a.Advance(tc.ts + int64(cfg.HalfOpenTimeout))
	if a.Stats().Conns != 1 {
		t.Fatal("established connection expired as half-open")
	}
	a.Advance(tc.ts + int64(cfg.IdleTimeout))
	if st := a.Stats(); st.Conns != 0 || st.ClosedIdle != 1 {
		t.Fatalf("%+v", st)
	}
	if len(f.streams) != 0 {
		t.Fatalf("payload-less connections made %d streams", len(f.streams))
	}
	// Pure ACKs, FINs and RSTs of unknown connections open nothing.
	tc.ack(ClientToServer, 0)
	tc.fin(ClientToServer, 0)
	tc.rst(ClientToServer, 0)
	if st := a.Stats(); st.Conns != 0 || st.PacketsNoConn != 3 {
		t.Fatalf("%+v", st)
	}
}

func TestConnectionReuse(t *testing.T) {
	a, f, tc := newTest(t, Config{})
	tc.handshake()
	tc.data(ClientToServer, 0, "one")
	tc.fin(ClientToServer, 3)
	tc.fin(ServerToClient, 0)
	if len(f.streams) != 1 || !f.streams[0].ended || f.streams[0].reason != EndFIN {
		t.Fatalf("first connection not ended by FIN")
	}
	// Stray retransmissions during the linger are absorbed.
	tc.data(ClientToServer, 0, "one")
	tc.syn() // the old SYN again
	tc.ack(ServerToClient, 4)
	if st := a.Stats(); st.PacketsAbsorbed != 3 || len(f.streams) != 1 || st.ConnsOpened != 1 {
		t.Fatalf("strays not absorbed: %+v", st)
	}
	// A SYN with a new ISN starts a new connection at once.
	tc.isn = [2]uint32{777777, 888888}
	tc.handshake()
	tc.data(ClientToServer, 0, "two")
	if len(f.streams) != 2 || f.streams[1].c2s() != "two" || f.streams[1].info.Midstream {
		t.Fatalf("second connection: %d streams", len(f.streams))
	}
	// A new ISN on a live connection whose close was not seen: EndReused.
	tc.isn = [2]uint32{123, 456}
	tc.handshake()
	tc.data(ClientToServer, 0, "three")
	if !f.streams[1].ended || f.streams[1].reason != EndReused {
		t.Fatalf("second connection: ended %v reason %v", f.streams[1].ended, f.streams[1].reason)
	}
	if len(f.streams) != 3 || f.streams[2].c2s() != "three" {
		t.Fatalf("third connection missing")
	}
	// After the linger the key is forgotten: data opens a midstream one.
	tc.fin(ClientToServer, 5)
	tc.fin(ServerToClient, 0)
	a.Advance(tc.ts + int64(DefaultClosedLinger))
	if st := a.Stats(); st.Conns != 0 || st.ClosedFIN != 2 || st.ClosedReused != 1 {
		t.Fatalf("%+v", st)
	}
	tc.data(ClientToServer, 100, "four")
	if len(f.streams) != 4 || !f.streams[3].info.Midstream {
		t.Fatalf("midstream after linger")
	}
	f.check(t)
}

func TestClientServerDecision(t *testing.T) {
	cases := []struct {
		name           string
		open           string // "syn", "synack" or "" (midstream)
		first          Dir    // direction of the first data segment
		cport, sport   uint16 // ports of tc's client and server
		wantClientPort uint16
		wantMidstream  bool
	}{
		{"SYN sender is the client even on a low port", "syn", ClientToServer, 80, 50000, 80, false},
		{"SYN-ACK sender is the server", "synack", ServerToClient, 50000, 80, 50000, false},
		{"midstream: system port is the server", "", ClientToServer, 50000, 443, 50000, true},
		{"midstream: data from the server side first", "", ServerToClient, 50000, 443, 50000, true},
		{"midstream: common HTTP port is the server", "", ClientToServer, 1025, 3000, 1025, true},
		{"midstream: 8080 against an ephemeral port", "", ServerToClient, 55555, 8080, 55555, true},
		{"midstream: both well known, lower is the server", "", ClientToServer, 8443, 443, 8443, true},
		{"midstream: neither known, lower is the server", "", ClientToServer, 60001, 50000, 60001, true},
		{"midstream: equal ports, destination is the server", "", ClientToServer, 7777, 7777, 7777, true},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			a, f, tc := newTest(t, Config{})
			tc.cport, tc.sport = tt.cport, tt.sport
			switch tt.open {
			case "syn":
				tc.syn()
			case "synack":
				tc.synAck()
			}
			payload := [2]string{"req", "resp"}
			tc.data(tt.first, 0, payload[tt.first])
			tc.data(tt.first^1, 0, payload[tt.first^1])
			s := f.only(t)
			if s.info.ClientPort != tt.wantClientPort || s.info.Midstream != tt.wantMidstream {
				t.Fatalf("client port %d midstream %v", s.info.ClientPort, s.info.Midstream)
			}
			if s.info.ClientAddr != tc.cli || s.info.ServerAddr != tc.srv || s.info.ServerPort != tt.sport {
				t.Fatalf("endpoints %+v", s.info)
			}
			if s.c2s() != "req" || s.s2c() != "resp" {
				t.Fatalf("directions: c2s %q s2c %q", s.c2s(), s.s2c())
			}
			wantKey := Key{LoAddr: tc.cli, HiAddr: tc.srv, LoPort: tt.cport, HiPort: tt.sport}
			if s.info.Key != wantKey {
				t.Fatalf("key %+v", s.info.Key)
			}
			if st := a.Stats(); (st.ConnsMidstream == 1) != tt.wantMidstream {
				t.Fatalf("%+v", st)
			}
		})
	}
}

// A direction joined midstream starts at the peer's ACK when that is just
// before the first segment, so a reordered first segment is not lost.
func TestMidstreamStartsAtPeerAck(t *testing.T) {
	a, f, tc := newTest(t, Config{})
	tc.data(ClientToServer, 0, "GET / HTTP/1.1\r\n\r\n") // acks server offset 0
	tc.data(ServerToClient, 5, "world")
	tc.data(ServerToClient, 0, "hello")
	if got := f.only(t).s2c(); got != "helloworld" {
		t.Fatalf("got %q", got)
	}
	if a.Stats().Gaps != 0 {
		t.Fatal("gap")
	}
}

func TestPerConnCap(t *testing.T) {
	const capBytes = 1000 // 8 segments of 48+64 bytes
	a, f, tc := newTest(t, Config{MaxBufferedPerConn: capBytes})
	msg := make([]byte, 4000)
	for i := range msg {
		msg[i] = 'a' + byte(i%26)
	}
	f.ref[ClientToServer] = msg
	tc.handshake()
	tc.data(ClientToServer, 0, string(msg[:5]))
	// 50-byte segments with 50-byte holes between them.
	for off := 100; off+50 <= len(msg); off += 100 {
		tc.data(ClientToServer, uint32(off), string(msg[off:off+50]))
		checkInvariants(t, a)
	}
	st := a.Stats()
	if st.CapPerConnHits == 0 || st.GapBytesPerConnCap == 0 || st.BufferedPeak > capBytes {
		t.Fatalf("%+v", st)
	}
	s := f.only(t)
	if !strings.HasPrefix(s.c2s(), "abcde[gap:95]") {
		t.Fatalf("first hole not given up: %q", show(s.c2s()))
	}
	a.FlushAll(tc.ts)
	if st := a.Stats(); st.GapBytes != 3950-5-39*50 { // up to the end of the last segment sent
		t.Fatalf("gap bytes %d", st.GapBytes)
	}
	f.check(t)

	// A segment larger than the cap on its own is delivered directly after
	// a gap, never buffered.
	a, f, tc = newTest(t, Config{MaxBufferedPerConn: 100})
	tc.handshake()
	tc.data(ClientToServer, 10, strings.Repeat("x", 500))
	if got := f.only(t).c2s(); got != "[gap:10]"+strings.Repeat("x", 500) {
		t.Fatalf("got %q", show(got))
	}
	if st := a.Stats(); st.BufferedPeak != 0 || st.CapPerConnHits != 1 {
		t.Fatalf("%+v", st)
	}
}

func TestTotalCap(t *testing.T) {
	const capBytes = 600
	a := NewAssembler(Config{MaxBufferedTotal: capBytes}, nil)
	f := &recFactory{}
	a.factory = f
	conns := make([]*tconn, 3)
	for i := range conns {
		tc := newTConn(a)
		tc.cport = uint16(40000 + i)
		tc.handshake()
		tc.data(ClientToServer, 0, "ab")
		conns[i] = tc
	}
	// Each connection buffers two 10-byte segments behind a hole
	// (2 × 112 bytes); the third connection's second one breaks the cap.
	for i, tc := range conns {
		tc.data(ClientToServer, 10, "0123456789")
		tc.data(ClientToServer, 30, "0123456789")
		checkInvariants(t, a)
		if a.Stats().BufferedBytes > capBytes {
			t.Fatalf("conn %d: over the cap", i)
		}
	}
	st := a.Stats()
	if st.CapTotalHits == 0 || st.GapBytesTotalCap == 0 {
		t.Fatalf("%+v", st)
	}
	// The oldest hole (first connection's) was given up.
	if got := f.streams[0].c2s(); !strings.HasPrefix(got, "ab[gap:8]0123456789") {
		t.Fatalf("first connection: %q", got)
	}
	if got := f.streams[2].c2s(); got != "ab" {
		t.Fatalf("newest connection lost data: %q", got)
	}
	f.check(t)
}

// Flooding one connection with random out-of-order segments never holds
// more than the cap.
func TestBoundedUnderFlood(t *testing.T) {
	cfg := Config{MaxBufferedPerConn: 64 << 10, MaxBufferedTotal: 100 << 10}
	a, f, tc := newTest(t, cfg)
	rng := rand.New(rand.NewPCG(3, 4))
	msg := make([]byte, 1<<20)
	for i := range msg {
		msg[i] = byte(rng.Uint32())
	}
	f.ref[ClientToServer] = msg
	tc.handshake()
	for i := 0; i < 20000; i++ {
		off := 1 + rng.IntN(len(msg)-2000)
		n := 1 + rng.IntN(1500)
		tc.data(ClientToServer, uint32(off), string(msg[off:off+n]))
		if a.buffered > cfg.MaxBufferedPerConn {
			t.Fatalf("buffered %d", a.buffered)
		}
		if i%500 == 0 {
			checkInvariants(t, a)
		}
	}
	a.FlushAll(tc.ts)
	st := a.Stats()
	if st.BufferedPeak > uint64(cfg.MaxBufferedPerConn) || st.BufferedBytes != 0 || st.CapPerConnHits == 0 {
		t.Fatalf("%+v", st)
	}
	f.check(t)
}

func TestEviction(t *testing.T) {
	a, f, _ := newTest(t, Config{MaxConns: 4})
	est := make([]*tconn, 2)
	for i := range est {
		tc := newTConn(a)
		tc.cport = uint16(1000 + i)
		tc.handshake()
		tc.data(ClientToServer, 0, "GET")
		est[i] = tc
	}
	// A SYN flood evicts its own half-open connections, not the
	// established ones.
	for i := 0; i < 1000; i++ {
		tc := newTConn(a)
		tc.cli = addr4(192, 168, byte(i>>8), byte(i))
		tc.cport = uint16(2000 + i)
		tc.ts = est[1].ts + int64(i)
		tc.syn()
	}
	st := a.Stats()
	if st.EvictedEstablished != 0 || st.EvictedHalfOpen != 998 || st.Conns != 4 {
		t.Fatalf("%+v", st)
	}
	for i, s := range f.streams {
		if s.ended {
			t.Fatalf("established %d ended by the flood", i)
		}
	}
	// With only established connections, the least recently active goes.
	est[0].data(ClientToServer, 3, "x") // est[1] is now the least recent
	for i := 0; i < 2; i++ {
		tc := newTConn(a)
		tc.cport = uint16(3000 + i)
		tc.handshake()
		tc.data(ClientToServer, 0, "GET")
	}
	// Table: est0, est1, two new (the remaining half-open SYNs went first).
	tc := newTConn(a)
	tc.cport = 4000
	tc.handshake()
	tc.data(ClientToServer, 0, "GET")
	if !f.streams[1].ended || f.streams[1].reason != EndEvicted || f.streams[0].ended {
		t.Fatalf("LRU eviction wrong: %v %v", f.streams[0].events, f.streams[1].events)
	}
	if st := a.Stats(); st.EvictedEstablished != 1 || st.ClosedEvicted != 1001 {
		t.Fatalf("%+v", st)
	}
	checkInvariants(t, a)
	f.check(t)
}

// Lingering closed connections are the first to be evicted.
func TestEvictLingerFirst(t *testing.T) {
	a, f, _ := newTest(t, Config{MaxConns: 2})
	tc1 := newTConn(a)
	tc1.handshake()
	tc1.data(ClientToServer, 0, "a")
	tc1.rst(ClientToServer, 1)
	tc2 := newTConn(a)
	tc2.cport = 2
	tc2.handshake()
	tc2.data(ClientToServer, 0, "b")
	tc3 := newTConn(a)
	tc3.cport = 3
	tc3.syn()
	if st := a.Stats(); st.EvictedLinger != 1 || st.Conns != 2 || f.streams[1].ended {
		t.Fatalf("%+v", st)
	}
}

func TestDeclinedStream(t *testing.T) {
	a := NewAssembler(Config{}, nil)
	tc := newTConn(a)
	tc.handshake()
	tc.data(ClientToServer, 0, "hello")
	tc.data(ClientToServer, 10, "world")
	a.FlushAll(tc.ts)
	if st := a.Stats(); st.BytesDeclined != 10 || st.BytesDelivered != 0 || st.Streams != 0 {
		t.Fatalf("%+v", st)
	}
}

// The in-order path of an established connection must not allocate:
// data both ways, pure ACKs, and an Advance per packet.
func TestInOrderAllocs(t *testing.T) {
	a := NewAssembler(Config{}, countFactory{})
	tc := newTConn(a)
	tc.handshake()
	req := make([]byte, 200)
	resp := make([]byte, 1024)
	q := tc.pkt(ClientToServer, decode.FlagPSH, 0, "", 0)
	q.Payload = req
	r := tc.pkt(ServerToClient, decode.FlagPSH, 0, "", 0)
	r.Payload = resp
	ack := tc.pkt(ClientToServer, 0, 0, "", 0)
	var coff, soff uint32
	ts := tc.ts
	step := func() {
		ts += 1000
		q.Seq, q.Ack, q.TS = tc.isn[0]+1+coff, tc.isn[1]+1+soff, ts
		a.Packet(q)
		a.Advance(ts)
		coff += uint32(len(req))
		r.Seq, r.Ack, r.TS = tc.isn[1]+1+soff, tc.isn[0]+1+coff, ts
		a.Packet(r)
		a.Advance(ts)
		soff += uint32(len(resp))
		ack.Seq, ack.Ack, ack.TS = tc.isn[0]+1+coff, tc.isn[1]+1+soff, ts
		a.Packet(ack)
		a.Advance(ts)
	}
	step() // creates the Stream
	if n := testing.AllocsPerRun(1000, step); n != 0 {
		t.Fatalf("in-order path allocates: %v allocs per exchange", n)
	}
	if st := a.Stats(); st.Gaps != 0 || st.OutOfOrderSegments != 0 || st.RetransBytes != 0 {
		t.Fatalf("%+v", st)
	}
}

// countStream counts bytes without allocating.
type countStream struct{ n *int }

func (s countStream) Data(d Dir, b []byte, ts int64) { *s.n += len(b) }
func (s countStream) Gap(d Dir, n int, ts int64)     {}
func (s countStream) End(r EndReason, ts int64)      {}

type countFactory struct{}

var counted int

func (countFactory) New(*ConnInfo) Stream { return countStream{&counted} }

func TestConfig(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	if err := (Config{}).Validate(); err != nil {
		t.Fatal(err)
	}
	bad := Config{MaxConns: -1, IdleTimeout: -time.Second, MaxBufferedPerConn: 2 << 30}
	err := bad.Validate()
	if err == nil || !strings.Contains(err.Error(), "MaxConns") || !strings.Contains(err.Error(), "IdleTimeout") || !strings.Contains(err.Error(), "MaxBufferedPerConn") {
		t.Fatalf("Validate: %v", err)
	}
	a := NewAssembler(Config{MaxConns: 7}, nil)
	if a.cfg.MaxConns != 7 || a.cfg.IdleTimeout != DefaultIdleTimeout || a.cfg.MaxBufferedTotal != DefaultMaxBufferedTotal {
		t.Fatalf("defaults not applied: %+v", a.cfg)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("NewAssembler accepted an invalid config")
		}
	}()
	NewAssembler(bad, nil)
}

// Garbage segments never panic and never break the invariants.
func TestHostileInput(t *testing.T) {
	a, f, tc := newTest(t, Config{MaxBufferedPerConn: 4096, MaxBufferedTotal: 8192, MaxConns: 16})
	rng := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 200000; i++ {
		p := tc.pkt(Dir(rng.IntN(2)), uint8(rng.Uint32()), 0, "", -1)
		p.Seq = rng.Uint32()
		p.Ack = rng.Uint32()
		if rng.IntN(4) == 0 {
			p.Seq = tc.isn[0] + uint32(rng.IntN(3000))
		}
		p.Payload = make([]byte, rng.IntN(100))
		p.Missing = rng.IntN(200) - 50
		if rng.IntN(8) == 0 {
			p.SrcPort = uint16(rng.IntN(40))
		}
		tc.ts += int64(rng.IntN(int(time.Second)))
		p.TS = tc.ts
		a.Packet(p)
		if rng.IntN(10) == 0 {
			a.Advance(tc.ts)
		}
		if i%1000 == 0 {
			checkInvariants(t, a)
		}
	}
	a.FlushAll(tc.ts)
	checkInvariants(t, a)
	for i, s := range f.streams {
		for _, e := range s.errs {
			t.Fatalf("stream %d: %s", i, e)
		}
		if !s.ended {
			t.Fatalf("stream %d not ended", i)
		}
	}
	if st := a.Stats(); st.Conns != 0 || st.BufferedBytes != 0 {
		t.Fatalf("%+v", st)
	}
}

// ptrStream records where delivered bytes live.
type ptrStream struct {
	ptrs []*byte
	ts   []int64
}

func (s *ptrStream) Data(d Dir, b []byte, ts int64) {
	s.ptrs = append(s.ptrs, unsafe.SliceData(b))
	s.ts = append(s.ts, ts)
}
func (s *ptrStream) Gap(d Dir, n int, ts int64) {}
func (s *ptrStream) End(r EndReason, ts int64)  {}
func (s *ptrStream) New(info *ConnInfo) Stream  { return s }

// In-order bytes are handed over straight from the packet (no copy);
// reordered bytes carry the timestamp of the segment that filled the hole.
func TestZeroCopyAndTimestamps(t *testing.T) {
	s := &ptrStream{}
	a := NewAssembler(Config{}, s)
	tc := newTConn(a)
	tc.handshake()
	p1 := tc.pkt(ClientToServer, decode.FlagPSH, 0, "hello", 0)
	tc.send(p1)
	p2 := tc.pkt(ClientToServer, decode.FlagPSH, 3, "loworld", 0) // overlap: tail only
	tc.send(p2)
	p4 := tc.pkt(ClientToServer, decode.FlagPSH, 15, "later", 0) // buffered
	tc.send(p4)
	p3 := tc.pkt(ClientToServer, decode.FlagPSH, 10, "12345", 0) // fills the hole
	tc.send(p3)
	if len(s.ptrs) != 4 {
		t.Fatalf("%d Data calls", len(s.ptrs))
	}
	if s.ptrs[0] != &p1.Payload[0] || s.ptrs[1] != &p2.Payload[2] || s.ptrs[2] != &p3.Payload[0] {
		t.Fatal("in-order bytes were copied")
	}
	if s.ptrs[3] == &p4.Payload[0] {
		t.Fatal("reordered bytes alias the packet")
	}
	if s.ts[3] != p3.TS {
		t.Fatalf("reordered bytes delivered at %d, want the filling segment's %d", s.ts[3], p3.TS)
	}
}
