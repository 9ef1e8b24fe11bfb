package walk

import (
	"bytes"
	"unicode/utf8"
)

// XML walks element text and attribute values: an element's text at
// "/Envelope/Body/GetUserResponse/email", an attribute at ".../email/@type".
// Namespace prefixes are dropped (soap:Envelope is Envelope) and namespace
// declarations (xmlns, xmlns:p) are not leaves, so SOAP bodies from
// different toolkits share paths. Each run of text between tags is one
// leaf, trimmed of surrounding white space (white-space-only runs are
// skipped); CDATA sections are leaves of their own. Entities (the five
// predefined ones and character references) are decoded; others are kept
// as they are. Comments, processing instructions and DOCTYPE are skipped.
//
// This is a small tag scanner, not encoding/xml (about 50 MB/s with
// RawToken and allocating per token): it does not check well-formedness
// beyond tag nesting; a closing tag that does not match stops the walk with
// ErrSyntax. A body cut inside an element is not an error.
func (w *Walker) XML(body []byte, visit Visitor) error {
	w.init(visit)
	return w.xml(body)
}

var (
	cdataOpen  = []byte("<![CDATA[")
	cdataClose = []byte("]]>")
	commOpen   = []byte("<!--")
	commClose  = []byte("-->")
	piClose    = []byte("?>")
)

func (w *Walker) xml(b []byte) error {
	n := len(b)
	depth := 0
	p := 0
	for p < n {
		if b[p] != '<' {
			j := bytes.IndexByte(b[p:], '<')
			end := p + j
			if j < 0 {
				end = n
			}
			if depth > 0 {
				if err := w.xmlText(b[p:end], j < 0); err != nil || w.stop {
					return err
				}
			}
			p = end
			continue
		}
		rest := b[p:]
		switch {
		case bytes.HasPrefix(rest, commOpen):
			j := bytes.Index(rest[len(commOpen):], commClose)
			if j < 0 {
				return nil
			}
			p += len(commOpen) + j + len(commClose)
			continue
		case bytes.HasPrefix(rest, cdataOpen):
			c := rest[len(cdataOpen):]
			j := bytes.Index(c, cdataClose)
			cut := j < 0
			if cut {
				j = len(c)
			}
			if depth > 0 {
				if v := trimSpace(c[:j]); len(v) > 0 && !w.emit(v, String, cut) {
					return w.err
				}
			}
			if cut {
				return nil
			}
			p += len(cdataOpen) + j + len(cdataClose)
			continue
		case len(rest) >= 2 && rest[1] == '?':
			j := bytes.Index(rest, piClose)
			if j < 0 {
				return nil
			}
			p += j + 2
			continue
		case len(rest) >= 2 && rest[1] == '!': // DOCTYPE and other declarations
			j := skipDecl(rest)
			if j < 0 {
				return nil
			}
			p += j
			continue
		case len(rest) >= 2 && rest[1] == '/':
			j := bytes.IndexByte(rest, '>')
			if j < 0 {
				return nil
			}
			if depth == 0 {
				return ErrSyntax
			}
			name := local(trimSpace(rest[2:j]))
			top := w.stack[len(w.stack)-1]
			seg := w.path[top.plen:]
			if len(seg) > 0 {
				seg = seg[1:] // the "/"
			}
			if !top.cut && !bytes.Equal(seg, name) {
				return ErrSyntax
			}
			w.path = w.path[:top.plen]
			w.stack = w.stack[:len(w.stack)-1]
			depth--
			p += j + 1
			continue
		}
		// A start tag.
		q := 1
		for q < len(rest) && !isNameEnd(rest[q]) {
			q++
		}
		if q >= len(rest) {
			return nil
		}
		if q == 1 {
			return ErrSyntax
		}
		if depth >= w.MaxDepth {
			return ErrDepth
		}
		plen := len(w.path)
		full := w.appendSeg("/", local(rest[1:q]))
		w.stack = append(w.stack, frame{plen: int32(plen), cut: !full})
		depth++
		elem := len(w.path)
		// Attributes, up to ">" or "/>".
		for {
			for q < len(rest) && isSpace(rest[q]) {
				q++
			}
			if q >= len(rest) {
				return nil
			}
			if rest[q] == '>' {
				q++
				break
			}
			if rest[q] == '/' {
				if q+1 >= len(rest) {
					return nil
				}
				if rest[q+1] != '>' {
					return ErrSyntax
				}
				q += 2
				w.path = w.path[:plen]
				w.stack = w.stack[:len(w.stack)-1]
				depth--
				break
			}
			a := q
			for q < len(rest) && !isNameEnd(rest[q]) && rest[q] != '=' {
				q++
			}
			name := rest[a:q]
			if len(name) == 0 {
				return ErrSyntax
			}
			for q < len(rest) && isSpace(rest[q]) {
				q++
			}
			if q >= len(rest) {
				return nil
			}
			if rest[q] != '=' {
				continue // an attribute without a value (HTML style)
			}
			q++
			for q < len(rest) && isSpace(rest[q]) {
				q++
			}
			if q >= len(rest) {
				return nil
			}
			quote := rest[q]
			if quote != '"' && quote != '\'' {
				return ErrSyntax
			}
			e := bytes.IndexByte(rest[q+1:], quote)
			if e < 0 {
				return nil // cut inside the value: not visited, the tag is incomplete
			}
			val := rest[q+1 : q+1+e]
			q += e + 2
			if bytes.Equal(name, xmlns) || bytes.HasPrefix(name, xmlnsColon) {
				continue
			}
			w.appendSeg("/@", local(name))
			err := w.xmlValue(val, false)
			w.path = w.path[:elem]
			if err != nil || w.stop {
				return err
			}
		}
		p += q
	}
	return nil
}

var (
	xmlns      = []byte("xmlns")
	xmlnsColon = []byte("xmlns:")
)

// xmlText visits a text run (trimmed; nothing if only white space).
func (w *Walker) xmlText(t []byte, cut bool) error {
	t = trimSpace(t)
	if len(t) == 0 {
		return nil
	}
	return w.xmlValue(t, cut)
}

func (w *Walker) xmlValue(v []byte, cut bool) error {
	if bytes.IndexByte(v, '&') >= 0 {
		var c2 bool
		w.buf, c2 = unentity(w.buf[:0], v, w.MaxValue)
		v, cut = w.buf, cut || c2
	}
	if !w.emit(v, String, cut) {
		return w.err
	}
	return nil
}

// skipDecl returns the length of a "<!…>" declaration, skipping an
// internal subset in brackets; -1 if the body ends first.
func skipDecl(b []byte) int {
	in := 0
	for i := 2; i < len(b); i++ {
		switch b[i] {
		case '[':
			in++
		case ']':
			if in > 0 {
				in--
			}
		case '>':
			if in == 0 {
				return i + 1
			}
		}
	}
	return -1
}

// local drops a namespace prefix.
func local(name []byte) []byte {
	if i := bytes.LastIndexByte(name, ':'); i >= 0 {
		return name[i+1:]
	}
	return name
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isNameEnd(c byte) bool { return isSpace(c) || c == '>' || c == '/' }

// unentity appends v with entities decoded to dst, up to max bytes of dst.
func unentity(dst, v []byte, max int) ([]byte, bool) {
	for len(v) > 0 {
		if len(dst) >= max {
			return dst, true
		}
		i := bytes.IndexByte(v, '&')
		if i < 0 {
			i = len(v)
		}
		run := v[:i]
		if len(dst)+len(run) > max {
			return append(dst, run[:max-len(dst)]...), true
		}
		dst = append(dst, run...)
		v = v[i:]
		if len(v) == 0 {
			break
		}
		semi := bytes.IndexByte(v, ';')
		if semi < 0 || semi > 12 {
			dst = append(dst, '&')
			v = v[1:]
			continue
		}
		ent := v[1:semi]
		r := rune(-1)
		switch string(ent) {
		case "lt":
			r = '<'
		case "gt":
			r = '>'
		case "amp":
			r = '&'
		case "quot":
			r = '"'
		case "apos":
			r = '\''
		default:
			if len(ent) > 1 && ent[0] == '#' {
				r = charRef(ent[1:])
			}
		}
		if r < 0 {
			dst = append(dst, '&')
			v = v[1:]
			continue
		}
		if len(dst)+utf8.RuneLen(r) > max {
			return dst, true
		}
		dst = utf8.AppendRune(dst, r)
		v = v[semi+1:]
	}
	return dst, false
}

// charRef parses "123" or "x7B"; -1 if malformed or not a valid rune.
func charRef(s []byte) rune {
	base := rune(10)
	if s[0] == 'x' || s[0] == 'X' {
		base, s = 16, s[1:]
	}
	if len(s) == 0 {
		return -1
	}
	r := rune(0)
	for _, c := range s {
		d := unhex(c)
		if d < 0 || d >= base {
			return -1
		}
		r = r*base + d
		if r > utf8.MaxRune {
			return -1
		}
	}
	if !utf8.ValidRune(r) {
		return -1
	}
	return r
}
