package verbose

import (
	"bytes"
	"testing"
)

// FuzzFind: Find never panics, reports an offset inside the scanned body,
// a valid kind and a tech, and is deterministic; bytes after MaxScan
// change nothing.
func FuzzFind(f *testing.F) {
	for _, c := range leakCases[:8] {
		f.Add([]byte(c.text))
	}
	f.Add([]byte(`{"a":"\\\"at x.y(Y.java:1)\\\"","b":"&quot;File &quot;"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		l, ok := Find(body)
		if ok {
			if l.Offset < 0 || l.Offset >= len(body) || l.Offset >= MaxScan {
				t.Fatalf("offset %d outside %d bytes", l.Offset, len(body))
			}
			if l.Kind == 0 || l.Kind >= numKinds || l.Tech == "" {
				t.Fatalf("bad leak %+v", l)
			}
		} else if l != (Leak{}) {
			t.Fatalf("not found but %+v", l)
		}
		c := bytes.Clone(body)
		if l2, ok2 := Find(c); l2 != l || ok2 != ok {
			t.Fatalf("not deterministic: %+v %v, then %+v %v", l, ok, l2, ok2)
		}
		if len(body) > MaxScan {
			if l2, ok2 := Find(body[:MaxScan]); l2 != l || ok2 != ok {
				t.Fatalf("bytes after MaxScan changed the result: %+v, %+v", l, l2)
			}
		}
	})
}
