package verbose

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apitap/apitap/internal/pcaptest"
	"github.com/apitap/apitap/internal/testutil"
)

// corpusHits is every corpus file under pcap/ and attacks/ in which Find
// reports a leak when the raw file is scanned in MaxScan windows, with the
// first leak's kind/tech and the reason it is there. A file missing here
// is a new false positive (or a new true one to explain); a file listed
// but no longer found is a lost detection.
//
// The corpus (SOURCES.md) holds no leak as raw bytes: its one real leak
// (below, corpusDecodedHits) is inside a gzip body, and its near misses
// are rejected: "mysql_native_password" and "force_mysql_error" (no PHP
// warning label), "goroutine" in gopacket's prose, "DOMException" and
// "_DumpException" in minified JavaScript, "java/lang/Exception" in the
// Log4Shell payload's class file (no frame), SQL injection payloads
// without an error message.
var corpusHits = map[string]struct{ leak, why string }{}

// corpusWindows scans b in MaxScan windows overlapping by 4 KiB (so
// evidence across a window edge is seen whole) and returns the first
// window's leak and its absolute offset.
func corpusWindows(b []byte) (Leak, bool) {
	const step = MaxScan - 4<<10
	for off := 0; off < len(b); off += step {
		if l, ok := Find(b[off:min(len(b), off+MaxScan)]); ok {
			l.Offset += off
			return l, true
		}
		if off+MaxScan >= len(b) {
			break
		}
	}
	return Leak{}, false
}

func TestCorpus(t *testing.T) {
	root := testutil.Corpus(t)
	got := map[string]string{}
	files := 0
	for _, dir := range []string{"pcap", "attacks"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			files++
			rel, _ := filepath.Rel(root, path)
			rel = filepath.ToSlash(rel)
			if l, ok := corpusWindows(b); ok {
				got[rel] = l.Kind.String() + "/" + l.Tech
				ev := string(b[l.Offset:min(len(b), l.Offset+100)])
				t.Logf("%s: %s at %d: %q", rel, got[rel], l.Offset, ev)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if files < 100 {
		t.Fatalf("only %d corpus files read", files)
	}
	var extra, missing []string
	for f, leak := range got {
		if w, ok := corpusHits[f]; !ok || w.leak != leak {
			extra = append(extra, f+" ("+leak+")")
		}
	}
	for f, w := range corpusHits {
		if got[f] != w.leak {
			missing = append(missing, f+" ("+w.leak+": "+w.why+")")
		}
	}
	slices.Sort(extra)
	slices.Sort(missing)
	if len(extra) > 0 {
		t.Errorf("unexplained leaks (new false positives?):\n  %s", strings.Join(extra, "\n  "))
	}
	if len(missing) > 0 {
		t.Errorf("explained leaks no longer found:\n  %s", strings.Join(missing, "\n  "))
	}
	t.Logf("%d files scanned, %d with a leak", files, len(got))
}

// corpusDecodedHits is every capture under pcap/ with a response whose
// decoded body (de-chunked, gunzipped: what the analyzer sees) holds a
// leak, as "kind/tech METHOD target status", with the reason.
var corpusDecodedHits = map[string]struct{ leak, why string }{
	"pcap/ndpi/WebattackSQLinj.pcap": {
		"sql_error/mysql GET /dv/vulnerabilities/sqli/?id=1%27&Submit=Submit 200",
		"capture of a DVWA SQL injection (id=1') answered, gzip-encoded, with MySQL's \"You have an error in your SQL syntax\" (twice); tshark shows the same two bodies",
	},
}

// TestCorpusDecoded runs every capture through the sensor and scans each
// decoded response body, as the analyzer will.
func TestCorpusDecoded(t *testing.T) {
	root := testutil.Corpus(t)
	got := map[string]string{}
	files := 0
	err := filepath.WalkDir(filepath.Join(root, "pcap"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(path, ".pcap") || strings.HasSuffix(path, ".pcapng")) {
			return err
		}
		ex, err := pcaptest.Exchanges(path)
		if err != nil {
			t.Error(err)
			return nil
		}
		files++
		n, first := 0, ""
		for _, e := range ex {
			if l, ok := Find(e.Response.Data); ok {
				if n == 0 {
					first = fmt.Sprintf("%s/%s %s %s %d", l.Kind, l.Tech, e.Method, e.Target, e.Status)
				}
				n++
			}
		}
		if n > 0 {
			rel, _ := filepath.Rel(root, path)
			rel = filepath.ToSlash(rel)
			got[rel] = first
			t.Logf("%s: %d responses with a leak; first %s", rel, n, first)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 100 {
		t.Fatalf("only %d captures read", files)
	}
	for f, leak := range got {
		if w, ok := corpusDecodedHits[f]; !ok || w.leak != leak {
			t.Errorf("unexplained leak (new false positive?): %s: %s", f, leak)
		}
	}
	for f, w := range corpusDecodedHits {
		if got[f] != w.leak {
			t.Errorf("explained leak no longer found: %s: %s (%s); got %q", f, w.leak, w.why, got[f])
		}
	}
}

// TestCorpusOpenAPINoLeak: the corpus's API descriptions (GitHub, Stripe,
// Kubernetes, Twilio, crAPI, VAmPI, Petstore) talk about errors,
// exceptions, SQL, lines and traces in thousands of descriptions and hold
// no leak: none may be reported.
func TestCorpusOpenAPINoLeak(t *testing.T) {
	for _, w := range specWindows(t) {
		if l, ok := Find(w); ok {
			t.Errorf("false positive %+v: %q", l, w[l.Offset:min(len(w), l.Offset+120)])
		}
	}
}
