package analyzer

import (
	"strings"

	"github.com/apitap/apitap/analyzer/anomaly"
	"github.com/apitap/apitap/analyzer/inject"
	"github.com/apitap/apitap/flow"
)

// injector finds injection payloads in a request's path, query, headers
// and body (analyzer/inject). One per scanning goroutine.
type injector struct {
	s    inject.Scanner
	ms   []inject.Match
	skip map[string]bool // header name as sent -> injectSkipHeaders of its lower case (bounded)
}

func newInjector() injector { return injector{skip: map[string]bool{}} }

// skipHeader is injectSkipHeaders[strings.ToLower(name)], without lower-casing
// (an allocation for most names) on every request.
func (j *injector) skipHeader(name string) bool {
	skip, ok := j.skip[name]
	if !ok {
		if j.skip == nil || len(j.skip) >= 4096 {
			j.skip = map[string]bool{}
		}
		skip = injectSkipHeaders[strings.ToLower(name)]
		j.skip[strings.Clone(name)] = skip
	}
	return skip
}

var noSSRF = inject.AllClasses &^ inject.Classes(inject.SSRF)

// injectSkipHeaders are headers that carry protocol metadata or redacted
// credentials, not client-chosen text worth scanning.
var injectSkipHeaders = map[string]bool{
	"host": true, "content-length": true, "content-type": true, "accept": true, "accept-encoding": true,
	"accept-language": true, "connection": true, "authorization": true, "proxy-authorization": true,
	"cookie": true, "date": true, "if-none-match": true, "if-modified-since": true, "cache-control": true,
	"pragma": true, "te": true, "upgrade": true, "keep-alive": true, "content-encoding": true, "transfer-encoding": true,
}

// scanExchange appends the payloads of e's request to dst.
func (j *injector) scanExchange(dst []anomaly.Injection, e *flow.Exchange) []anomaly.Injection {
	dst = j.part(dst, exposureRequestPath, e.Path)
	if e.Query != "" {
		dst = j.part(dst, exposureRequestQuery, e.Query)
	}
	for _, h := range e.RequestHeaders {
		if len(h.Value) < 4 || j.skipHeader(h.Name) {
			continue
		}
		if strings.EqualFold(h.Name, "Referer") || strings.EqualFold(h.Name, "Origin") {
			// a development front end on localhost is not SSRF
			j.ms = j.s.ScanClasses(j.ms[:0], bytesOf(h.Value), noSSRF)
			dst = j.add(dst, exposureRequestHeader)
			continue
		}
		dst = j.part(dst, exposureRequestHeader, h.Value)
	}
	if b := e.Request.Data; len(b) > 0 && textual(e.Request.ContentType) {
		j.ms = j.s.Scan(j.ms[:0], b)
		dst = j.add(dst, exposureRequestBody)
	}
	return dst
}

func (j *injector) part(dst []anomaly.Injection, loc, s string) []anomaly.Injection {
	j.ms = j.s.Scan(j.ms[:0], bytesOf(s))
	return j.add(dst, loc)
}

func (j *injector) add(dst []anomaly.Injection, loc string) []anomaly.Injection {
	for _, m := range j.ms {
		if len(dst) >= 8 {
			break // enough evidence for one request
		}
		dst = append(dst, anomaly.Injection{Class: m.Class.String(), Rule: m.Rule, Location: loc})
	}
	return dst
}

// textual reports a body worth scanning for payloads: JSON, forms, XML,
// text, or no type at all (not an upload of an image or an archive).
func textual(ct string) bool {
	switch {
	case ct == "", strings.Contains(ct, "json"), strings.Contains(ct, "xml"), strings.Contains(ct, "form"),
		strings.HasPrefix(ct, "text/"), strings.Contains(ct, "graphql"):
		return true
	}
	return false
}
