package walk

import (
	"bytes"
	"testing"
)

// FuzzJSON: no input panics; a body the walker accepts whole is valid JSON;
// valid JSON gives the same leaves as encoding/json; paths and values stay
// within the bounds.
func FuzzJSON(f *testing.F) {
	for _, c := range jsonCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkJSON(t, data)
		var out []got
		w := Walker{MaxDepth: 3, MaxPath: 10, MaxValue: 5, MaxLeaves: 4}
		w.JSON(data, boundCheck(t, &w, "$", &out))
		w.NDJSON(data, boundCheck(t, &w, "$", &out))
	})
}

// boundCheck is a Visitor asserting the limits and the path shape.
func boundCheck(t *testing.T, w *Walker, root string, out *[]got) Visitor {
	return func(l *Leaf) bool {
		if !bytes.HasPrefix(l.Path, []byte(root)) && len(l.Path) >= len(root) {
			t.Fatalf("path %q does not start with %q", l.Path, root)
		}
		if len(l.Path) > w.MaxPath || len(l.Value) > w.MaxValue {
			t.Fatalf("bounds: path %d value %d", len(l.Path), len(l.Value))
		}
		if l.Kind < String || l.Kind > Text {
			t.Fatalf("kind %d", l.Kind)
		}
		*out = append(*out, got{})
		if len(*out) > 2*w.MaxLeaves+2 {
			t.Fatalf("%d leaves", len(*out))
		}
		return true
	}
}

func FuzzForm(f *testing.F) {
	f.Add([]byte("email=a%40b.org&user[name]=J+Doe&ids[]=1&ids[3]=2&flag&&x=%zz"))
	f.Add([]byte("a%5Bb%5D%5B0%5D=%E2%9C%93&=&&=x"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var out []got
		w := Walker{MaxPath: 12, MaxValue: 6, MaxLeaves: 5}
		w.Form(data, boundCheck(t, &w, "$", &out))
		out = out[:0]
		w.Query(string(data), boundCheck(t, &w, "$", &out))
		out = out[:0]
		w.Cookies(string(data), false, boundCheck(t, &w, "$", &out))
		var d Walker
		d.Form(data, func(l *Leaf) bool {
			if len(l.Path) < 2 || string(l.Path[:2]) != "$." {
				t.Fatalf("form path %q", l.Path)
			}
			return true
		})
	})
}

func FuzzMultipart(f *testing.F) {
	f.Add([]byte(mpBody), "XyZ")
	f.Add([]byte("--b\nContent-Disposition: form-data; name=\"a[b]\"\n\nv\n--b\nContent-Type: application/x-ndjson\n\n{\"a\":1}\n--b--"), "b")
	f.Fuzz(func(t *testing.T, data []byte, boundary string) {
		var out []got
		w := Walker{MaxDepth: 3, MaxPath: 16, MaxValue: 8, MaxLeaves: 6}
		w.Multipart(data, boundary, boundCheck(t, &w, "$", &out))
		out = out[:0]
		w.Body("multipart/mixed; boundary="+boundary, data, boundCheck(t, &w, "", &out))
		var d Walker
		d.Multipart(data, boundary, func(l *Leaf) bool { return true })
	})
}

func FuzzXML(f *testing.F) {
	f.Add([]byte(soap))
	f.Add([]byte(`<a x="1" y='&#x41;'><b>t&amp;<![CDATA[c]]></b><c/><!--x--></a>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var out []got
		w := Walker{MaxDepth: 3, MaxPath: 12, MaxValue: 6, MaxLeaves: 5}
		w.XML(data, boundCheck(t, &w, "", &out))
		var d Walker
		d.XML(data, func(l *Leaf) bool {
			if len(l.Path) == 0 || l.Path[0] != '/' {
				t.Fatalf("xml path %q", l.Path)
			}
			return true
		})
		out = out[:0]
		w.Body("", data, boundCheck(t, &w, "", &out))
	})
}
