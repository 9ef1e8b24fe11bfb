package exchange

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"hash"
	"math"
	"strings"
	"sync"

	"github.com/apitap/apitap/flow"
)

// Redaction replaces every credential by a keyed fingerprint before the
// record leaves the package:
//
//	Authorization: Bearer eyJ...   -> "Bearer fp:<32 hex>"  (+ JWT claims)
//	Authorization: Basic dXNlcjpw  -> "Basic fp:<32 hex>"   (+ user name)
//	Cookie: a=1; b=2               -> "a=fp:<hex>; b=fp:<hex>"
//	Set-Cookie: sid=x; Path=/      -> "sid=fp:<hex>; Path=/"
//	X-Api-Key: k                   -> "fp:<hex>"
//	?api_key=k&x=1                 -> "?api_key=fp:<hex>&x=1"
//	http://user:pw@host/           -> "http://host/"
//
// A fingerprint is HMAC-SHA256(key, secret) truncated to 16 bytes, in
// lower-case hex. Keyed, so that a fingerprint cannot be brute-forced back
// to a weak password or short token by whoever reads the records, and
// stable for a given key, so the analyzer can still tell callers apart and
// follow one credential across exchanges.

type credKind uint8

const (
	credNone credKind = iota
	credAuth
	credCookie
	credSetCookie
	credAPIKey
)

const (
	// maxCredsPerMessage bounds the Credentials list of one message (a
	// Cookie header may carry hundreds). Values beyond it are still
	// replaced by fingerprints in the header; only the list entry is
	// dropped and counted in Stats.CredentialsDropped.
	maxCredsPerMessage = 64
	// maxJWT is the longest token inspected for JWT claims.
	maxJWT = 16 << 10
	// maxScheme is the longest authorization scheme name recognised.
	maxScheme = 32
)

var (
	processKeyOnce sync.Once
	processKey     []byte
)

// randomProcessKey returns the per-process key used when Config.HMACKey is
// empty. One key per process, not per Factory: the sensor runs one Factory
// per worker and a credential must get the same fingerprint whichever
// worker its connection lands on.
func randomProcessKey() []byte {
	processKeyOnce.Do(func() {
		processKey = make([]byte, 32)
		// crypto/rand.Read never returns an error (it aborts the process
		// if the OS cannot provide randomness).
		_, _ = rand.Read(processKey)
	})
	return processKey
}

type redactor struct {
	kinds   map[string]credKind // lower-cased header name -> kind
	lenMask uint64              // bit n set when some configured name has length n
	params  []string            // lower-cased secret query parameter names
	mac     hash.Hash
	sum     [sha256.Size]byte
	scratch []byte // base64 / percent decoding, reused
	st      *counters
	// rawSubjects keeps a JWT's subject as it is (Config.JWTSubjects).
	rawSubjects bool
}

func newRedactor(cfg *Config, st *counters) redactor {
	key := cfg.HMACKey
	if len(key) == 0 {
		key = randomProcessKey()
	}
	r := redactor{
		kinds: make(map[string]credKind, len(cfg.CredentialHeaders)),
		mac:   hmac.New(sha256.New, key),
		st:    st,

		rawSubjects: cfg.JWTSubjects == SubjectRaw,
	}
	for _, h := range cfg.CredentialHeaders {
		if h == "" || len(h) >= 64 {
			continue // cannot match (Validate reports it)
		}
		h = strings.ToLower(h)
		k := credAPIKey
		switch h {
		case "authorization", "proxy-authorization":
			k = credAuth
		case "cookie":
			k = credCookie
		case "set-cookie":
			k = credSetCookie
		}
		r.kinds[h] = k
		r.lenMask |= 1 << len(h)
	}
	for _, p := range cfg.SecretQueryParams {
		if p != "" {
			r.params = append(r.params, strings.ToLower(p))
		}
	}
	return r
}

// kindOf classifies a header name. Most headers are rejected by the length
// mask without a map lookup; the lookup itself does not allocate (the
// compiler does not copy a []byte converted to string for a map index).
func (r *redactor) kindOf(name []byte) credKind {
	if len(name) >= 64 || r.lenMask&(1<<len(name)) == 0 {
		return credNone
	}
	var low [64]byte
	for i, c := range name {
		low[i] = lower(c)
	}
	return r.kinds[string(low[:len(name)])]
}

// secretParam reports whether a query parameter name is a secret one,
// comparing whole names case-insensitively after percent-decoding
// ("api%5Fkey" is "api_key").
func (r *redactor) secretParam(name []byte) bool {
	var tmp [64]byte
	if bytes.IndexByte(name, '%') >= 0 && len(name) <= len(tmp) {
		name = appendPercentDecoded(tmp[:0], name)
	}
	for _, p := range r.params {
		if equalFold(name, p) {
			return true
		}
	}
	return false
}

// fingerprint appends the 32 hex digits of HMAC(key, secret)[:16] to h.buf.
func (r *redactor) fingerprint(h *half, secret []byte) span {
	r.mac.Reset()
	r.mac.Write(secret)
	sum := r.mac.Sum(r.sum[:0])
	off := h.mark()
	h.buf = hex.AppendEncode(h.buf, sum[:16])
	return h.since(off)
}

// addCred records a credential (up to maxCredsPerMessage) and marks the
// message redacted.
func (r *redactor) addCred(h *half, c credSpan) {
	h.flags |= flow.FlagRedacted
	r.st.redacted.Add(1)
	if len(h.creds) >= maxCredsPerMessage {
		r.st.credsDropped.Add(1)
		return
	}
	h.creds = append(h.creds, c)
}

// header appends the redacted form of the value of a credential header
// and returns its span. name is the header name already in h.buf.
func (r *redactor) header(h *half, kind credKind, name span, v []byte) span {
	v = trimOWS(v)
	if len(v) == 0 {
		return h.add(v)
	}
	switch kind {
	case credAuth:
		return r.auth(h, name, v)
	case credCookie:
		return r.cookie(h, name, v)
	case credSetCookie:
		return r.setCookie(h, name, v)
	default:
		return r.apiKey(h, name, v)
	}
}

// auth redacts an Authorization / Proxy-Authorization value
// "<scheme> <secret>" into "<scheme> fp:<hex>".
func (r *redactor) auth(h *half, name span, v []byte) span {
	sp := bytes.IndexAny(v, " \t")
	if sp <= 0 || sp > maxScheme || !isToken(v[:sp]) {
		// No scheme: the whole value is the secret.
		c := credSpan{loc: "header", name: name, scheme: "unknown", jwt: r.jwt(h, v)}
		off := h.mark()
		h.buf = append(h.buf, "fp:"...)
		c.fp = r.fingerprint(h, v)
		val := h.since(off)
		r.addCred(h, c)
		return val
	}
	scheme, rest := v[:sp], trimOWS(v[sp:])
	c := credSpan{loc: "header", name: name, jwt: -1}
	secret := rest
	var user []byte
	switch {
	case equalFold(scheme, "bearer"):
		c.scheme = "bearer"
		c.jwt = r.jwt(h, rest)
	case equalFold(scheme, "basic"):
		c.scheme = "basic"
		if dec, ok := r.base64(rest); ok {
			// RFC 7617: the user name cannot contain ':', the password
			// can; split at the first colon. The fingerprint covers the
			// whole "user:password". The user name is kept only when
			// there is a password: with an empty password the "user" is
			// often the secret itself (API keys sent as basic auth).
			secret = dec
			if i := bytes.IndexByte(dec, ':'); i >= 0 && i+1 < len(dec) {
				user = dec[:i]
			}
		}
	case equalFold(scheme, "digest"):
		c.scheme = "digest"
		user = digestUser(rest)
	default:
		c.scheme = knownScheme(scheme)
		if c.scheme == "" {
			c.schemeSpan = h.addLower(scheme)
		}
	}
	if len(user) > 0 {
		c.user = h.add(user)
	}
	off := h.mark()
	h.buf = append(h.buf, scheme...)
	h.buf = append(h.buf, " fp:"...)
	c.fp = r.fingerprint(h, secret)
	val := h.since(off)
	r.addCred(h, c)
	return val
}

func knownScheme(s []byte) string {
	for _, k := range [...]string{"negotiate", "ntlm", "token", "apikey", "aws4-hmac-sha256", "hoba", "mutual", "vapid", "scram-sha-256", "dpop"} {
		if equalFold(s, k) {
			return k
		}
	}
	return ""
}

// base64 decodes a basic-auth payload into the scratch buffer, with or
// without padding.
func (r *redactor) base64(s []byte) ([]byte, bool) {
	// Sized for the unpadded decoding, which can be longer than what the
	// padded one expects (Decode would index past a shorter dst).
	r.scratch = growTo(r.scratch, base64.RawStdEncoding.DecodedLen(len(s))+3)
	n, err := base64.StdEncoding.Decode(r.scratch, s)
	if err != nil {
		n, err = base64.RawStdEncoding.Decode(r.scratch, bytes.TrimRight(s, "="))
	}
	if err != nil {
		return nil, false
	}
	return r.scratch[:n], true
}

func growTo(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}

// digestUser returns the username parameter of Digest credentials
// (quoted-string or token), or nil.
func digestUser(p []byte) []byte {
	for len(p) > 0 {
		p = bytes.TrimLeft(p, " \t,")
		eq := bytes.IndexByte(p, '=')
		if eq < 0 {
			return nil
		}
		key := trimOWS(p[:eq])
		p = trimOWS(p[eq+1:])
		var val []byte
		if len(p) > 0 && p[0] == '"' {
			end := 1
			for end < len(p) && p[end] != '"' {
				if p[end] == '\\' {
					end++
				}
				end++
			}
			if end > len(p) {
				end = len(p)
			}
			val = p[1:end]
			if end < len(p) {
				end++
			}
			p = p[end:]
		} else {
			// A token ends at a comma or white space: what follows a
			// space is not the name (and may be the secret itself).
			end := bytes.IndexAny(p, ", \t")
			if end < 0 {
				end = len(p)
			}
			val = p[:end]
			p = p[end:]
		}
		if equalFold(key, "username") {
			// Backslash escapes are left in: the name is informative and
			// unescaping would need a copy.
			return val
		}
	}
	return nil
}

// cookie redacts a Cookie value "a=1; b=2" into "a=fp:<hex>; b=fp:<hex>".
func (r *redactor) cookie(h *half, hdr span, v []byte) span {
	off := h.mark()
	first := true
	for len(v) > 0 {
		piece := v
		semi := bytes.IndexByte(v, ';')
		if semi >= 0 {
			piece, v = v[:semi], v[semi+1:]
		} else {
			v = nil
		}
		piece = trimOWS(piece)
		if len(piece) == 0 {
			continue
		}
		if !first {
			h.buf = append(h.buf, "; "...)
		}
		first = false
		var name, val []byte
		if eq := bytes.IndexByte(piece, '='); eq >= 0 {
			name, val = trimOWS(piece[:eq]), trimOWS(piece[eq+1:])
		} else {
			val = piece // a nameless cookie: the whole piece is the value
		}
		c := credSpan{loc: "cookie", scheme: "cookie", jwt: -1}
		if len(name) > 0 || len(val) < len(piece) {
			c.name = h.add(name)
			h.buf = append(h.buf, '=')
		}
		if len(val) == 0 {
			continue // "a=": nothing secret
		}
		h.buf = append(h.buf, "fp:"...)
		c.fp = r.fingerprint(h, unquote(val))
		r.addCred(h, c)
	}
	return h.since(off)
}

// setCookie redacts a Set-Cookie value "sid=x; Path=/; HttpOnly" into
// "sid=fp:<hex>; Path=/; HttpOnly": attributes are not secret and say a
// lot about the session (lifetime, scope, flags).
func (r *redactor) setCookie(h *half, hdr span, v []byte) span {
	off := h.mark()
	nv, attrs := v, []byte(nil)
	if semi := bytes.IndexByte(v, ';'); semi >= 0 {
		nv, attrs = v[:semi], v[semi:]
	}
	var name, val []byte
	if eq := bytes.IndexByte(nv, '='); eq >= 0 {
		name, val = trimOWS(nv[:eq]), trimOWS(nv[eq+1:])
	} else {
		val = trimOWS(nv)
	}
	c := credSpan{loc: "cookie", scheme: "session", jwt: -1}
	if len(name) > 0 || len(val) < len(trimOWS(nv)) {
		c.name = h.add(name)
		h.buf = append(h.buf, '=')
	}
	if len(val) > 0 {
		h.buf = append(h.buf, "fp:"...)
		c.fp = r.fingerprint(h, unquote(val))
		r.addCred(h, c)
	}
	h.buf = append(h.buf, attrs...)
	return h.since(off)
}

// apiKey redacts a whole header value into "fp:<hex>". A JWT carried in
// such a header (X-Access-Token often is one) gets its claims kept too.
func (r *redactor) apiKey(h *half, name span, v []byte) span {
	c := credSpan{loc: "header", name: name, scheme: "apikey", jwt: r.jwt(h, v)}
	off := h.mark()
	h.buf = append(h.buf, "fp:"...)
	c.fp = r.fingerprint(h, v)
	val := h.since(off)
	r.addCred(h, c)
	return val
}

// queryParam appends "name=fp:<hex>" for a secret query parameter. The
// fingerprint covers the percent-decoded value so that a key gets the same
// fingerprint in a query and in a header.
func (r *redactor) queryParam(h *half, name, val []byte) {
	c := credSpan{loc: "query", scheme: "apikey", jwt: -1}
	c.name = h.add(name)
	h.buf = append(h.buf, "=fp:"...)
	r.scratch = appendPercentDecoded(r.scratch[:0], val)
	c.fp = r.fingerprint(h, r.scratch)
	r.addCred(h, c)
}

// userinfo records the userinfo of an absolute-form target ("user:pw"),
// which the caller then leaves out of Target.
func (r *redactor) userinfo(h *half, ui []byte) {
	c := credSpan{loc: "userinfo", scheme: "basic", jwt: -1}
	if i := bytes.IndexByte(ui, ':'); i > 0 && i+1 < len(ui) {
		c.user = h.add(ui[:i])
	}
	c.fp = r.fingerprint(h, ui)
	r.addCred(h, c)
}

func unquote(v []byte) []byte {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		return v[1 : len(v)-1]
	}
	return v
}

// jwt looks for a JWS compact serialisation (three base64url segments, a
// JSON header with "alg", a JSON object payload) and keeps its identifying
// claims, unverified: sub, iss, aud, exp and the header's alg. The
// signature is never kept. Returns the index in h.jwts or -1.
func (r *redactor) jwt(h *half, tok []byte) int32 {
	if len(tok) < 5 || len(tok) > maxJWT {
		return -1
	}
	d1 := bytes.IndexByte(tok, '.')
	if d1 <= 0 {
		return -1
	}
	d2 := bytes.IndexByte(tok[d1+1:], '.')
	if d2 <= 0 {
		return -1
	}
	d2 += d1 + 1
	hdr, payload, sig := tok[:d1], tok[d1+1:d2], tok[d2+1:]
	if !isB64URL(hdr) || !isB64URL(payload) || !isB64URL(sig) {
		return -1
	}
	var head struct {
		Alg string `json:"alg"`
	}
	if !r.decodeSegment(hdr, &head) || head.Alg == "" {
		return -1
	}
	var claims struct {
		Sub json.RawMessage `json:"sub"`
		Iss json.RawMessage `json:"iss"`
		Aud json.RawMessage `json:"aud"`
		Exp json.RawMessage `json:"exp"`
	}
	if !r.decodeSegment(payload, &claims) {
		return -1
	}
	j := jwtSpan{alg: h.addString(head.Alg), aud0: int32(len(h.auds))}
	var s string
	if json.Unmarshal(claims.Sub, &s) == nil && s != "" {
		if r.rawSubjects {
			j.sub = h.addString(s)
		} else {
			off := h.mark()
			h.buf = flow.AppendSubjectFingerprint(h.buf, r.mac, s)
			j.sub = h.since(off)
		}
	}
	s = ""
	if json.Unmarshal(claims.Iss, &s) == nil {
		j.iss = h.addString(s)
	}
	// aud is a string or an array of strings (RFC 7519 §4.1.3).
	var auds []string
	if json.Unmarshal(claims.Aud, &s) == nil && len(claims.Aud) > 0 && claims.Aud[0] == '"' {
		h.auds = append(h.auds, h.addString(s))
	} else if json.Unmarshal(claims.Aud, &auds) == nil {
		for i, a := range auds {
			if i == 16 {
				break // bound the list
			}
			h.auds = append(h.auds, h.addString(a))
		}
	}
	j.audN = int32(len(h.auds)) - j.aud0
	var exp json.Number
	if json.Unmarshal(claims.Exp, &exp) == nil {
		if n, err := exp.Int64(); err == nil {
			j.exp = n
		} else if f, err := exp.Float64(); err == nil && !math.IsNaN(f) && f > -1<<62 && f < 1<<62 {
			j.exp = int64(f)
		}
	}
	h.jwts = append(h.jwts, j)
	return int32(len(h.jwts) - 1)
}

// decodeSegment base64url-decodes a JWT segment into the scratch buffer
// and unmarshals it.
func (r *redactor) decodeSegment(seg []byte, v any) bool {
	seg = bytes.TrimRight(seg, "=")
	r.scratch = growTo(r.scratch, base64.RawURLEncoding.DecodedLen(len(seg)))
	n, err := base64.RawURLEncoding.Decode(r.scratch, seg)
	if err != nil || n == 0 || r.scratch[0] != '{' {
		return false
	}
	return json.Unmarshal(r.scratch[:n], v) == nil
}

func isB64URL(b []byte) bool {
	for _, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '=') {
			return false
		}
	}
	return true
}
