package analyzer

import (
	"strings"
	"unsafe"

	"github.com/apitap/apitap/analyzer/anomaly"
	"github.com/apitap/apitap/analyzer/exposure"
	"github.com/apitap/apitap/analyzer/inventory"
	"github.com/apitap/apitap/analyzer/pii/walk"
	"github.com/apitap/apitap/analyzer/route"
	"github.com/apitap/apitap/flow"
)

// features are what anomaly detection needs of an exchange beyond its
// metadata, computed on the scanning goroutines: injection payloads in
// the request and the user name a login body tries.
type features struct {
	workers []featureWorker
	out     []exchangeFeatures // by item index, valid until the next batch
	ev      anomaly.Event      // scratch for observe
	ids     []string
}

type featureWorker struct {
	inj  injector
	walk walk.Walker
}

type exchangeFeatures struct {
	injections []anomaly.Injection
	user       string
}

func newFeatures(workers int) features {
	f := features{workers: make([]featureWorker, workers)}
	for i := range f.workers {
		f.workers[i].inj = newInjector()
		f.workers[i].walk.MaxLeaves = 200 // a login body is small
	}
	return f
}

// prepare sizes the per-item results for a batch of n items.
func (f *features) prepare(n int) {
	if cap(f.out) < n {
		f.out = append(f.out[:cap(f.out)], make([]exchangeFeatures, n-cap(f.out))...)
	}
	f.out = f.out[:n]
}

// hook returns the per-item work for this batch.
func (f *features) hook(det *anomaly.Detector) exposure.Hook {
	return func(w int, it *exposure.Item) {
		out := &f.out[it.Index]
		out.injections = out.injections[:0]
		out.user = ""
		fw := &f.workers[w]
		e := it.Exchange
		out.injections = fw.inj.scanExchange(out.injections, e)
		if det.LoginEndpoint(e.Method, it.Template) {
			out.user = loginUser(&fw.walk, e)
		}
	}
}

// userKeys are the body fields that name the account a login tries.
var userKeys = map[string]bool{"username": true, "user": true, "user_name": true, "userName": true, "login": true,
	"email": true, "userid": true, "user_id": true, "userId": true, "account": true, "principal": true, "identifier": true}

// loginUser is the user name a login request tries: a Basic/Digest user,
// else the first user-name field of its JSON or form body.
func loginUser(w *walk.Walker, e *flow.Exchange) string {
	if u := anomaly.User(e); u != "" {
		return u
	}
	if len(e.Request.Data) == 0 {
		return ""
	}
	var user string
	_ = w.Body(e.Request.ContentType, e.Request.Data, func(l *walk.Leaf) bool {
		p := l.Path
		if i := strings.LastIndexAny(string(p), "./"); i >= 0 {
			p = p[i+1:]
		}
		if userKeys[string(p)] && len(l.Value) > 0 {
			user = string(l.Value)
			return false
		}
		return true
	})
	return user
}

// observe feeds item i of the batch to the detector.
func (a *Analyzer) observe(i int) {
	it := &a.items[i]
	e := it.Exchange
	ft := &a.feat.out[i]
	ev := &a.feat.ev
	k := a.keys[i]
	principal := a.idn.Principal(e)
	*ev = anomaly.Event{Time: inventory.Time(e), Client: a.idn.Client(e), Principal: principal,
		Host: k.Host, Method: k.Method, Path: k.Path, Operation: k.Operation, RawPath: e.PathDecoded,
		Status: flow.EffectiveStatus(e), User: ft.user, Authenticated: principal != "", RespBytes: e.Response.WireBytes,
		Injections: ft.injections}
	a.feat.ids = paramValues(a.feat.ids[:0], k.Path, e.PathDecoded)
	ev.IDs = a.feat.ids
	for _, h := range it.Hits {
		switch {
		case h.Kind == exposure.KindPII && h.Location == exposure.ResponseBody && h.Examples < h.N:
			ev.Sensitive += int(h.N - h.Examples)
		case h.Type == exposure.VerboseError:
			ev.VerboseError = true
		}
	}
	a.det.Observe(ev)
}

// paramValues appends the concrete path segments at the template's
// parameters ("/accounts/{id}" and "/accounts/42" give "42").
func paramValues(dst []string, template, path string) []string {
	route.EachParam(template, path, func(_, v string) { dst = append(dst, v) })
	return dst
}

// Locations of injection payloads (as exposure names them).
const (
	exposureRequestPath   = exposure.RequestPath
	exposureRequestQuery  = exposure.RequestQuery
	exposureRequestHeader = exposure.RequestHeader
	exposureRequestBody   = exposure.RequestBody
)

// bytesOf views s as bytes without copying; the scanners only read.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
