package walk

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"unicode/utf8"
)

type got struct {
	path, value string
	kind        uint8
	cut         bool
}

func (g got) String() string {
	c := ""
	if g.cut {
		c = " cut"
	}
	return fmt.Sprintf("%s=%q/%d%s", g.path, g.value, g.kind, c)
}

func collect(out *[]got) Visitor {
	return func(l *Leaf) bool {
		*out = append(*out, got{string(l.Path), string(l.Value), l.Kind, l.Cut})
		return true
	}
}

func walkJSON(t testing.TB, w *Walker, body string) ([]got, bool, error) {
	var out []got
	tr, err := w.JSON([]byte(body), collect(&out))
	return out, tr, err
}

func str(gs []got) string {
	var b strings.Builder
	for _, g := range gs {
		b.WriteString(g.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// reference flattens a valid JSON body with encoding/json's token stream
// (which keeps duplicate keys and order) under the walker's path rules.
func reference(body []byte) ([]got, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	type fr struct {
		plen int
		arr  bool
		key  bool // next string in an object is a key
	}
	var st []fr
	path := []byte("$")
	var out []got
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if len(st) > 0 && !st[len(st)-1].arr && st[len(st)-1].key {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				path = path[:st[len(st)-1].plen]
				st = st[:len(st)-1]
				if len(st) > 0 && !st[len(st)-1].arr {
					st[len(st)-1].key = true
				}
				continue
			}
			top := &st[len(st)-1]
			path = append(path[:top.plen], '.')
			path = append(path, tok.(string)...)
			top.key = false
			continue
		}
		leaf := func(v string, k uint8) {
			out = append(out, got{string(path), v, k, false})
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				st = append(st, fr{plen: len(path), key: true})
				continue
			case '[':
				st = append(st, fr{plen: len(path), arr: true})
				path = append(path, "[]"...)
				continue
			default:
				path = path[:st[len(st)-1].plen]
				st = st[:len(st)-1]
			}
		case string:
			leaf(v, String)
		case json.Number:
			leaf(string(v), Number)
		case bool:
			leaf(fmt.Sprint(v), Bool)
		case nil:
			leaf("null", Null)
		}
		if len(st) > 0 && !st[len(st)-1].arr {
			st[len(st)-1].key = true
		}
	}
}

// checkJSON is the differential and bounds check shared by the tests and FuzzJSON.
func checkJSON(t *testing.T, body []byte) {
	t.Helper()
	var w Walker
	var out []got
	tr, err := w.JSON(body, func(l *Leaf) bool {
		if !bytes.HasPrefix(l.Path, []byte("$")) || len(l.Path) > DefaultMaxPath {
			t.Fatalf("bad path %q", l.Path)
		}
		if len(l.Value) > DefaultMaxValue {
			t.Fatalf("value of %d bytes", len(l.Value))
		}
		out = append(out, got{string(l.Path), string(l.Value), l.Kind, l.Cut})
		return true
	})
	valid := json.Valid(body)
	if !tr && err == nil && !valid {
		t.Fatalf("walker accepted invalid JSON %q", body)
	}
	if !valid || !utf8.Valid(body) {
		return // encoding/json replaces invalid UTF-8; the walker hands it out as is
	}
	if err == ErrDepth || err == ErrLeaves {
		return
	}
	if err != nil || tr {
		t.Fatalf("valid JSON %q: truncated %v err %v", body, tr, err)
	}
	want, rerr := reference(body)
	if rerr != nil {
		t.Fatalf("reference: %v", rerr)
	}
	cutPaths(want)
	for i := range want {
		if len(want[i].value) > DefaultMaxValue {
			want[i].value, want[i].cut = want[i].value[:DefaultMaxValue], true
		}
	}
	if str(out) != str(want) {
		t.Fatalf("body %q\nwalker:\n%s\nencoding/json:\n%s", body, str(out), str(want))
	}
}

// cutPaths applies MaxPath to reference paths when they are plain (a cut
// in the middle of a multi-segment path is tested separately).
func cutPaths(gs []got) {
	for i := range gs {
		if len(gs[i].path) > DefaultMaxPath {
			gs[i].path = gs[i].path[:DefaultMaxPath]
		}
	}
}

var jsonCases = []string{
	`{"user":{"id":7,"email":"a@b.org","addresses":[{"street":"1 Main St","zip":"02139"},{"street":"2 Elm"}],"tags":[],"meta":{}},"ok":true,"n":null}`,
	`[1,-2.5e+10,0,-0,1E3,"x",[["deep"]],{"a":[{"b":[1,2]}]}]`,
	`"root"`, `12`, `true`, ` null `,
	`{"esc":"\u0041\u00e9\u20ac\ud83d\ude00 \"q\" \\ \/ \b\f\n\r\t","lone":"\ud800x","lone2":"\udc00","pair-bad":"\ud800\u0041"}`,
	`{"k\u0065y":"v","":"empty key","a.b":"dot"}`,
	`{"dup":1,"dup":2}`,
	`{"utf8":"héllo wörld ✓ 😀"}`,
	"{\"ws\" : \t\r\n [ 1 , 2 ] }",
}

func TestJSONDifferential(t *testing.T) {
	for _, c := range jsonCases {
		checkJSON(t, []byte(c))
	}
}

func TestJSONPaths(t *testing.T) {
	var w Walker
	out, tr, err := walkJSON(t, &w, jsonCases[0])
	if err != nil || tr {
		t.Fatal(tr, err)
	}
	want := `$.user.id="7"/2
$.user.email="a@b.org"/1
$.user.addresses[].street="1 Main St"/1
$.user.addresses[].zip="02139"/1
$.user.addresses[].street="2 Elm"/1
$.ok="true"/3
$.n="null"/4
`
	if str(out) != want {
		t.Fatalf("got\n%s", str(out))
	}
}

// Every prefix of a valid body walks without error, visiting the leaves of
// the full walk in order, the last possibly cut (a prefix of the whole value).
func TestJSONTruncated(t *testing.T) {
	for _, c := range jsonCases {
		var w Walker
		full, _, _ := walkJSON(t, &w, c)
		if isRootNumber(c) {
			continue // "1" of "12" is a whole body
		}
		for k := 0; k < len(c); k++ {
			part, tr, err := walkJSON(t, &w, c[:k])
			if err != nil {
				t.Fatalf("%q: %v", c[:k], err)
			}
			if !tr && strings.TrimSpace(c[:k]) != strings.TrimSpace(c) && !isRootNumber(c) {
				t.Fatalf("%q: not truncated", c[:k])
			}
			if len(part) > len(full) {
				t.Fatalf("%q: %d leaves > %d", c[:k], len(part), len(full))
			}
			for i, g := range part {
				f := full[i]
				if g.cut {
					if i != len(part)-1 || g.path != f.path || !strings.HasPrefix(f.value, strings.TrimRight(g.value, "\ufffd")) {
						t.Fatalf("%q: cut leaf %v vs %v", c[:k], g, f)
					}
					continue
				}
				if g != f {
					t.Fatalf("%q: leaf %v vs %v", c[:k], g, f)
				}
			}
		}
	}
}

func isRootNumber(c string) bool { return c == "12" }

func TestJSONMalformed(t *testing.T) {
	cases := []struct {
		body   string
		leaves int // visited before the fault
	}{
		{`{"a":1,"b":2 "c":3}`, 2},
		{`{"a":1,}`, 1},
		{`[1,2,]`, 2},
		{`{"a" 1}`, 0},
		{`{a:1}`, 0},
		{`[01]`, 1}, // 0 is a whole token, the fault is the 1 after it
		{`[1.]`, 0},
		{`["x` + "\x01" + `"]`, 0},
		{`["\x"]`, 0},
		{`["\u12g4"]`, 0},
		{`[tru,1]`, 0},
		{`{"a":[1}`, 1},
		{`{"a":1}}`, 1},
		{`{"a":1} x`, 1},
		{`[1 2]`, 1},
		{`nul!`, 0},
		{`+1`, 0},
	}
	for _, c := range cases {
		var w Walker
		out, _, err := walkJSON(t, &w, c.body)
		if !errors.Is(err, ErrSyntax) {
			t.Errorf("%s: err %v", c.body, err)
		}
		if len(out) != c.leaves {
			t.Errorf("%s: %d leaves before the fault, want %d", c.body, len(out), c.leaves)
		}
		if json.Valid([]byte(c.body)) {
			t.Errorf("%s: valid for encoding/json", c.body)
		}
	}
}

func TestJSONBounds(t *testing.T) {
	var w Walker
	deep := strings.Repeat("[", 64) + "1" + strings.Repeat("]", 64)
	if out, _, err := walkJSON(t, &w, deep); err != nil || len(out) != 1 || len(out[0].path) != 1+128 {
		t.Fatalf("64 deep: %v %v", out, err)
	}
	if _, _, err := walkJSON(t, &w, "[1,"+deep[:len(deep)-64]+"]"); err != ErrDepth {
		t.Fatalf("65 deep: %v", err)
	}
	// A million brackets: stopped at the bound, bounded stack.
	if _, _, err := walkJSON(t, &w, strings.Repeat(`{"a":[`, 1<<20)); err != ErrDepth {
		t.Fatal(err)
	}
	if cap(w.stack) > DefaultMaxDepth+1 {
		t.Fatalf("stack grew to %d", cap(w.stack))
	}

	huge := strings.Repeat("x", 3*DefaultMaxValue)
	out, _, err := walkJSON(t, &w, `{"s":"`+huge+`","e":"\n`+huge+`","after":1}`)
	if err != nil || len(out) != 3 || len(out[0].value) != DefaultMaxValue || !out[0].cut ||
		len(out[1].value) != DefaultMaxValue || !out[1].cut || out[2].cut {
		t.Fatalf("huge: %d leaves, %v", len(out), err)
	}
	if cap(w.buf) > 2*DefaultMaxValue {
		t.Fatalf("unescape buffer grew to %d", cap(w.buf))
	}

	longKey := strings.Repeat("k", 1000)
	out, _, err = walkJSON(t, &w, `{"`+longKey+`":{"b":1},"c":2}`)
	if err != nil || len(out) != 2 || len(out[0].path) != DefaultMaxPath || out[1].path != "$.c" {
		t.Fatalf("long key: %v %v", out, err)
	}
	lw := Walker{MaxLeaves: 3}
	out, _, err = walkJSON(t, &lw, `[1,2,3,4,5]`)
	if err != ErrLeaves || len(out) != 3 {
		t.Fatalf("leaves: %v %v", out, err)
	}
	// The visitor stops the walk.
	n := 0
	tr, err := w.JSON([]byte(`[1,2,3]`), func(*Leaf) bool { n++; return false })
	if n != 1 || tr || err != nil {
		t.Fatal(n, tr, err)
	}
	// Small limits are honoured.
	sw := Walker{MaxPath: 8, MaxValue: 4, MaxDepth: 2}
	out, _, err = walkJSON(t, &sw, `{"abcdefghij":"0123456789","b":{"c":"\u00e9\u00e9\u00e9"}}`)
	if err != nil || out[0].path != "$.abcdef" || out[0].value != "0123" || !out[0].cut ||
		out[1].path != "$.b.c" || out[1].value != "éé" || !out[1].cut {
		t.Fatalf("small limits: %v %v", out, err)
	}
}

func TestAllocs(t *testing.T) {
	body := benchBody(4 << 10)
	var w Walker
	n := 0
	visit := func(l *Leaf) bool { n += len(l.Value); return true }
	form := []byte("email=a%40b.org&user[name]=J+Doe&ids[]=1&ids[]=2")
	xml := []byte(`<?xml version="1.0"?><s:Envelope xmlns:s="urn:x"><s:Body><r id="1"><email>a&amp;b@c.org</email></r></s:Body></s:Envelope>`)
	mp := []byte("--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue\r\n--b\r\nContent-Disposition: form-data; name=\"j\"\r\nContent-Type: application/json\r\n\r\n{\"x\":[1]}\r\n--b--\r\n")
	for name, f := range map[string]func(){
		"json":      func() { w.JSON(body, visit) },
		"form":      func() { w.Form(form, visit) },
		"query":     func() { w.Query("a=1&b=%20x", visit) },
		"cookies":   func() { w.Cookies("sid=abc; theme=dark", false, visit) },
		"xml":       func() { w.XML(xml, visit) },
		"body":      func() { w.Body("application/vnd.api+json; charset=utf-8", body, visit) },
		"multipart": func() { w.Multipart(mp, "b", visit) },
	} {
		f()
		if a := testing.AllocsPerRun(100, f); a != 0 && name != "multipart" {
			t.Errorf("%s: %v allocs per walk", name, a)
		} else if a > 2 {
			t.Errorf("%s: %v allocs per walk", name, a)
		}
	}
}

func TestCollapseIDs(t *testing.T) {
	body := []byte(`{"versions":{"1.6.0":{"email":"a"},"2.0.0-beta.1":{"email":"b"}},"by_day":{"2024-05-01":1},` +
		`"users":{"42":{"n":1},"5f0c9b1e2a7d4c3b8e6f0a1b":{"n":2},"3fa85f64-5717-4562-b3fc-2c963f66afa6":{"n":3}},` +
		`"2fa":true,"3d_secure":false,"name":"x"}`)
	var w Walker
	w.CollapseIDs = true
	var got []string
	if _, err := w.JSON(body, func(l *Leaf) bool { got = append(got, string(l.Path)); return true }); err != nil {
		t.Fatal(err)
	}
	want := []string{"$.versions.*.email", "$.versions.*.email", "$.by_day.*", "$.users.*.n", "$.users.*.n", "$.users.*.n",
		"$.2fa", "$.3d_secure", "$.name"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("paths\n got %v\nwant %v", got, want)
	}
	w.CollapseIDs = false
	got = got[:0]
	w.JSON(body, func(l *Leaf) bool { got = append(got, string(l.Path)); return true })
	if got[0] != "$.versions.1.6.0.email" {
		t.Fatalf("without CollapseIDs: %v", got)
	}
}
