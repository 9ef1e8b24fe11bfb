package evalset

import (
	"fmt"
	"strings"
)

// A payload is built as an ordered tree whose labelled leaves know their
// type; serializing it to JSON, XML or a form computes each label's walker
// path, so labels cannot drift from the bytes.

type obj []field // an object, in order
type field struct {
	k string
	v any // string, num, bool, nil, obj, arr, lab, text
}
type arr []any
type num string // a raw JSON number

// lab is a labelled leaf: a string, or a num when n is set.
type lab struct {
	v    string
	n    bool
	typ  string
	kind string
}

// text is a free-text leaf with planted values (labels on substrings).
type text struct {
	v    string
	subs []lab
}

func pos(typ, v string) lab  { return lab{v: v, typ: typ, kind: Positive} }
func near(typ, v string) lab { return lab{v: v, typ: typ, kind: NearMiss} }
func neg(v string) lab       { return lab{v: v, kind: HardNegative} }
func negNum(v string) lab    { return lab{v: v, n: true, kind: HardNegative} }

type ser struct {
	b      strings.Builder
	labels []Label
	esc    bool // JSON: escape '@' and '/' too (\u0040, \/)
}

func (s *ser) label(path string, l lab) {
	s.labels = append(s.labels, Label{Path: path, Type: l.typ, Kind: l.kind, Value: l.v})
}

// --- JSON ---

func (s *ser) json(v any, path string) {
	switch v := v.(type) {
	case obj:
		s.b.WriteByte('{')
		for i, f := range v {
			if i > 0 {
				s.b.WriteByte(',')
			}
			s.jstr(f.k)
			s.b.WriteByte(':')
			s.json(f.v, path+"."+f.k)
		}
		s.b.WriteByte('}')
	case arr:
		s.b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				s.b.WriteByte(',')
			}
			s.json(e, path+"[]")
		}
		s.b.WriteByte(']')
	case string:
		s.jstr(v)
	case num:
		s.b.WriteString(string(v))
	case bool:
		fmt.Fprint(&s.b, v)
	case nil:
		s.b.WriteString("null")
	case lab:
		s.label(path, v)
		if v.n {
			s.b.WriteString(v.v)
		} else {
			s.jstr(v.v)
		}
	case text:
		for _, l := range v.subs {
			s.label(path, l)
		}
		s.jstr(v.v)
	default:
		panic(fmt.Sprintf("evalset: %T", v))
	}
}

func (s *ser) jstr(v string) {
	s.b.WriteByte('"')
	for _, r := range v {
		switch {
		case r == '"' || r == '\\':
			s.b.WriteByte('\\')
			s.b.WriteRune(r)
		case r == '\n':
			s.b.WriteString(`\n`)
		case r < 0x20:
			fmt.Fprintf(&s.b, `\u%04x`, r)
		case s.esc && r == '@':
			s.b.WriteString(`\u0040`)
		case s.esc && r == '/':
			s.b.WriteString(`\/`)
		case s.esc && r > 0xffff:
			fmt.Fprintf(&s.b, `\u%04x\u%04x`, 0xd800+((r-0x10000)>>10), 0xdc00+((r-0x10000)&0x3ff))
		default:
			s.b.WriteRune(r)
		}
	}
	s.b.WriteByte('"')
}

// --- XML ---

// xml writes v's fields as elements under path; keys starting with '@'
// are attributes of the enclosing element (written by the caller); an
// array repeats the element.
func (s *ser) xml(k string, v any, path string) {
	name := k
	prefix := ""
	if i := strings.IndexByte(k, ':'); i >= 0 {
		prefix, name = k[:i+1], k[i+1:]
	}
	p := path + "/" + name
	if a, ok := v.(arr); ok {
		for _, e := range a {
			s.xml(k, e, path)
		}
		return
	}
	s.b.WriteString("<" + prefix + name)
	if o, ok := v.(obj); ok {
		for _, f := range o {
			if strings.HasPrefix(f.k, "@") {
				s.b.WriteString(" " + f.k[1:] + `="`)
				s.xtext(f.v, p+"/"+f.k)
				s.b.WriteString(`"`)
			}
		}
		s.b.WriteString(">")
		for _, f := range o {
			if !strings.HasPrefix(f.k, "@") {
				s.xml(f.k, f.v, p)
			}
		}
	} else {
		s.b.WriteString(">")
		s.xtext(v, p)
	}
	s.b.WriteString("</" + prefix + name + ">")
}

func (s *ser) xtext(v any, path string) {
	var str string
	switch v := v.(type) {
	case string:
		str = v
	case num:
		str = string(v)
	case bool:
		str = fmt.Sprint(v)
	case nil:
		return
	case lab:
		s.label(path, v)
		str = v.v
	case text:
		for _, l := range v.subs {
			s.label(path, l)
		}
		str = v.v
	}
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "\n", "&#10;")
	s.b.WriteString(r.Replace(str))
}

// --- forms and query strings ---

func (s *ser) form(v any, name, path string) {
	switch v := v.(type) {
	case obj:
		for _, f := range v {
			n := f.k
			if name != "" {
				n = name + "[" + f.k + "]"
			}
			s.form(f.v, n, path+"."+f.k)
		}
	case arr:
		for _, e := range v {
			s.form(e, name+"[]", path+"[]")
		}
	default:
		if s.b.Len() > 0 {
			s.b.WriteByte('&')
		}
		s.b.WriteString(formEscape(name))
		s.b.WriteByte('=')
		var str string
		switch v := v.(type) {
		case string:
			str = v
		case num:
			str = string(v)
		case lab:
			s.label(path, v)
			str = v.v
		case text:
			for _, l := range v.subs {
				s.label(path, l)
			}
			str = v.v
		}
		s.b.WriteString(formEscape(str))
	}
}

// formEscape percent-encodes like url.QueryEscape but keeps brackets, as
// browsers and HTTP clients commonly send them.
func formEscape(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_.~[]", c) >= 0:
			b.WriteByte(c)
		case c == ' ':
			b.WriteByte('+')
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
