package walk

import (
	"strings"
	"testing"
)

func run(t *testing.T, f func(Visitor) error) string {
	t.Helper()
	var out []got
	if err := f(collect(&out)); err != nil {
		t.Fatalf("%v (after %s)", err, str(out))
	}
	return str(out)
}

func TestForm(t *testing.T) {
	var w Walker
	g := run(t, func(v Visitor) error {
		return w.Form([]byte("email=a%40b.org&user[name]=J+Doe&user%5Bssn%5D=1&ids[]=1&ids[3]=2&flag&&bad=%zz%4&a[b][0][c]=x"), v)
	})
	want := `$.email="a@b.org"/1
$.user.name="J Doe"/1
$.user.ssn="1"/1
$.ids[]="1"/1
$.ids[]="2"/1
$.flag=""/1
$.bad="%zz%4"/1
$.a.b[].c="x"/1
`
	if g != want {
		t.Fatalf("got\n%s", g)
	}
	if q := run(t, func(v Visitor) error { return w.Query("token=ghp_x&q=a+b", v) }); q != "$.token=\"ghp_x\"/1\n$.q=\"a b\"/1\n" {
		t.Fatal(q)
	}
}

func TestCookies(t *testing.T) {
	var w Walker
	h := `sid=abc123; theme="dark";  empty=; flag`
	if g := run(t, func(v Visitor) error { return w.Cookies(h, false, v) }); g != "$.sid=\"abc123\"/1\n$.theme=\"dark\"/1\n$.empty=\"\"/1\n$.flag=\"\"/1\n" {
		t.Fatal(g)
	}
	if g := run(t, func(v Visitor) error { return w.Cookies(h, true, v) }); g != "$.sid=\"\"/1\n$.theme=\"\"/1\n$.empty=\"\"/1\n$.flag=\"\"/1\n" {
		t.Fatal(g)
	}
}

const soap = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE x [<!ENTITY e "v">]>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:u="urn:users">
  <soap:Header><u:Auth token='t0k&#x41;'/></soap:Header>
  <soap:Body>
    <!-- a <comment> -->
    <u:GetUserResponse>
      <u:email type="work">jane&#64;example.org</u:email>
      <u:note><![CDATA[<b>raw</b> & more]]></u:note>
      <u:name>Jane &amp; John &unknown; &lt;x&gt;</u:name>
      <u:empty/>
    </u:GetUserResponse>
  </soap:Body>
</soap:Envelope>`

func TestXML(t *testing.T) {
	var w Walker
	g := run(t, func(v Visitor) error { return w.XML([]byte(soap), v) })
	want := `/Envelope/Header/Auth/@token="t0kA"/1
/Envelope/Body/GetUserResponse/email/@type="work"/1
/Envelope/Body/GetUserResponse/email="jane@example.org"/1
/Envelope/Body/GetUserResponse/note="<b>raw</b> & more"/1
/Envelope/Body/GetUserResponse/name="Jane & John &unknown; <x>"/1
`
	if g != want {
		t.Fatalf("got\n%s", g)
	}
	for _, bad := range []string{`<a><b></a>`, `</a>`, `<a x=1>`, `< a>`} {
		if err := w.XML([]byte(bad), func(*Leaf) bool { return true }); err != ErrSyntax {
			t.Errorf("%s: %v", bad, err)
		}
	}
	// Truncated: what is there, no error; the cut text is marked.
	var out []got
	if err := w.XML([]byte(soap[:strings.Index(soap, "example")]), collect(&out)); err != nil || !out[len(out)-1].cut {
		t.Fatal(err, out)
	}
	if err := w.XML([]byte(strings.Repeat("<a>", 100)), func(*Leaf) bool { return true }); err != ErrDepth {
		t.Fatal(err)
	}
}

const mpBody = "preamble\r\n--XyZ\r\n" +
	"Content-Disposition: form-data; name=\"email\"\r\n\r\n" +
	"jane@example.org\r\n--XyZ\r\n" +
	"Content-Disposition: form-data; name=\"meta\"\r\nContent-Type: application/json\r\n\r\n" +
	"{\"card\":{\"number\":\"4111111111111111\"}}\r\n--XyZ\r\n" +
	"Content-Disposition: form-data; name=\"avatar\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n" +
	"\x89PNG\x00\x01\r\n--XyZ\r\n" +
	"Content-Disposition: form-data; name=\"notes\"; filename=\"n.txt\"\r\nContent-Type: text/plain\r\n\r\n" +
	"call +14155550123\r\n--XyZ\r\n" +
	"Content-Disposition: form-data; name=\"doc\"\r\nContent-Type: application/xml\r\n\r\n" +
	"<a><b>x</b></a>\r\n--XyZ--\r\nepilogue"

func TestMultipart(t *testing.T) {
	var w Walker
	g := run(t, func(v Visitor) error {
		return w.Body(`multipart/form-data; boundary="XyZ"`, []byte(mpBody), v)
	})
	want := `$.email="jane@example.org"/1
$.meta.card.number="4111111111111111"/1
$.notes="call +14155550123"/1
$.doc/a/b="x"/1
`
	if g != want {
		t.Fatalf("got\n%s", g)
	}
	// Cut anywhere: no panic, no error, a prefix of the leaves.
	for k := range len(mpBody) {
		var out []got
		if err := w.Multipart([]byte(mpBody[:k]), "XyZ", collect(&out)); err != nil {
			t.Fatalf("cut at %d: %v", k, err)
		}
		if len(out) > 4 {
			t.Fatalf("cut at %d: %s", k, str(out))
		}
	}
	// LF-only line ends.
	lf := strings.ReplaceAll(mpBody, "\r\n", "\n")
	if got2 := run(t, func(v Visitor) error { return w.Multipart([]byte(lf), "XyZ", v) }); got2 != want {
		t.Fatalf("LF:\n%s", got2)
	}
}

func TestBodyDispatch(t *testing.T) {
	var w Walker
	cases := []struct{ ct, body, want string }{
		{"application/json", `{"a":1}`, "$.a=\"1\"/2\n"},
		{"application/problem+json; charset=utf-8", `{"a":1}`, "$.a=\"1\"/2\n"},
		{"", ` [{"a":"x"}]`, "$[].a=\"x\"/1\n"},
		{"application/x-ndjson", "{\"a\":1}\n\n{\"a\":2}\n{\"a\":3", "$.a=\"1\"/2\n$.a=\"2\"/2\n$.a=\"3\"/2 cut\n"},
		{"APPLICATION/X-WWW-FORM-URLENCODED", "a=b", "$.a=\"b\"/1\n"},
		{"application/soap+xml", "<e><b>1</b></e>", "/e/b=\"1\"/1\n"},
		{"text/xml", "<e>1</e>", "/e=\"1\"/1\n"},
		{"", "<e>1</e>", "/e=\"1\"/1\n"},
		{"text/plain", "hello", "$=\"hello\"/5\n"},
		{"", "hello", "$=\"hello\"/5\n"},
		{"image/png", "\x89PNG", ""},
		{"", "\x89PNG\x00", ""},
	}
	for _, c := range cases {
		if g := run(t, func(v Visitor) error { return w.Body(c.ct, []byte(c.body), v) }); g != c.want {
			t.Errorf("%s %q:\n%s", c.ct, c.body, g)
		}
	}
}

func TestText(t *testing.T) {
	w := Walker{MaxValue: 5}
	g := run(t, func(v Visitor) error { return w.Text([]byte("abcdéfghij"), v) })
	if g != "$=\"abcd\"/5\n$=\"éfgh\"/5\n$=\"ij\"/5\n" {
		t.Fatal(g)
	}
}
