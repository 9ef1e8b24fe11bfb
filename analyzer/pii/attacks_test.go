package pii_test

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/apitap/apitap/analyzer/pii"
	"github.com/apitap/apitap/internal/testutil"
)

// attackExplained lists every alerting match (likely or confirmed, not an
// example) that the detector raises (default configuration, and with every
// country ID) on the attack corpora of ../shared/corpus/attacks, written by
// others, with whether it is a true or a false positive and why. A new
// group fails the test, and so does a group no longer raised: either it is
// a false positive to fix, or it is explained here. (A new value inside an
// explained group passes: the groups are as fine as the key.)
//
// Key: file under corpus/attacks | type | key. The key is "$" for Text over
// the whole line (or payload), "$.<name>" for a query parameter classified
// with Leaf, and "payload" for a httpparamsdataset value classified with
// Leaf. A key with a fourth part, " | <matched value>", takes that value
// out of its group (a false positive among true ones).
var attackExplained = map[string]attackWhy{
	"apache-http-logs/netsparker.txt | password | $.password":             {false, whyDVWAPassword},
	"apache-http-logs/netsparker.txt | password | $.password_conf":        {false, whyDVWAPassword},
	"apache-http-logs/netsparker.txt | password | $.password_new":         {false, whyDVWAPassword},
	"csic2010-oneline/anomalous.txt | credit_card | $.ntc":                {false, whyCSICCard},
	"csic2010-oneline/anomalous.txt | email | $":                          {false, whyCSICEmail},
	"csic2010-oneline/anomalous.txt | email | $.email":                    {false, whyCSICEmail},
	"csic2010-oneline/anomalous.txt | email | $.emaila":                   {false, whyCSICTampered},
	"csic2010-oneline/anomalous.txt | password | $.password":              {false, whyCSICPassword},
	"csic2010-oneline/anomalous.txt | password | $.pwd":                   {false, whyCSICPassword},
	"csic2010-oneline/normal.txt | credit_card | $.ntc":                   {false, whyCSICCard},
	"csic2010-oneline/normal.txt | email | $":                             {false, whyCSICEmail},
	"csic2010-oneline/normal.txt | email | $.email":                       {false, whyCSICEmail},
	"csic2010-oneline/normal.txt | password | $.password":                 {false, whyCSICPassword},
	"csic2010-oneline/normal.txt | password | $.pwd":                      {false, whyCSICPassword},
	"fuzzdb/attack/redirect/README.md | ip_address | $":                   {false, whyPlaceholderIP},
	"fuzzdb/attack/sql-injection/detect/xplatform.txt | ip_address | $":   {false, whyPingIP},
	"fuzzdb/attack/xss/JHADDIX_XSS_WITH_CONTEXT.doc.txt | ip_address | $": {false, whyLinkIP},
	"fwaf/badqueries.txt | email | $":                                     {false, whyExploitEmail},
	"fwaf/badqueries.txt | email | $.authoremail":                         {false, whyExploitEmail},
	"fwaf/badqueries.txt | email | $.users_email":                         {false, whyExploitEmail},
	"fwaf/badqueries.txt | ip_address | $":                                {false, whyPingIP},
	"fwaf/badqueries.txt | ip_address | $.logout":                         {false, whyPingIP},
	"fwaf/badqueries.txt | ip_address | $.q":                              {false, whyPingIP},
	"fwaf/badqueries.txt | ip_address | $.stuff":                          {false, whyPingIP},
	"fwaf/badqueries.txt | password | $.frm_passwd":                       {false, whyScanPassword},
	"fwaf/badqueries.txt | password | $.pass":                             {false, whyScanPassword},
	"fwaf/badqueries.txt | password | $.passwd":                           {false, whyScanPassword},
	"fwaf/badqueries.txt | password | $.password":                         {false, whyScanPassword},
	"fwaf/badqueries.txt | password | $.users_password":                   {false, whyScanPassword},
	"fwaf/badqueries.txt | session_token | $.sessionid":                   {false, whySessionProbe},
	"fwaf/badqueries.txt | session_token | $.token":                       {false, whyURLToken},
	"httpparamsdataset/payload_full.csv | credit_card | payload":          {false, whyParamsCard},
	"httpparamsdataset/payload_full.csv | email | $":                      {false, whyParamsEmail},
	"httpparamsdataset/payload_full.csv | email | payload":                {false, whyParamsEmail},
}

// The reasons. True positives: the corpora carry test data that really is
// of the type (CSIC 2010's synthetic shop customers, the addresses and
// passwords attack tools send). False positives: detector gaps, each with
// the rule that lets it through.
const (
	whyCSICEmail     = "CSIC 2010 shop registration form: the customer's (synthetic) e-mail address, in the email parameter and so in the line's text"
	whyCSICTampered  = "an anomalous CSIC 2010 request with a tampered parameter name (emaila): the value is still the customer's e-mail address"
	whyCSICCard      = "CSIC 2010 shop card field ntc (numero de tarjeta de credito): synthetic card numbers; those passing Luhn with a brand prefix are reported (likely: ntc is no card hint)"
	whyCSICPassword  = "CSIC 2010 login and registration forms: the password (password, pwd) sent with the request; anomalous ones carry attack strings in it, still the password field"
	whyParamsEmail   = "httpparamsdataset's benign values are CSIC 2010 parameter values: customers' e-mail addresses"
	whyParamsCard    = "httpparamsdataset's benign values include CSIC 2010 ntc card numbers (Luhn and brand valid)"
	whyDVWAPassword  = "DVWA's brute-force and CSRF pages take the password in the GET query (password, password_new, password_conf): the scanner's submitted password, whatever its value"
	whyScanPassword  = "a scanner or exploit sends a password parameter (frm_passwd, pass, passwd, password, users_password): a password field whatever its value (x, nessus, ;id)"
	whyExploitEmail  = "an exploit's form or command carries an e-mail address on a registered domain (hacker@hax0r.com, bla@bla.com, 1@1.com): test data, but an address"
	whyPingIP        = "a command-injection payload pings a literal public IPv4 address (1.2.3.4, 4.3.2.1, 172.10.1.255, which is outside 172.16/12): conventional placeholders, but routable addresses"
	whyPlaceholderIP = "the README's example redirect target 1.2.3.4: a conventional placeholder, but a routable public address"
	whyLinkIP        = "an XSS payload links to a literal public address (66.102.7.147)"
	whySessionProbe  = "Nessus' NeoMail check sends its plugin name as sessionid: the session id the client presents, a fake one no detector can tell from a real one (key rule)"
	whyURLToken      = "phpMyAdmin's token parameter: a 32-hex session token in the URL"
)

// attackWhy explains one group: fp marks a false positive (counted in the
// per-file rate logged by the test).
type attackWhy struct {
	fp  bool
	why string
}

// attackKind says how the lines of a corpus file are read.
type attackKind int

const (
	attackPayload attackKind = iota // one payload per line (fuzzdb): Text, and Leaf on the parameters after a '?'
	attackLog                       // Apache combined log: Text, and Leaf on the request target's query
	attackRequest                   // "method URL?query" (csic2010-oneline): Text, and Leaf on the query
	attackQuery                     // "path?query" (fwaf): Text, and Leaf on the query
	attackCSV                       // httpparamsdataset CSV: Text and Leaf on the payload column
)

// attackGroup accumulates one explained-list key.
type attackGroup struct {
	n      int      // matches
	sample []string // a few values around the match, for the log
}

// attackFileStat counts one corpus file.
type attackFileStat struct {
	lines   int
	fpLines int // lines with at least one false-positive match
	tpLines int // lines with a true-positive match and no false positive
	hits    int // alerting matches
}

// TestAttackCorpora runs the detector over the attack corpora of the shared
// corpus (attack payload lists, WAF training queries, scanner access logs,
// the CSIC 2010 requests): each line through Text as free text, and the
// parameters of its query string through Leaf, as the analyzer classifies
// query parameters (name, percent-decoded value). It runs with the default
// configuration and with every country ID enabled. Every alerting match
// must fall in an explained group; false positives per million lines are
// logged per file.
func TestAttackCorpora(t *testing.T) {
	root := filepath.Join(testutil.Corpus(t), "attacks")
	if _, err := os.Stat(root); err != nil {
		t.Skipf("no attack corpora at %s", root)
	}
	var files []string
	err := filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if attackKindOf(rel) >= 0 {
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	if len(files) < 50 {
		t.Fatalf("only %d attack corpus files under %s", len(files), root)
	}
	raised := map[string]bool{}
	for _, c := range []struct {
		name string
		cfg  pii.Config
	}{
		{"default", pii.Config{}},
		{"country_ids", pii.Config{CountryIDs: []string{"all"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			d, err := pii.New(c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			groups := scanAttacks(t, d, root, files)
			keys := make([]string, 0, len(groups))
			for k := range groups {
				keys = append(keys, k)
				raised[k] = true
			}
			sort.Strings(keys)
			for _, k := range keys {
				if _, ok := attackExplained[k]; !ok {
					g := groups[k]
					t.Errorf("unexplained: %q (%d matches) e.g. %q", k, g.n, g.sample)
				}
			}
		})
	}
	if t.Failed() {
		return
	}
	var stale []string
	for k := range attackExplained {
		if !raised[k] {
			stale = append(stale, k)
		}
	}
	slices.Sort(stale)
	for _, k := range stale {
		t.Errorf("explained group no longer raised (remove it): %s", k)
	}
}

// scanAttacks classifies every line of files (under root) with d, logs
// the per-file counts and rates, and returns the groups raised.
func scanAttacks(t *testing.T, d *pii.Detector, root string, files []string) map[string]*attackGroup {
	groups := map[string]*attackGroup{}
	stats := map[string]*attackFileStat{}
	var ms []pii.Match
	var lineKeys []string
	total := 0
	for _, rel := range files {
		kind := attackKindOf(rel)
		st := &attackFileStat{}
		stats[rel] = st
		hit := func(key string, m pii.Match, v []byte) {
			k := rel + " | " + d.Name(m.Type) + " | " + key
			if kv := k + " | " + string(v[m.Start:m.End]); attackExplained[kv].why != "" {
				k = kv // one value explained apart from its group
			}
			g := groups[k]
			if g == nil {
				g = &attackGroup{}
				groups[k] = g
			}
			g.n++
			st.hits++
			if len(g.sample) < 3 {
				g.sample = append(g.sample, attackContext(v, m))
			}
			lineKeys = append(lineKeys, k)
		}
		classify := func(line []byte) {
			st.lines++
			lineKeys = lineKeys[:0]
			ms = d.Text(ms[:0], []byte("$"), line)
			for _, m := range ms {
				if alerting(m) {
					hit("$", m, line)
				}
			}
			var q []byte
			switch kind {
			case attackLog:
				q = queryOf(logTarget(line))
			case attackRequest, attackQuery, attackPayload:
				q = queryOf(line)
			case attackCSV:
				ms = d.Leaf(ms[:0], []byte("payload"), line)
				for _, m := range ms {
					if alerting(m) {
						hit("payload", m, line)
					}
				}
			}
			for len(q) > 0 {
				var pair []byte
				pair, q, _ = bytes.Cut(q, []byte("&"))
				name, val, _ := bytes.Cut(pair, []byte("="))
				if len(val) == 0 {
					continue
				}
				name, val = formDecode(name), formDecode(val)
				ms = d.Leaf(ms[:0], name, val)
				for _, m := range ms {
					if alerting(m) {
						hit("$."+string(name), m, val)
					}
				}
			}
			fp, tp := false, false
			for _, k := range lineKeys {
				if w, ok := attackExplained[k]; !ok || w.fp {
					fp = true
				} else {
					tp = true
				}
			}
			if fp {
				st.fpLines++
			} else if tp {
				st.tpLines++
			}
		}
		if err := attackLines(filepath.Join(root, rel), kind, classify); err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		total += st.lines
	}
	if total < 150000 {
		t.Fatalf("only %d lines in the attack corpora", total)
	}

	// The rates: per file with alerting matches, then per source (the
	// fuzzdb lists together).
	bySource := map[string]*attackFileStat{}
	var srcs []string
	for _, rel := range files {
		st := stats[rel]
		src := rel
		if strings.HasPrefix(rel, "fuzzdb/") {
			src = "fuzzdb/attack (all lists)"
		}
		s := bySource[src]
		if s == nil {
			s = &attackFileStat{}
			bySource[src] = s
			srcs = append(srcs, src)
		}
		s.lines += st.lines
		s.fpLines += st.fpLines
		s.tpLines += st.tpLines
		s.hits += st.hits
		if st.hits > 0 && strings.HasPrefix(rel, "fuzzdb/") {
			t.Logf("%-66s %6d lines %6d matches; lines with: %5d TP only, %5d FP (%6.0f FP/M lines)",
				rel, st.lines, st.hits, st.tpLines, st.fpLines, perMillion(st.fpLines, st.lines))
		}
	}
	fpLines := 0
	for _, src := range srcs {
		s := bySource[src]
		fpLines += s.fpLines
		t.Logf("%-66s %6d lines %6d matches; lines with: %5d TP only, %5d FP (%6.0f FP/M lines)",
			src, s.lines, s.hits, s.tpLines, s.fpLines, perMillion(s.fpLines, s.lines))
	}
	t.Logf("%d files, %d lines, %d groups, %.0f lines with a false positive per million overall",
		len(files), total, len(groups), perMillion(fpLines, total))
	return groups
}

func perMillion(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return float64(n) * 1e6 / float64(of)
}

// alerting is what the analyzer alerts on: likely or confirmed, not an
// example.
func alerting(m pii.Match) bool { return m.Confidence >= pii.Likely && !m.Example }

// attackKindOf is how rel (under corpus/attacks) is read, or -1 to skip it.
func attackKindOf(rel string) attackKind {
	switch {
	case strings.HasPrefix(rel, "apache-http-logs/"):
		return attackLog
	case strings.HasPrefix(rel, "csic2010-oneline/"):
		return attackRequest
	case strings.HasPrefix(rel, "fwaf/"):
		return attackQuery
	case rel == "httpparamsdataset/payload_full.csv":
		return attackCSV
	case strings.HasPrefix(rel, "fuzzdb/attack/"):
		return attackPayload
	}
	return -1
}

// attackLines calls f with each line (CSV: each payload) of path.
func attackLines(path string, kind attackKind, f func([]byte)) error {
	fh, err := os.Open(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	if kind == attackCSV {
		r := csv.NewReader(fh)
		r.LazyQuotes = true
		r.FieldsPerRecord = -1
		head := true
		for {
			rec, err := r.Read()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if head {
				head = false
				continue
			}
			f([]byte(rec[0]))
		}
	}
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		line := bytes.TrimRight(sc.Bytes(), "\r")
		if len(bytes.TrimSpace(line)) > 0 {
			f(line)
		}
	}
	return sc.Err()
}

// logTarget is the request target of an Apache combined log line:
// `"ip - - [date] "GET /path?q HTTP/1.1" 200 …`.
func logTarget(line []byte) []byte {
	_, rest, ok := bytes.Cut(line, []byte("] \""))
	if !ok {
		return nil
	}
	req, _, _ := bytes.Cut(rest, []byte("\" "))
	_, target, _ := bytes.Cut(req, []byte(" "))
	if i := bytes.LastIndex(target, []byte(" HTTP/")); i >= 0 {
		target = target[:i]
	}
	return target
}

// queryOf is what follows the first '?' of s (nil without one).
func queryOf(s []byte) []byte {
	_, q, _ := bytes.Cut(s, []byte("?"))
	return q
}

// formDecode percent-decodes s as a form value: '+' is a space, a '%' not
// followed by two hex digits is kept.
func formDecode(s []byte) []byte {
	if bytes.IndexByte(s, '%') < 0 && bytes.IndexByte(s, '+') < 0 {
		return s
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '+':
			c = ' '
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			c = unhexByte(s[i+1])<<4 | unhexByte(s[i+2])
			i += 2
		}
		out = append(out, c)
	}
	return out
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhexByte(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// attackContext is the match with up to 24 bytes either side, the match
// in brackets (the corpora are public attack material, not personal data).
func attackContext(v []byte, m pii.Match) string {
	a, b := max(0, m.Start-24), min(len(v), m.End+24)
	return fmt.Sprintf("%s[%s]%s", v[a:m.Start], v[m.Start:m.End], v[m.End:b])
}
