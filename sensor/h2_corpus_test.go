package sensor_test

import (
	"bytes"
	"errors"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/gopacket/pcapgo"

	"github.com/apitap/apitap/flow"
	"github.com/apitap/apitap/internal/encap"
	"github.com/apitap/apitap/internal/testutil"
)

// The HTTP/2 captures of the corpus (cleartext, prior knowledge) against
// tshark: testdata/golden-h2/*.tsv hold, per request HEADERS frame tshark
// decoded, its :method, :path, :authority and the final :status of the same
// stream (made by testdata/golden-h2/tshark-h2.py with tshark 4.0; pushed
// streams have no request and no row). apitap must report each of them as
// one exchange, and nothing else but the server's pushed responses (as
// no_request records).
// h2Allowed are flags a capture's records may carry, and why.
var h2Allowed = map[string]flow.Flags{
	// The client's HEADERS lacks END_STREAM (the flag is on a
	// CONTINUATION, where it means nothing): the request stream never
	// ends, and the server resets it after answering.
	"suricata-verify__http2-continuation__input.pcap": flow.FlagIncomplete,
}

func TestHTTP2AgainstTshark(t *testing.T) {
	corpus := testutil.Corpus(t)
	dir := filepath.Join(testutil.RepoRoot(t), "sensor", "testdata", "golden-h2")
	files, _ := filepath.Glob(filepath.Join(dir, "*.tsv"))
	if len(files) < 4 {
		t.Fatalf("%d golden files", len(files))
	}
	total := 0
	for _, g := range files {
		name := strings.TrimSuffix(filepath.Base(g), ".tsv")
		pcap := filepath.Join(corpus, "pcap", strings.Replace(name, "__", "/", 1))
		data, err := os.ReadFile(g)
		if err != nil {
			t.Fatal(err)
		}
		want := strings.Split(strings.TrimSpace(string(data)), "\n")
		c, st := runFile(t, pcap, nil)
		var got []string
		for _, e := range c.ex {
			if e.Proto != "HTTP/2.0" {
				t.Errorf("%s: an HTTP/1 record %s %s", name, e.Method, e.Target)
				continue
			}
			if e.Flags.Has(flow.FlagNoRequest) {
				continue // a pushed stream
			}
			if bad := e.Flags &^ (flow.FlagRedacted | flow.FlagMasked | h2Allowed[name]); bad != 0 {
				t.Errorf("%s: %s %s flagged %s", name, e.Method, e.Target, bad)
			}
			auth := e.Host
			if e.HostPort != 0 {
				auth += ":" + strconv.Itoa(int(e.HostPort))
			}
			got = append(got, strings.Join([]string{e.Method, e.Target, auth, strconv.Itoa(e.Status)}, "\t"))
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s:\napitap %q\ntshark %q", name, got, want)
		}
		if st.HTTP.HTTP2Connections != 1 || st.HTTP.HTTP2Lost != 0 {
			t.Errorf("%s: stats %+v", name, st.HTTP)
		}
		total += len(want)
	}
	t.Logf("%d HTTP/2 requests in %d captures, all matched", total, len(files))
}

// h2Key is what identifies an HTTP/2 record's content.
func h2Key(e *flow.Exchange) string {
	return strings.Join([]string{e.Method, e.Target, e.Host, strconv.Itoa(e.Status), string(e.Request.Data), string(e.Response.Data),
		strconv.FormatInt(e.Request.WireBytes, 10), strconv.FormatInt(e.Response.WireBytes, 10)}, "\x00")
}

// The HTTP/2 captures damaged as a lossy mirror port would: reordered and
// duplicated segments give exactly the clean records; dropped segments give
// records that are either identical to a clean one or flagged (gap,
// incomplete, no_response, no_request), never a wrong record that looks
// right. APITAP_H2_DAMAGE_SEEDS=N sweeps more seeds (default 3).
func TestHTTP2Damage(t *testing.T) {
	corpus := testutil.Corpus(t)
	seeds := 3
	if v, err := strconv.Atoi(os.Getenv("APITAP_H2_DAMAGE_SEEDS")); err == nil && v > 0 {
		seeds = v
	}
	const damaged = flow.FlagGap | flow.FlagIncomplete | flow.FlagNoResponse | flow.FlagNoRequest
	dir := t.TempDir()
	var flagged, intact, lostDirs, desync uint64
	for _, name := range []string{"suricata-verify/dns-over-http2-post__dns_over_https_POST.pcap", "suricata-verify/bug-5929-02__http2_multiple_headers.pcap"} {
		src := filepath.Join(corpus, "pcap", name)
		clean, _ := runFile(t, src, nil)
		want := map[string]int{}
		for _, e := range clean.ex {
			want[h2Key(e)]++
		}
		in, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		for seed := int64(1); seed <= int64(seeds); seed++ {
			for _, o := range []encap.Options{{Reorder: 0.3, Seed: seed}, {Dup: 0.3, Seed: seed}, {Drop: 0.05, Seed: seed}, {Drop: 0.15, Seed: seed}} {
				got, st := rewriteRun(t, in, o, filepath.Join(dir, "d.pcap"))
				lostDirs += st.HTTP.HTTP2Lost
				// The sensor says where it was blind: a loss record for
				// the bytes it could not parse after each given-up direction.
				reported := got.parserLoss("http2_desync", "bytes")
				if reported != st.HTTP.HTTP2LostBytes {
					t.Errorf("%s %+v: http2_desync loss records %d bytes, stats %d", name, o, reported, st.HTTP.HTTP2LostBytes)
				}
				desync += reported
				left := maps.Clone(want)
				for _, e := range got.ex {
					k := h2Key(e)
					if o.Drop == 0 && e.Flags&damaged != 0 {
						t.Errorf("%s %+v: flagged %s without loss", name, o, e.Flags)
					}
					if e.Flags&damaged != 0 {
						flagged++
						continue
					}
					intact++
					if left[k] == 0 {
						t.Errorf("%s %+v: a record unflagged and unlike any clean one: %s %s %d flags %s", name, o, e.Method, e.Target, e.Status, e.Flags)
						continue
					}
					left[k]--
				}
				if o.Drop == 0 && len(got.ex) != len(clean.ex) {
					t.Errorf("%s %+v: %d records, clean %d", name, o, len(got.ex), len(clean.ex))
				}
			}
		}
	}
	if flagged == 0 || lostDirs == 0 || desync == 0 {
		t.Errorf("the drops damaged nothing: %d flagged records, %d directions lost", flagged, lostDirs)
	}
	t.Logf("%d seeds: %d records intact, %d flagged; %d directions given up, %d bytes reported as http2_desync loss", seeds, intact, flagged, lostDirs, desync)
}

// The corpus's h2c upgrades (curl's `--http2` on http://): three
// connections upgrade with `Upgrade: h2c`, and tshark reads each
// request's answer as HTTP/2 stream 1 with :status 206. apitap reports the
// request with that answer, 101 among its informational statuses, flagged
// upgrade; the two requests on connections that stayed HTTP/1.1 are plain.
func TestH2cUpgradeCorpus(t *testing.T) {
	pcap := filepath.Join(testutil.Corpus(t), "pcap", "suricata-verify", "http2-range__http2-range.pcap")
	c, st := runFile(t, pcap, nil)
	var up, plain int
	for _, e := range c.ex {
		switch {
		case e.Flags == flow.FlagUpgrade && slices.Equal(e.Informational, []int{101}) && e.Status == 206 && e.Proto == "HTTP/1.1" &&
			e.Response.WireBytes > 0 && e.Target == "/eicar":
			up++
		case e.Flags == 0 && e.Status == 206 && len(e.Informational) == 0:
			plain++
		default:
			t.Errorf("unexpected record: %s %s %d %v %s", e.Proto, e.Target, e.Status, e.Informational, e.Flags)
		}
	}
	if up != 3 || plain != 2 || st.HTTP.HTTP2Connections != 3 || st.HTTP.HTTP2Lost != 0 || st.HTTP.Upgrades != 3 {
		t.Fatalf("%d upgraded, %d plain; stats %+v", up, plain, st.HTTP)
	}
}

// The corpus's HTTP/2 captures joined midstream: the first packets (the
// handshake, the preface and the first frames) are cut, as when the sensor
// starts while the connection is open. The HPACK tables are gone, so no
// record can be made; the connection is recognised by its framing and its
// bytes are reported as http2_midstream loss, never as non-HTTP and never
// as records. Cut so late that fewer than h2.SyncFrames frames are left in
// either direction, a connection is not recognised (counted non-HTTP) and
// still gives no record.
func TestHTTP2MidstreamCorpus(t *testing.T) {
	corpus := testutil.Corpus(t)
	files, err := filepath.Glob("testdata/golden-h2/*.tsv")
	if err != nil || len(files) == 0 {
		t.Fatalf("no goldens: %v", err)
	}
	dir := t.TempDir()
	var recognised, cuts int
	for _, g := range files {
		name := strings.TrimSuffix(filepath.Base(g), ".tsv")
		src := filepath.Join(corpus, "pcap", strings.Replace(name, "__", "/", 1))
		for skip := 3; skip <= 15; skip += 2 {
			path := filepath.Join(dir, "cut.pcap")
			if err := os.WriteFile(path, dropPackets(t, src, skip), 0o644); err != nil {
				t.Fatal(err)
			}
			got, st := runFile(t, path, nil)
			cuts++
			if len(got.ex) != 0 {
				t.Errorf("%s without its first %d packets: %d records", name, skip, len(got.ex))
			}
			reported := got.parserLoss("http2_midstream", "bytes")
			if n := got.parserLoss("http2_midstream", "exchanges"); n != st.HTTP.HTTP2MidstreamStreams {
				t.Errorf("%s cut at %d: http2_midstream loss records %d exchanges, stats %d", name, skip, n, st.HTTP.HTTP2MidstreamStreams)
			}
			if reported != st.HTTP.HTTP2MidstreamBytes {
				t.Errorf("%s cut at %d: http2_midstream loss records %d bytes, stats %d", name, skip, reported, st.HTTP.HTTP2MidstreamBytes)
			}
			switch {
			case st.HTTP.HTTP2Midstream == 1 && st.HTTP.NonHTTPConnections == 0 && reported > 0:
				recognised++
			case skip <= 7:
				// Every capture has at least four frames after its 7th packet.
				t.Errorf("%s without its first %d packets: not recognised: %+v", name, skip, st.HTTP)
			case st.HTTP.HTTP2Midstream != 0:
				t.Errorf("%s cut at %d: %+v", name, skip, st.HTTP)
			}
		}
	}
	t.Logf("%d of %d cut captures recognised as HTTP/2 joined midstream", recognised, cuts)
}

// parserLoss sums the parser-stage loss records of reason in unit.
func (c *collect) parserLoss(reason, unit string) uint64 {
	var n uint64
	for _, l := range c.losses {
		if l.Stage == flow.StageParser && l.Reason == reason && l.Unit == unit {
			n += l.Count
		}
	}
	return n
}

// openPcap opens a pcap file for reading; it is closed when the test ends.
func openPcap(t *testing.T, path string) *pcapgo.Reader {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// dropPackets returns the pcap file src without its first n packets.
func dropPackets(t *testing.T, src string, n int) []byte {
	t.Helper()
	r := openPcap(t, src)
	var out bytes.Buffer
	w := pcapgo.NewWriterNanos(&out)
	if err := w.WriteFileHeader(r.Snaplen(), r.LinkType()); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return out.Bytes()
		}
		if err != nil {
			t.Fatal(err)
		}
		if i >= n {
			if err := w.WritePacket(ci, data); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// No connection of the corpus (every capture; its HTTP/2 connections all
// start with their preface) is taken for HTTP/2 joined midstream: the
// search for chained frame headers must not fire on TLS, DNS, SMB, binary
// protocols, HTTP/1.x bodies or damaged captures.
func TestHTTP2MidstreamNoFalsePositive(t *testing.T) {
	corpus := testutil.Corpus(t)
	var files, nonHTTP int
	err := filepath.WalkDir(filepath.Join(corpus, "pcap"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(p, ".pcap") || strings.HasSuffix(p, ".pcapng") || strings.HasSuffix(p, ".cap")) {
			return err
		}
		files++
		_, st := runFile(t, p, nil)
		nonHTTP += int(st.HTTP.NonHTTPConnections)
		if st.HTTP.HTTP2Midstream != 0 {
			t.Errorf("%s: %d connections taken for HTTP/2 joined midstream", p, st.HTTP.HTTP2Midstream)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 100 || nonHTTP == 0 {
		t.Fatalf("%d captures, %d non-HTTP connections: the corpus is not what this test expects", files, nonHTTP)
	}
	t.Logf("%d captures, %d non-HTTP connections, none taken for HTTP/2", files, nonHTTP)
}
