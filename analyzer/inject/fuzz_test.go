package inject

import (
	"bytes"
	"testing"
)

// FuzzScan: Scan never panics; reports at most one match per class, in
// class order, each with a known rule of its class and an offset inside
// the decoded part; is deterministic (again, and on a fresh Scanner);
// stays within its work budget; ignores bytes after MaxScan.
func FuzzScan(f *testing.F) {
	for _, c := range positives {
		f.Add([]byte(c.text))
	}
	for _, n := range negatives[:20] {
		f.Add([]byte(n))
	}
	var s, fresh Scanner
	f.Fuzz(func(t *testing.T, part []byte) {
		ms := s.Scan(nil, part)
		d := s.Decoded()
		if len(d) > min(len(part), MaxScan) {
			t.Fatalf("decoded %d bytes from %d", len(d), len(part))
		}
		if s.work > maxWorkBase+maxWorkPerByte*len(d)+1024 {
			t.Fatalf("work %d over the budget for %d bytes", s.work, len(d))
		}
		var prev Class
		for _, m := range ms {
			if m.Class <= prev || m.Class >= numClasses {
				t.Fatalf("classes out of order or invalid: %v", ms)
			}
			prev = m.Class
			if RuleClass(m.Rule) != m.Class {
				t.Fatalf("rule %q is not a %s rule", m.Rule, m.Class)
			}
			if m.Offset < 0 || m.Offset >= len(d) {
				t.Fatalf("offset %d outside %d decoded bytes: %v", m.Offset, len(d), m)
			}
		}
		c := bytes.Clone(part)
		if again := s.Scan(nil, c); !equalMatches(again, ms) {
			t.Fatalf("not deterministic: %v, then %v", ms, again)
		}
		if other := fresh.Scan(nil, c); !equalMatches(other, ms) {
			t.Fatalf("depends on the Scanner's past: %v, fresh %v", ms, other)
		}
		if len(part) > MaxScan {
			if cut := s.Scan(nil, part[:MaxScan]); !equalMatches(cut, ms) {
				t.Fatalf("bytes after MaxScan changed the result: %v, %v", ms, cut)
			}
		}
	})
}
