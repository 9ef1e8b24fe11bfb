package inject

import (
	"strings"

	"github.com/apitap/apitap/flow"
)

// part is one value of an exchange as the analyzer scans it.
type part struct {
	where string // "path", "query", "header:<name>", "body"
	data  []byte
	cs    ClassSet
}

// exchangeParts returns the request parts of e: the raw path, the raw
// query string, every header value (SSRF skipped on the headers that name
// the server or the referring page), the request body.
func exchangeParts(e *flow.Exchange) []part {
	ps := []part{{"path", []byte(e.Path), AllClasses}}
	if e.Query != "" {
		ps = append(ps, part{"query", []byte(e.Query), AllClasses})
	}
	for _, h := range e.RequestHeaders {
		cs := AllClasses
		switch strings.ToLower(h.Name) {
		case "host", "origin", "referer":
			cs &^= Classes(SSRF)
		}
		ps = append(ps, part{"header:" + strings.ToLower(h.Name), []byte(h.Value), cs})
	}
	if len(e.Request.Data) > 0 {
		ps = append(ps, part{"body", e.Request.Data, AllClasses})
	}
	return ps
}
