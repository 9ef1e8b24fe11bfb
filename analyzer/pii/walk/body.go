package walk

import (
	"bytes"
	"unicode/utf8"
)

// MaxFilePart is the largest file part of a multipart body that is walked
// (when it is text, JSON or XML); larger or binary files are skipped, as
// an upload's content is not API data.
const MaxFilePart = 64 << 10

// Body walks body according to its media type (parameters allowed):
// JSON and +json; NDJSON (application/x-ndjson, ndjson, jsonl,
// x-jsonlines, json-seq); forms; multipart/* with a boundary parameter;
// XML, +xml and SOAP; text/*. Without a media type the body is sniffed:
// JSON when it starts with '{' or '[', XML with '<', text otherwise when it
// is valid UTF-8. Other types (images, octet streams) are not walked. A
// truncated JSON body is not an error.
func (w *Walker) Body(contentType string, body []byte, visit Visitor) error {
	w.init(visit)
	return w.body(unsafeBytes(contentType), body, "$")
}

func (w *Walker) body(ct, b []byte, root string) error {
	mt, params := ct, ct[len(ct):]
	if i := bytes.IndexByte(ct, ';'); i >= 0 {
		mt, params = ct[:i], ct[i+1:]
	}
	mt = trimSpace(mt)
	switch kindOf(mt, b) {
	case kJSON:
		w.setRoot(root)
		_, err := w.json(b)
		return err
	case kNDJSON:
		return w.ndjson(b)
	case kForm:
		return w.form(b, root)
	case kMultipart:
		bnd := param(params, "boundary")
		if len(bnd) == 0 {
			return ErrSyntax
		}
		return w.multipart(b, bnd, root)
	case kXML:
		if root == "$" {
			root = "" // XML paths start with "/"
		}
		w.setRoot(root)
		return w.xml(b)
	case kText:
		return w.text(b, root)
	case kGRPC:
		return w.grpc(b, root)
	case kProto:
		return w.proto(b, root)
	}
	return nil
}

const (
	kNone = iota
	kJSON
	kNDJSON
	kForm
	kMultipart
	kXML
	kText
	kGRPC  // length-prefixed protobuf messages (proto.go)
	kProto // one protobuf message
)

func kindOf(mt, b []byte) int {
	if len(mt) == 0 {
		return sniff(b)
	}
	typ, sub := mt, mt[len(mt):]
	if i := bytes.IndexByte(mt, '/'); i >= 0 {
		typ, sub = mt[:i], mt[i+1:]
	}
	switch {
	case eqFold(sub, "x-ndjson") || eqFold(sub, "ndjson") || eqFold(sub, "jsonl") ||
		eqFold(sub, "x-jsonlines") || eqFold(sub, "jsonlines") || eqFold(sub, "json-seq"):
		return kNDJSON
	case eqFold(sub, "json") || hasSuffixFold(sub, "+json"):
		return kJSON
	case eqFold(sub, "x-www-form-urlencoded"):
		return kForm
	case eqFold(typ, "multipart"):
		return kMultipart
	case eqFold(sub, "xml") || hasSuffixFold(sub, "+xml"):
		return kXML
	case eqFold(typ, "text"):
		return kText
	case eqFold(sub, "grpc") || eqFold(sub, "grpc+proto") || eqFold(sub, "grpc-web") || eqFold(sub, "grpc-web+proto"):
		return kGRPC
	case eqFold(sub, "x-protobuf") || eqFold(sub, "protobuf") || eqFold(sub, "vnd.google.protobuf"):
		return kProto
	}
	return kNone
}

func sniff(b []byte) int {
	b = trimSpace(b)
	if len(b) == 0 {
		return kNone
	}
	switch b[0] {
	case '{', '[':
		return kJSON
	case '<':
		return kXML
	}
	if isText(b) {
		return kText
	}
	return kNone
}

// isText: valid UTF-8 in the first 512 bytes with no control bytes other
// than white space.
func isText(b []byte) bool {
	if len(b) > 512 {
		b = b[:512]
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' || c == 0x7f {
			return false
		}
		if c >= 0x80 {
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 && len(b)-i >= 4 {
				return false
			}
			i += size - 1
		}
	}
	return true
}

func eqFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		if lower(b[i]) != s[i] {
			return false
		}
	}
	return true
}

func hasSuffixFold(b []byte, s string) bool {
	return len(b) >= len(s) && eqFold(b[len(b)-len(s):], s)
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// param returns the value of the named media-type parameter (quotes
// removed) from "a=1; boundary=xyz".
func param(params []byte, name string) []byte {
	for len(params) > 0 {
		p := params
		if i := bytes.IndexByte(params, ';'); i >= 0 {
			p, params = params[:i], params[i+1:]
		} else {
			params = nil
		}
		i := bytes.IndexByte(p, '=')
		if i < 0 || !eqFold(trimSpace(p[:i]), name) {
			continue
		}
		v := trimSpace(p[i+1:])
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		return v
	}
	return nil
}

// Multipart walks a multipart body (form-data, or mixed): each part is a
// leaf or a subtree at "$.<name>" (the form-data name, bracket notation
// as in Form; "$" for a part without a name). A part is walked by its
// Content-Type (JSON parts as JSON, and so on; text when it has none). A
// file part (one with a filename) is walked only when it is text, JSON or
// XML and at most MaxFilePart bytes. A body cut before the closing
// delimiter walks what is there; one without any delimiter has no parts.
func (w *Walker) Multipart(body []byte, boundary string, visit Visitor) error {
	w.init(visit)
	return w.multipart(body, unsafeBytes(boundary), "$")
}

func (w *Walker) multipart(b, bnd []byte, root string) error {
	if len(bnd) == 0 || len(bnd) > 200 {
		return ErrSyntax
	}
	// Find the first delimiter: "--boundary" at the start or after a newline.
	i := indexDelim(b, bnd, true)
	if i < 0 {
		return nil // no part (or cut before the first delimiter)
	}
	b = b[i+2+len(bnd):]
	for {
		// After a delimiter: "--" closes, otherwise the line ends.
		if len(b) >= 2 && b[0] == '-' && b[1] == '-' {
			return nil
		}
		nl := bytes.IndexByte(b, '\n')
		if nl < 0 {
			return nil // cut
		}
		b = b[nl+1:]
		// The part: headers, a blank line, the content up to the next delimiter.
		end := indexDelim(b, bnd, false)
		part, rest := b, b[len(b):]
		if end >= 0 {
			part, rest = b[:end], b[end:]
			// end is at the newline before the delimiter, which belongs to it.
			// Skip the "\n--boundary" or "--boundary" itself.
			j := bytes.Index(rest, bnd)
			rest = rest[j+len(bnd):]
		}
		if end < 0 {
			part = trimPartialDelim(part, bnd)
		}
		if err := w.part(part, root, end < 0); err != nil || w.stop {
			return err
		}
		if end < 0 {
			return nil
		}
		b = rest
	}
}

// trimPartialDelim drops the start of a delimiter that a cut body ends
// with ("\r\n--Xy" of "\r\n--XyZ"), so that it is not read as content.
func trimPartialDelim(p, bnd []byte) []byte {
	i := bytes.LastIndexByte(p, '\n')
	if i < 0 || len(p)-i-1 > 2+len(bnd) {
		return p
	}
	tail := p[i+1:]
	if len(tail) >= 1 && tail[0] != '-' || len(tail) >= 2 && tail[1] != '-' ||
		len(tail) > 2 && !bytes.HasPrefix(bnd, tail[2:]) {
		return p
	}
	if i > 0 && p[i-1] == '\r' {
		i--
	}
	return p[:i]
}

// indexDelim returns the index of "--"+bnd at the start of b (when start)
// or after a newline (the index of the newline's first byte).
func indexDelim(b, bnd []byte, start bool) int {
	if start && len(b) >= 2+len(bnd) && b[0] == '-' && b[1] == '-' && bytes.Equal(b[2:2+len(bnd)], bnd) {
		return 0
	}
	off := 0
	for {
		j := bytes.Index(b[off:], bnd)
		if j < 0 {
			return -1
		}
		k := off + j // b[k:] starts with bnd
		if k >= 3 && b[k-1] == '-' && b[k-2] == '-' && b[k-3] == '\n' {
			if start {
				return k - 2
			}
			if k >= 4 && b[k-4] == '\r' {
				return k - 4
			}
			return k - 3
		}
		if !start && k == 2 && b[0] == '-' && b[1] == '-' {
			return 0 // an empty part
		}
		off = k + 1
	}
}

func (w *Walker) part(p []byte, root string, cut bool) error {
	var name, ctype []byte
	file := false
	// Headers up to the blank line.
	for {
		nl := bytes.IndexByte(p, '\n')
		if nl < 0 {
			return nil // cut inside the headers
		}
		line := trimSpace(p[:nl])
		p = p[nl+1:]
		if len(line) == 0 {
			break
		}
		c := bytes.IndexByte(line, ':')
		if c < 0 {
			continue
		}
		h, v := trimSpace(line[:c]), trimSpace(line[c+1:])
		switch {
		case eqFold(h, "content-disposition"):
			name = param(v, "name")
			if param(v, "filename") != nil || param(v, "filename*") != nil {
				file = true
			}
		case eqFold(h, "content-type"):
			ctype = v
		}
	}
	mt := ctype
	if i := bytes.IndexByte(mt, ';'); i >= 0 {
		mt = mt[:i]
	}
	k := kindOf(trimSpace(mt), p)
	if len(ctype) == 0 {
		k = kText // a form field
	}
	if file && (len(p) > MaxFilePart || k == kNone || k == kMultipart) {
		return nil
	}
	w.setRoot(root)
	if len(name) > 0 {
		w.formName(name)
	}
	sub := string(w.path) // a part's root; one small copy per part, not per leaf
	w.stack = w.stack[:0]
	switch k {
	case kText:
		if cut && len(p) <= w.MaxValue {
			return w.emitErr(p, String, true)
		}
		if len(p) <= w.MaxValue {
			return w.emitErr(p, String, false)
		}
		return w.text(p, sub)
	case kNone, kMultipart:
		return nil
	}
	return w.body(ctype, p, sub)
}

func (w *Walker) emitErr(v []byte, kind uint8, cut bool) error {
	if !w.emit(v, kind, cut) {
		return w.err
	}
	return nil
}
