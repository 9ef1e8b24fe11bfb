package sensor_test

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sync/errgroup"

	"github.com/apitap/apitap/flow"
	"github.com/apitap/apitap/internal/testutil"
)

// The reference is tshark's reading of each capture. Calling tshark twice
// for each of the ~600 captures takes minutes, so by default the test reads
// the checked-in files in testdata/golden, which `go test ./sensor -run
// CorpusAgainstTshark -update-golden` regenerates (scripts/golden.sh);
// APITAP_TSHARK=1 compares against a live tshark instead.
var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/golden from tshark")

// tsharkExchanges returns tshark's (method, uri, status) lines for a capture:
// every HTTP/1.x request, with the status of the response tshark paired with
// it (0 when none). -2 makes tshark link requests to responses.
func tsharkExchanges(t *testing.T, path string, decodeAs []string) []string {
	args := []string{"-2", "-n", "-r", path}
	for _, d := range decodeAs {
		args = append(args, "-d", d)
	}
	run := func(filter string, fields ...string) [][]string {
		a := append(append([]string{}, args...), "-Y", filter, "-T", "fields", "-E", "separator=\t", "-E", "occurrence=f")
		for _, f := range fields {
			a = append(a, "-e", f)
		}
		cmd := exec.Command("tshark", a...)
		var out bytes.Buffer
		cmd.Stdout = &out
		cmd.Stderr = nil
		if err := cmd.Run(); err != nil {
			t.Logf("tshark %s: %v", path, err)
		}
		var rows [][]string
		sc := bufio.NewScanner(&out)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			rows = append(rows, strings.Split(sc.Text(), "\t"))
		}
		return rows
	}
	codes := map[string]string{}
	for _, r := range run("http.response", "frame.number", "http.response.code") {
		if len(r) == 2 {
			codes[r[0]] = r[1]
		}
	}
	var out []string
	for _, r := range run("http.request", "http.request.method", "http.request.uri", "http.response_in") {
		for len(r) < 3 {
			r = append(r, "")
		}
		status := "0"
		if c, ok := codes[r[2]]; ok && r[2] != "" {
			status = c
		}
		out = append(out, r[0]+"\t"+r[1]+"\t"+status)
	}
	sort.Strings(out)
	return out
}

// knownDifferences explains, per capture, why apitap and tshark disagree.
// Every entry must be a tshark limitation or a loss in the capture itself.
var knownDifferences = map[string]string{}

// decodeAs tells tshark about HTTP on ports it does not try by default
// (apitap detects HTTP by content, tshark by port).
var decodeAs = map[string][]string{
	"pcapplusplus/http-packets.pcap": {"tcp.port==31600,http"},
}

func TestCorpusAgainstTshark(t *testing.T) {
	corpus := testutil.Corpus(t)
	root := filepath.Join(corpus, "pcap")
	goldenDir := filepath.Join(testutil.RepoRoot(t), "sensor", "testdata", "golden")
	_, lookErr := exec.LookPath("tshark")
	haveTshark := lookErr == nil
	if *updateGolden && !haveTshark {
		t.Fatal("-update-golden needs tshark")
	}
	var files []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".pcap") || strings.HasSuffix(p, ".pcapng")) {
			files = append(files, p)
		}
		return nil
	})
	// Ask tshark about every capture up front, a few at a time.
	live := map[string][]string{}
	if *updateGolden || (haveTshark && os.Getenv("APITAP_TSHARK") == "1") {
		var mu sync.Mutex
		var g errgroup.Group
		g.SetLimit(4)
		for _, p := range files {
			p := p
			g.Go(func() error {
				rel, _ := filepath.Rel(root, p)
				ref := tsharkExchanges(t, p, decodeAs[rel])
				mu.Lock()
				live[p] = ref
				mu.Unlock()
				return nil
			})
		}
		g.Wait()
	}
	var totalRef, totalOurs, totalMatched int
	var report []string
	for _, p := range files {
		rel, _ := filepath.Rel(root, p)
		golden := filepath.Join(goldenDir, strings.ReplaceAll(rel, "/", "__")+".tsv")
		var ref []string
		switch {
		case *updateGolden || (haveTshark && os.Getenv("APITAP_TSHARK") == "1"):
			ref = live[p]
			if *updateGolden {
				os.MkdirAll(goldenDir, 0o755)
				os.WriteFile(golden, []byte(strings.Join(ref, "\n")+"\n"), 0o644)
			}
		default:
			data, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%s: no tshark and no golden file: %v", rel, err)
			}
			for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
				if l != "" {
					ref = append(ref, l)
				}
			}
		}
		c, _ := runFile(t, p, nil)
		var ours []string
		for _, e := range c.ex {
			if e.Flags.Has(flow.FlagNoRequest) {
				continue // tshark lists requests; a response without one has no row there
			}
			ours = append(ours, e.Method+"\t"+e.Target+"\t"+strconv.Itoa(e.Status))
		}
		sort.Strings(ours)
		matched, onlyRef, onlyOurs := diff(ref, ours)
		totalRef += len(ref)
		totalOurs += len(ours)
		totalMatched += matched
		if len(onlyRef)+len(onlyOurs) > 0 {
			why, known := knownDifferences[rel]
			line := fmt.Sprintf("%s: tshark %d, apitap %d, matched %d", rel, len(ref), len(ours), matched)
			if known {
				line += " — known: " + why
			} else {
				line += fmt.Sprintf("\n    only tshark: %q\n    only apitap: %q", head(onlyRef, 5), head(onlyOurs, 5))
			}
			report = append(report, line)
			if !known {
				t.Errorf("unexplained difference: %s", line)
			}
		}
	}
	denom := totalRef
	if totalOurs > denom {
		denom = totalOurs
	}
	agree := float64(totalMatched) / float64(denom)
	t.Logf("corpus: %d captures, tshark %d exchanges, apitap %d, matched %d, agreement %.4f",
		len(files), totalRef, totalOurs, totalMatched, agree)
	for _, r := range report {
		t.Log(r)
	}
	if agree < 0.995 {
		t.Errorf("agreement %.4f < 0.995", agree)
	}
}

func head(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// diff compares two sorted multisets.
func diff(a, b []string) (matched int, onlyA, onlyB []string) {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] == b[j]:
			matched++
			i++
			j++
		case a[i] < b[j]:
			onlyA = append(onlyA, a[i])
			i++
		default:
			onlyB = append(onlyB, b[j])
			j++
		}
	}
	return matched, append(onlyA, a[i:]...), append(onlyB, b[j:]...)
}
