package anomaly

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"hash"
	"net/netip"
	"strings"

	"github.com/apitap/apitap/flow"
)

// Identity resolves who called: the network client and the principal.
// Principal is not safe for concurrent use (the analyzer calls it from its
// one observing goroutine).
type Identity struct {
	trusted []netip.Prefix
	raw     bool      // Config.JWTSubjects == SubjectRaw
	mac     hash.Hash // HMAC-SHA256 under the fingerprint key
	sum     []byte
	subs    map[subject]string // principal of a JWT subject, bounded by maxSubjects
}

type subject struct{ sub, iss string }

// maxSubjects bounds the cache of subject fingerprints: one HMAC per new
// subject instead of one per exchange. A full cache is cleared.
const maxSubjects = 1 << 16

// NewIdentity returns an Identity trusting cfg.TrustedProxies (CIDRs or
// addresses) and naming JWT subjects as cfg.JWTSubjects says. key is the
// fingerprint key (sensitive.fingerprint_key); it may be empty only with
// raw subjects.
func NewIdentity(cfg Config, key []byte) (*Identity, error) {
	p, err := parsePrefixes(cfg.TrustedProxies)
	if err != nil {
		return nil, err
	}
	id := &Identity{trusted: p, raw: cfg.JWTSubjects == SubjectRaw}
	if !id.raw {
		if len(key) == 0 {
			return nil, errors.New("anomaly: fingerprinted JWT subjects need a fingerprint key")
		}
		id.mac = hmac.New(sha256.New, key)
		id.subs = map[subject]string{}
	}
	return id, nil
}

// Principal is who the request authenticates as, as findings and alerts
// name it: Principal(e), except that a JWT caller's subject is replaced by
// its keyed fingerprint (`jwt:fp:<hex>@iss`) unless raw subjects were
// configured.
func (id *Identity) Principal(e *flow.Exchange) string {
	c := Credential(e)
	if c == nil || id.raw || c.JWT == nil || c.JWT.Sub == "" || c.Location != "header" {
		return principalOf(c)
	}
	k := subject{c.JWT.Sub, c.JWT.Iss}
	if p, ok := id.subs[k]; ok {
		return p
	}
	if len(id.subs) >= maxSubjects {
		clear(id.subs)
	}
	var p string
	if flow.IsSubjectFingerprint(k.sub) {
		p = principalOf(c) // the sensor fingerprinted it (its default)
	} else {
		id.sum = flow.AppendSubjectFingerprint(id.sum[:0], id.mac, k.sub)
		p = jwtPrincipal(string(id.sum), k.iss)
	}
	// The keys may point into a decoded message: keep copies only.
	id.subs[subject{strings.Clone(k.sub), strings.Clone(k.iss)}] = p
	return p
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
// for an unauthenticated request. This is the raw form; what the
// analyzer stores is Identity.Principal.
func Principal(e *flow.Exchange) string { return principalOf(Credential(e)) }

func principalOf(c *flow.Credential) string {
	switch {
	case c == nil:
		return ""
	case c.JWT != nil && c.JWT.Sub != "" && c.Location == "header":
		return jwtPrincipal(c.JWT.Sub, c.JWT.Iss)
	}
	return c.Scheme + ":" + c.Fingerprint
}

func jwtPrincipal(sub, iss string) string {
	if iss != "" {
		return "jwt:" + sub + "@" + iss
	}
	return "jwt:" + sub
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
