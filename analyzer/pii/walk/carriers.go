package walk

import (
	"bytes"
	"unicode/utf8"
)

// NDJSON walks each line as a JSON value with the root path "$", so that
// the records of a stream aggregate per field. Blank lines are skipped; a
// last line cut by the end of the body is walked as a truncated value. A
// malformed line does not stop the walk (the next line is independent);
// the first such error is returned. MaxLeaves counts over the whole body.
func (w *Walker) NDJSON(body []byte, visit Visitor) error {
	w.init(visit)
	return w.ndjson(body)
}

func (w *Walker) ndjson(body []byte) error {
	var first error
	for len(body) > 0 {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		line = trimSpace(line)
		if len(line) == 0 {
			continue
		}
		w.setRoot("$")
		w.stack = w.stack[:0]
		_, err := w.json(line)
		if w.stop || err == ErrLeaves {
			return err
		}
		if err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Form walks an application/x-www-form-urlencoded body: one leaf per
// parameter, path "$.<name>" with the name percent-decoded and bracket
// notation turned into the JSON path rules (user[email] → $.user.email,
// ids[] and ids[3] → $.ids[]), so a form and the equivalent JSON body share
// paths. Values are percent-decoded ('+' is a space); a bad escape is kept
// as it is. A parameter without '=' has an empty value.
func (w *Walker) Form(body []byte, visit Visitor) error {
	w.init(visit)
	return w.form(body, "$")
}

// Query walks a raw URL query string ("a=1&b=2", without '?') like a form.
func (w *Walker) Query(rawQuery string, visit Visitor) error {
	w.init(visit)
	// The conversion does not copy: the bytes are only read.
	return w.form(unsafeBytes(rawQuery), "$")
}

func (w *Walker) form(b []byte, root string) error {
	for len(b) > 0 {
		pair := b
		if i := bytes.IndexByte(b, '&'); i >= 0 {
			pair, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		if len(pair) == 0 {
			continue
		}
		name, val := pair, pair[len(pair):]
		if i := bytes.IndexByte(pair, '='); i >= 0 {
			name, val = pair[:i], pair[i+1:]
		}
		w.setRoot(root)
		if bytes.IndexByte(name, '%') >= 0 || bytes.IndexByte(name, '+') >= 0 {
			w.nbuf, _ = unpercent(w.nbuf[:0], name, w.MaxPath, true)
			name = w.nbuf
		}
		w.formName(name)
		v, cut := val, false
		if bytes.IndexByte(val, '%') >= 0 || bytes.IndexByte(val, '+') >= 0 {
			w.buf, cut = unpercent(w.buf[:0], val, w.MaxValue, true)
			v = w.buf
		}
		if !w.emit(v, String, cut) {
			return w.err
		}
	}
	return nil
}

// formName appends a (decoded) form parameter name to the path: the part
// before the first '[' as a key, then each [x] as ".x", or "[]" when x is
// empty or all digits.
func (w *Walker) formName(name []byte) {
	i := bytes.IndexByte(name, '[')
	if i < 0 {
		i = len(name)
	}
	w.appendSeg(".", name[:i])
	rest := name[i:]
	for len(rest) > 0 {
		if rest[0] != '[' {
			w.appendSeg("", rest) // text after a ']' that is not a '['
			return
		}
		j := bytes.IndexByte(rest, ']')
		if j < 0 {
			w.appendSeg("", rest)
			return
		}
		seg := rest[1:j]
		if allDigits(seg) {
			w.appendSeg("[]", nil)
		} else {
			w.appendSeg(".", seg)
		}
		rest = rest[j+1:]
	}
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// unpercent appends the percent-decoded s to dst up to max bytes of dst.
func unpercent(dst, s []byte, max int, plus bool) ([]byte, bool) {
	for i := 0; i < len(s); i++ {
		if len(dst) >= max {
			return dst, true
		}
		c := s[i]
		switch {
		case c == '+' && plus:
			c = ' '
		case c == '%' && i+2 < len(s) && unhex(s[i+1]) >= 0 && unhex(s[i+2]) >= 0:
			c = byte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
		}
		dst = append(dst, c)
	}
	return dst, false
}

// Cookies walks a Cookie request header ("a=1; b=2"): one leaf per cookie,
// path "$.<name>". With namesOnly the Value is empty: the inventory learns
// which cookies an endpoint takes without reading session values. Values
// are taken as sent (surrounding double quotes removed), not decoded:
// cookie values have no defined encoding. A Set-Cookie header can be
// passed too; its attributes (Path, HttpOnly, …) are then leaves as well.
func (w *Walker) Cookies(header string, namesOnly bool, visit Visitor) error {
	w.init(visit)
	b := unsafeBytes(header)
	for len(b) > 0 {
		pair := b
		if i := bytes.IndexByte(b, ';'); i >= 0 {
			pair, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		pair = trimSpace(pair)
		if len(pair) == 0 {
			continue
		}
		name, val := pair, pair[len(pair):]
		if i := bytes.IndexByte(pair, '='); i >= 0 {
			name, val = trimSpace(pair[:i]), trimSpace(pair[i+1:])
		}
		if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
			val = val[1 : len(val)-1]
		}
		if namesOnly {
			val = nil
		}
		w.setRoot("$")
		w.appendSeg(".", name)
		if !w.emit(val, String, false) {
			return w.err
		}
	}
	return nil
}

// Text visits the body as text leaves with the path "$", in chunks of at
// most MaxValue bytes cut at UTF-8 boundaries, so a large body costs a
// bounded buffer in the classifier. A value spanning two chunks is split;
// the classifier's per-leaf cap would cut it anyway.
func (w *Walker) Text(body []byte, visit Visitor) error {
	w.init(visit)
	return w.text(body, "$")
}

func (w *Walker) text(b []byte, root string) error {
	w.setRoot(root)
	for len(b) > 0 {
		k := len(b)
		if k > w.MaxValue {
			k = w.MaxValue
			// Back up to a rune start (at most 3 bytes).
			for j := 0; j < 3 && k > 1 && !utf8.RuneStart(b[k]); j++ {
				k--
			}
		}
		if !w.emit(b[:k], Text, false) {
			return w.err
		}
		b = b[k:]
	}
	return nil
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r' || b[0] == '\n') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\r' || b[len(b)-1] == '\n') {
		b = b[:len(b)-1]
	}
	return b
}
