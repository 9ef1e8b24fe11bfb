package sensor_test

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apitap/apitap/flow"
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
