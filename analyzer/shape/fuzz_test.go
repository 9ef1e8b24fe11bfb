package shape

import (
	"encoding/json"
	"testing"
)

// FuzzObserve: no input panics; the scanner agrees with encoding/json; a
// rejected body records nothing; Schema always marshals; observing twice
// equals merging two halves, under default and tiny limits.
func FuzzObserve(f *testing.F) {
	f.Add([]byte(`{"id":1,"tags":["a"],"at":"2024-01-01T00:00:00Z"}`))
	f.Add([]byte(`[{"a":null},{"a":"x@y.org"}]`))
	f.Add([]byte(`{"a":{"b":{"c":[1,2.5,"\u00e9"]}}`))
	f.Add([]byte(`<?xml version="1.0"?><r xmlns="urn:x"/>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkScan(t, data)
		for _, lim := range []Shape{{}, {MaxNodes: 5, MaxProperties: 2, MaxDepth: 2, MaxItems: 1}} {
			a, b, m := lim, lim, lim
			okA := a.ObserveJSON(data)
			a.ObserveJSON(data)
			a.ObserveXML(data)
			if !okA && a.json != 0 {
				t.Fatalf("rejected body recorded")
			}
			b.ObserveJSON(data)
			m.ObserveJSON(data)
			m.ObserveXML(data)
			b.Merge(&m)
			if dump(&a) != dump(&b) {
				t.Fatalf("observe twice != merge:\n%s\n%s", dump(&a), dump(&b))
			}
			if _, err := json.Marshal(a.Schema()); err != nil {
				t.Fatal(err)
			}
			if _, err := json.Marshal(a.XMLRoots()); err != nil {
				t.Fatal(err)
			}
		}
	})
}
