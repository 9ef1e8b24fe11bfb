package exchange

import (
	"bytes"
	"time"
	"unsafe"

	"github.com/apitap/apitap/flow"
)

// emitRecord builds the record of one exchange (pr and/or resp may be nil)
// and hands it to emit. end is the give-up time when resp is nil.
func (f *Factory) emitRecord(c *conn, pr *pendingReq, resp *half, flags flow.Flags, end int64) {
	var req *half
	if pr != nil {
		req = &pr.half
	}
	e := f.build(c, req, resp, flags, end)
	if pr != nil && len(pr.info) > 0 {
		e.Informational = append([]int(nil), pr.info...)
	}
	f.st.exchanges.Add(1)
	f.emit(e)
}

// build makes the flow.Exchange. Allocations: the Exchange, one arena for
// every string and body of the record, one slice for both header lists;
// plus, only when present, one for the credentials, one for the JWT claims
// and one for their audiences (and Informational in emitRecord).
func (f *Factory) build(c *conn, req, resp *half, flags flow.Flags, end int64) *flow.Exchange {
	var nReq, nh, nc, nj, na int
	if req != nil {
		nReq = len(req.buf)
		nh, nc, nj, na = len(req.hdrs), len(req.creds), len(req.jwts), len(req.auds)
		flags |= req.flags
	}
	if resp != nil {
		nh += len(resp.hdrs)
		nc += len(resp.creds)
		nj += len(resp.jwts)
		na += len(resp.auds)
		flags |= resp.flags
	}

	// The arena. It is allocated here, written once by the copies below
	// and never written again nor reused, and nothing else holds a
	// reference that could write to it: the strings made over it with
	// unsafe.String are therefore immutable, as Go strings must be. They
	// share the arena's lifetime, which the GC handles (any one string
	// keeps the whole arena alive, which is the price of one allocation
	// instead of thirty). Body.Data slices point into it too, with their
	// capacity clipped so an append by a consumer cannot overwrite a
	// neighbour.
	// bytes.Join allocates without zeroing (the copies overwrite it all),
	// which saves a memclr of every body on the hot path.
	var parts [2][]byte
	if req != nil {
		parts[0] = req.buf
	}
	if resp != nil {
		parts[1] = resp.buf
	}
	arena := bytes.Join(parts[:], nil)
	if f.mask != nil {
		// Before any string is made over the arena: they must never change.
		flags |= f.mask.record(arena, nReq, req, resp)
	}
	e := &flow.Exchange{Client: c.client, Server: c.server, Outer: c.outer}

	var hdrs []flow.Header
	if nh > 0 {
		hdrs = make([]flow.Header, nh)
	}
	var creds []flow.Credential
	if nc > 0 {
		creds = make([]flow.Credential, 0, nc)
	}
	var jwts []flow.JWTClaims
	if nj > 0 {
		jwts = make([]flow.JWTClaims, 0, nj)
	}
	var auds []string
	if na > 0 {
		auds = make([]string, 0, na)
	}

	if req != nil {
		a := view(arena[:nReq:nReq])
		e.Start = time.Unix(0, req.start).UTC()
		e.Proto = a.str(req.proto)
		e.Method = a.str(req.method)
		e.Host = a.str(req.host)
		e.HostPort = req.hostPort
		e.Target = a.str(req.target)
		e.Path = a.str(req.path)
		e.PathDecoded = a.str(req.pathDecoded)
		e.Query = a.str(req.query)
		n := len(req.hdrs)
		e.RequestHeaders = a.headers(hdrs[:n:n], req.hdrs)
		hdrs = hdrs[n:]
		e.Request = a.body(&req.body)
		creds, jwts, auds = a.creds(creds, jwts, auds, req)
	}
	if resp != nil {
		a := view(arena[nReq:])
		if req == nil {
			e.Start = time.Unix(0, resp.start).UTC()
			e.Proto = a.str(resp.proto)
		}
		e.End = time.Unix(0, resp.end).UTC()
		e.Status = resp.status
		e.Reason = a.str(resp.reason)
		e.ResponseHeaders = a.headers(hdrs, resp.hdrs)
		e.Response = a.body(&resp.body)
		creds, jwts, auds = a.creds(creds, jwts, auds, resp)
	} else {
		e.End = time.Unix(0, end).UTC()
	}
	if len(creds) > 0 {
		e.Credentials = creds
	}
	e.Flags = flags
	return e
}

// view is one half's part of the arena.
type view []byte

func (a view) str(s span) string {
	if s.n == 0 || int(s.off)+int(s.n) > len(a) {
		return ""
	}
	return unsafe.String(&a[s.off], int(s.n))
}

func (a view) bytes(s span) []byte {
	if s.n == 0 || int(s.off)+int(s.n) > len(a) {
		return nil
	}
	end := s.off + s.n
	return a[s.off:end:end]
}

func (a view) headers(dst []flow.Header, hs []hdrSpan) []flow.Header {
	if len(hs) == 0 {
		return nil
	}
	for i := range hs {
		dst[i] = flow.Header{Name: a.str(hs[i].name), Value: a.str(hs[i].value)}
	}
	return dst
}

func (a view) body(b *bodySpan) flow.Body {
	return flow.Body{
		WireBytes:       b.wire,
		DecodedBytes:    b.decoded,
		ContentType:     a.str(b.ctype),
		ContentEncoding: a.str(b.cenc),
		Data:            a.bytes(b.data),
	}
}

func (a view) creds(creds []flow.Credential, jwts []flow.JWTClaims, auds []string, h *half) ([]flow.Credential, []flow.JWTClaims, []string) {
	for i := range h.creds {
		cs := &h.creds[i]
		cr := flow.Credential{
			Location:    cs.loc,
			Name:        a.str(cs.name),
			Scheme:      cs.scheme,
			Fingerprint: a.str(cs.fp),
			User:        a.str(cs.user),
		}
		if cr.Scheme == "" {
			cr.Scheme = a.str(cs.schemeSpan)
		}
		if cs.jwt >= 0 && int(cs.jwt) < len(h.jwts) {
			j := &h.jwts[cs.jwt]
			claims := flow.JWTClaims{Sub: a.str(j.sub), Iss: a.str(j.iss), Exp: j.exp, Alg: a.str(j.alg)}
			if j.audN > 0 {
				start := len(auds)
				for _, s := range h.auds[j.aud0 : j.aud0+j.audN] {
					auds = append(auds, a.str(s))
				}
				claims.Aud = auds[start:len(auds):len(auds)]
			}
			jwts = append(jwts, claims)
			cr.JWT = &jwts[len(jwts)-1]
		}
		creds = append(creds, cr)
	}
	return creds, jwts, auds
}
