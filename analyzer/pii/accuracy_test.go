package pii_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apitap/apitap/analyzer/pii"
	"github.com/apitap/apitap/analyzer/pii/evalset"
	"github.com/apitap/apitap/analyzer/pii/walk"
	"github.com/apitap/apitap/internal/testutil"
)

// TestAccuracy runs the built-in detectors over the seeded evaluation set
// (analyzer/pii/evalset): every leaf the walker produces is classified as
// the analyzer will (Leaf for values, Text for free text) and compared with
// the labels. A match counts when its tier is confirmed or likely and it is
// not a known example. Per type: precision, recall, and false positives per
// million leaves; the bar is precision ≥ 0.98 and recall ≥ 0.95 for every
// type, and no near-miss (one character off a checksum) reported as its
// type (other types on a near-miss leaf are not scored: see below). It runs
// twice: with the default configuration (country IDs off: the other types
// are scored and no country ID may be reported) and with every country ID
// enabled (every type scored; this is the table -update-accuracy writes to
// docs/accuracy.md).
func TestAccuracy(t *testing.T) {
	items := evalset.Generate(1, 3000)
	builtin := slices.DeleteFunc(slices.Clone(evalset.Types), func(ty string) bool { return slices.Contains(evalset.CountryTypes, ty) })
	var table string
	for _, c := range []struct {
		name  string
		cfg   pii.Config
		types []string
	}{
		{"default", pii.Config{}, builtin},
		{"country_ids", pii.Config{CountryIDs: []string{"all"}}, evalset.Types},
	} {
		t.Run(c.name, func(t *testing.T) {
			d, err := pii.New(c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			tb := accuracy(t, d, items, c.types)
			if c.name == "country_ids" {
				table = tb
			}
		})
	}
	if *updateAccuracy && table != "" {
		path := filepath.Join(testutil.RepoRoot(t), "docs", "accuracy.md")
		doc, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		const begin, end = "<!-- pii-accuracy:begin -->", "<!-- pii-accuracy:end -->"
		s := string(doc)
		i, j := strings.Index(s, begin), strings.Index(s, end)
		if i < 0 || j < i {
			t.Fatalf("docs/accuracy.md lacks the %s ... %s markers", begin, end)
		}
		s = s[:i+len(begin)] + "\n" + table + s[j:]
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// accuracy scores d on items for types (other types reported count as
// false positives too) and returns the table.
func accuracy(t *testing.T, d *pii.Detector, items []evalset.Item, types []string) string {
	scores := map[string]*score{}
	for _, ty := range evalset.Types {
		scores[ty] = &score{}
	}
	var w walk.Walker
	leaves := 0
	var ms []pii.Match
	var fpExamples []string
	for i := range items {
		it := &items[i]
		byPath := map[string][]evalset.Label{}
		for _, l := range it.Labels {
			byPath[l.Path] = append(byPath[l.Path], l)
		}
		found := map[int]bool{} // label index (within it.Labels) found
		evalset.Walk(&w, it, func(l *walk.Leaf) bool {
			leaves++
			ms = ms[:0]
			if l.Kind == walk.Text {
				ms = d.Text(ms, l.Path, l.Value)
			} else {
				ms = d.Leaf(ms, l.Path, l.Value)
			}
			labels := byPath[string(l.Path)]
			for _, m := range ms {
				if m.Example || m.Confidence == pii.Possible {
					continue
				}
				name := d.Name(m.Type)
				span := l.Value[m.Start:m.End]
				hit := false
				for _, lb := range labels {
					if lb.Kind == evalset.Positive && lb.Type == name &&
						(bytes.Contains(span, []byte(lb.Value)) || bytes.Contains([]byte(lb.Value), span)) {
						hit = true
						// every equal label: array elements share a path, and a
						// value repeated there is classified the same each time
						for k, x := range it.Labels {
							if x == lb {
								found[k] = true
							}
						}
					}
				}
				if !hit {
					// A near-miss leaf tests only its own type: a broken JWT
					// under "access_token" is still a bearer credential, and
					// reporting it as session_token is right.
					if slices.ContainsFunc(labels, func(x evalset.Label) bool {
						return x.Kind == evalset.NearMiss && x.Type != name
					}) {
						continue
					}
					s := scores[name]
					if s == nil {
						t.Errorf("%s reported at %s: %q", name, l.Path, span)
						continue
					}
					s.fp++
					near := slices.ContainsFunc(labels, func(x evalset.Label) bool {
						return x.Kind == evalset.NearMiss && x.Type == name
					})
					if near {
						s.nearFP++
					}
					if len(fpExamples) < 15 {
						fpExamples = append(fpExamples, fmt.Sprintf("%s at %s: %q", name, l.Path, span))
					}
				}
			}
			return true
		})
		for k, lb := range it.Labels {
			if lb.Kind == evalset.Positive && lb.Type != "" {
				if found[k] {
					scores[lb.Type].tp++
				} else {
					scores[lb.Type].fn++
				}
			}
		}
	}
	var table strings.Builder
	fmt.Fprintf(&table, "| type | positives | precision | recall | false positives per million leaves |\n|---|---:|---:|---:|---:|\n")
	failed := false
	for _, ty := range evalset.Types {
		s := scores[ty]
		if !slices.Contains(types, ty) {
			if s.fp > 0 {
				failed = true
				t.Errorf("%s: %d reported, not enabled", ty, s.fp)
			}
			continue
		}
		p := float64(s.tp) / float64(max(s.tp+s.fp, 1))
		r := float64(s.tp) / float64(max(s.tp+s.fn, 1))
		fpm := float64(s.fp) / float64(leaves) * 1e6
		fmt.Fprintf(&table, "| `%s` | %d | %.3f | %.3f | %.0f |\n", ty, s.tp+s.fn, p, r, fpm)
		if p < 0.98 || r < 0.95 || s.nearFP > 0 {
			failed = true
			t.Errorf("%s: precision %.3f recall %.3f (tp %d fn %d fp %d, near-misses reported %d)", ty, p, r, s.tp, s.fn, s.fp, s.nearFP)
		}
	}
	t.Logf("%d items, %d leaves\n%s", len(items), leaves, table.String())
	if failed {
		t.Logf("false positives, e.g.:\n%s", strings.Join(fpExamples, "\n"))
	}
	return table.String()
}

type score struct{ tp, fn, fp, nearFP int }

var updateAccuracy = flag.Bool("update-accuracy", false, "rewrite the PII table in docs/accuracy.md")
