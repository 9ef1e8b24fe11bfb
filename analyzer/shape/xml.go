package shape

import (
	"bytes"
	"encoding/xml"
	"io"
	"sort"
	"unicode/utf8"
)

// maxXMLRoots is how many distinct root element names a Shape keeps: the
// smallest names, so that the set does not depend on the order seen (as
// for properties); the others are only counted.
const maxXMLRoots = 16

// xmlRoots counts root element names, "{namespace}local" or "local".
type xmlRoots struct {
	names map[string]uint64
	other uint64 // bodies whose root name is not kept
}

func (x *xmlRoots) total() uint64 {
	t := x.other
	for _, c := range x.names {
		t += c
	}
	return t
}

func (x *xmlRoots) add(name string, n uint64) {
	if _, ok := x.names[name]; !ok && len(x.names) >= maxXMLRoots {
		largest := ""
		for k := range x.names {
			if k > largest {
				largest = k
			}
		}
		if name > largest {
			x.other += n
			return
		}
		x.other += x.names[largest]
		delete(x.names, largest)
	}
	if x.names == nil {
		x.names = make(map[string]uint64)
	}
	x.names[name] += n
}

func (x *xmlRoots) merge(o *xmlRoots) {
	x.other += o.other
	for k, c := range o.names {
		x.add(k, c)
	}
}

// ObserveXML records the root element's name and namespace of an XML body;
// the rest of the document is not read. It returns false if no root element
// starts within the first few tokens.
func (s *Shape) ObserveXML(data []byte) bool {
	d := xml.NewDecoder(bytes.NewReader(data))
	// Only the root's name matters: a body declared in another charset is
	// read as is rather than refused (names are ASCII in practice).
	d.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	for k := 0; k < 64; k++ { // prolog: declaration, comments, doctype, white space
		t, err := d.Token()
		if err != nil {
			return false
		}
		if se, ok := t.(xml.StartElement); ok {
			name := se.Name.Local
			if se.Name.Space != "" {
				name = "{" + se.Name.Space + "}" + name
			}
			if len(name) > maxName || !utf8.ValidString(name) {
				s.xml.other++
			} else {
				s.xml.add(name, 1)
			}
			return true
		}
	}
	return false
}

// XMLRoots is the root element names seen, sorted: "{namespace}local" when
// the element is in a namespace, else "local".
func (s *Shape) XMLRoots() []string {
	out := make([]string, 0, len(s.xml.names))
	for k := range s.xml.names {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
