package anomaly

import (
	"net/netip"
	"strings"

	"github.com/apitap/apitap/flow"
)

// Identity resolves who called: the network client and the principal.
type Identity struct {
	trusted []netip.Prefix
}

// NewIdentity returns an Identity trusting the given proxies (CIDRs or
// addresses).
func NewIdentity(trustedProxies []string) (*Identity, error) {
	p, err := parsePrefixes(trustedProxies)
	if err != nil {
		return nil, err
	}
	return &Identity{trusted: p}, nil
}

func (id *Identity) isTrusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range id.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Client is the network client of e: the packet's source address, or —
// when that is a trusted proxy — the first untrusted address walking the
// forwarding headers from the nearest hop back (X-Forwarded-For and
// Forwarded, then X-Real-IP). Addresses a client wrote itself before the
// first trusted hop are never believed beyond that point, so a spoofed
// X-Forwarded-For cannot pick the identity.
func (id *Identity) Client(e *flow.Exchange) netip.Addr {
	peer := e.Client.Addr().Unmap()
	if !peer.IsValid() || len(id.trusted) == 0 || !id.isTrusted(peer) {
		return peer
	}
	var hops []netip.Addr // nearest last
	real := netip.Addr{}
	for _, h := range e.RequestHeaders {
		switch {
		case strings.EqualFold(h.Name, "X-Forwarded-For"):
			for _, f := range strings.Split(h.Value, ",") {
				if a, ok := parseHop(f); ok {
					hops = append(hops, a)
				}
			}
		case strings.EqualFold(h.Name, "Forwarded"):
			for _, elem := range strings.Split(h.Value, ",") {
				for _, pair := range strings.Split(elem, ";") {
					k, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
					if ok && strings.EqualFold(k, "for") {
						if a, ok := parseHop(v); ok {
							hops = append(hops, a)
						}
					}
				}
			}
		case strings.EqualFold(h.Name, "X-Real-IP"):
			if a, ok := parseHop(h.Value); ok {
				real = a
			}
		}
	}
	for i := len(hops) - 1; i >= 0; i-- {
		if !id.isTrusted(hops[i]) {
			return hops[i]
		}
	}
	if real.IsValid() {
		return real
	}
	if len(hops) > 0 {
		return hops[0] // every hop trusted: the farthest one
	}
	return peer
}

// parseHop reads one forwarding hop: an address, "[v6]:port", "v4:port",
// quoted, "unknown" or an obfuscated identifier (not an address).
func parseHop(s string) (netip.Addr, bool) {
	s = strings.Trim(strings.TrimSpace(s), `"`)
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// Credential is the credential that identifies the caller of e, nil for
// an unauthenticated request: a bearer JWT with a subject first, then an
// Authorization header, API key (header or query) or URL userinfo, then a
// request cookie. A response's Set-Cookie (scheme "session") is never the
// caller's. The analyzer's stored rows (exchanges.principal) and the
// anomaly detector (Principal) both name the caller by this one choice.
func Credential(e *flow.Exchange) *flow.Credential {
	var best *flow.Credential
	rank := 0
	for i := range e.Credentials {
		c := &e.Credentials[i]
		if c.Fingerprint == "" && c.JWT == nil {
			continue
		}
		r := 0
		switch {
		case c.Location == "header" && c.JWT != nil && c.JWT.Sub != "":
			return c
		case c.Location == "header" || c.Location == "query" || c.Location == "userinfo":
			r = 2
		case c.Location == "cookie" && c.Scheme == "cookie":
			r = 1 // a request cookie
		default:
			continue // "session": a Set-Cookie of the response, not the caller's
		}
		if r > rank && c.Fingerprint != "" {
			best, rank = c, r
		}
	}
	return best
}

// Principal is who the request authenticates as (Credential): the
// unverified JWT's subject with its issuer (`jwt:sub@iss`), else the
// credential's scheme and keyed fingerprint (`scheme:fingerprint`); ""
// for an unauthenticated request.
func Principal(e *flow.Exchange) string {
	c := Credential(e)
	switch {
	case c == nil:
		return ""
	case c.JWT != nil && c.JWT.Sub != "" && c.Location == "header":
		p := "jwt:" + c.JWT.Sub
		if c.JWT.Iss != "" {
			p += "@" + c.JWT.Iss
		}
		return p
	}
	return c.Scheme + ":" + c.Fingerprint
}

// User is the user name a request tries to authenticate as, when it says:
// a Basic or Digest user. (Login bodies are read by the caller.)
func User(e *flow.Exchange) string {
	for i := range e.Credentials {
		if u := e.Credentials[i].User; u != "" && e.Credentials[i].Location == "header" {
			return u
		}
	}
	return ""
}
