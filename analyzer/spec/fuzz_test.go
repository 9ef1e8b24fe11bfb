package spec

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to the loader (what Load does after
// reading the file) and every operation it finds to a matcher: neither may
// panic, and every documented template must match back.
func FuzzLoad(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.*"))
	for _, file := range files {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(rulesSpec))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("fuzz", data)
		if err != nil {
			if s != nil {
				t.Fatal("a spec and an error")
			}
			return
		}
		if len(s.Warnings) > maxWarnings+1 {
			t.Fatalf("%d warnings", len(s.Warnings))
		}
		m := NewMatcher([]*Spec{s})
		for _, op := range s.Operations {
			host := ""
			if h := op.Hosts(); len(h) > 0 {
				host = h[0]
			}
			m.Match(host, op.Method, op.Template)
			m.Match(host, op.Method, fill(op.Template))
			if mt, ok := m.Lookup(host, op.Method, fill(op.Template)); ok {
				mt.Params(fill(op.Template))
			}
			m.Operations(host)
		}
		m.Match("x", "GET", string(data))
	})
}
