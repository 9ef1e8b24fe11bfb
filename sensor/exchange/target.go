package exchange

import (
	"bytes"
)

// setTarget fills target, path, query, pathDecoded and (from the target's
// authority, or else from hostHdr) host and hostPort.
//
// Request-target forms (RFC 9112 §3.2):
//   - origin-form "/p?q": Path "/p", Query "q".
//   - absolute-form "http://user@Host:8080/p?q" (proxies): the authority
//     wins over the Host header (RFC 9112 §3.2.2); Path is the path part
//     ("/" when the target has none); userinfo is stripped from Target
//     when redacting (and recorded as a credential).
//   - authority-form "host:443" (CONNECT): Host and HostPort from the
//     target; Path and Query empty.
//   - asterisk-form "*" (OPTIONS): Path "*", Query empty.
//
// Anything else is split at the first '?' like origin-form. Secret query
// parameters are redacted while the target is copied, so Target and Query
// never hold them.
func (f *Factory) setTarget(h *half, method, t, hostHdr []byte) {
	authority := hostHdr
	switch {
	case len(t) == 1 && t[0] == '*':
		h.target = h.add(t)
		h.path = h.target
	case len(t) > 0 && t[0] == '/':
		h.target, h.path, h.query = f.addPathQuery(h, t)
	case equalFold(method, "connect") || isAuthorityForm(t):
		h.target = h.add(t)
		authority = t
	default:
		if i := schemeEnd(t); i > 0 {
			authority = f.addAbsolute(h, t, i)
		} else {
			h.target, h.path, h.query = f.addPathQuery(h, t)
		}
	}
	if h.pathDecoded = h.path; bytes.IndexByte(h.get(h.path), '%') >= 0 {
		off := h.mark()
		h.buf = appendPercentDecoded(h.buf, h.buf[h.path.off:h.path.off+h.path.n])
		h.pathDecoded = h.since(off)
	}
	h.setHost(authority)
}

// addAbsolute copies an absolute-form target whose "://" ends at i+3 and
// returns its authority (host[:port], userinfo removed). The authority
// returned aliases t, which stays valid for the whole Message call.
func (f *Factory) addAbsolute(h *half, t []byte, i int) []byte {
	off := h.mark()
	h.buf = append(h.buf, t[:i+3]...)
	rest := t[i+3:]
	e := len(rest)
	if j := bytes.IndexAny(rest, "/?#"); j >= 0 {
		e = j
	}
	auth, after := rest[:e], rest[e:]
	var userinfo []byte
	if at := bytes.LastIndexByte(auth, '@'); at >= 0 {
		if f.cfg.Redact {
			userinfo = auth[:at] // dropped from Target, recorded below
		} else {
			h.buf = append(h.buf, auth[:at+1]...)
		}
		auth = auth[at+1:]
	}
	h.buf = append(h.buf, auth...)
	_, p, q := f.addPathQuery(h, after)
	h.target = h.since(off)
	h.path, h.query = p, q
	if userinfo != nil {
		// Only now: the credential's strings must not land inside the
		// target being written.
		f.red.userinfo(h, userinfo)
	}
	if h.path.n == 0 {
		// "http://h" and "http://h?q" mean path "/" (RFC 9110 §4.2.3).
		h.path = h.addString("/")
	}
	return auth
}

// addPathQuery copies t (a path with an optional query) and returns the
// spans of the whole, the path and the query (without '?'). Secret query
// parameter values are replaced by their fingerprint.
func (f *Factory) addPathQuery(h *half, t []byte) (all, path, query span) {
	off := h.mark()
	q := bytes.IndexByte(t, '?')
	if q < 0 {
		all = h.add(t)
		return all, all, span{}
	}
	path = h.add(t[:q])
	h.buf = append(h.buf, '?')
	query = f.addQuery(h, t[q+1:])
	return h.since(off), path, query
}

// addQuery copies a query string, redacting the values of secret
// parameters: "key=s3cr3t" becomes "key=fp:<32 hex>".
func (f *Factory) addQuery(h *half, q []byte) span {
	off := h.mark()
	if !f.cfg.Redact || len(f.red.params) == 0 {
		h.buf = append(h.buf, q...)
		return h.since(off)
	}
	for first := true; ; first = false {
		if !first {
			h.buf = append(h.buf, '&')
		}
		part := q
		amp := bytes.IndexByte(q, '&')
		if amp >= 0 {
			part = q[:amp]
		}
		if eq := bytes.IndexByte(part, '='); eq >= 0 && eq+1 < len(part) && f.red.secretParam(part[:eq]) {
			f.red.queryParam(h, part[:eq], part[eq+1:])
		} else {
			h.buf = append(h.buf, part...)
		}
		if amp < 0 {
			break
		}
		q = q[amp+1:]
	}
	return h.since(off)
}

// setHost parses "host", "host:port", "[v6]" or "[v6]:port" (surrounding
// white space ignored) into the lower-cased host without brackets and the
// port (0 when absent or invalid). A bare IPv6 address (several colons,
// no brackets; invalid but seen) is taken whole as the host.
func (h *half) setHost(hp []byte) {
	hp = trimOWS(hp)
	if len(hp) == 0 {
		return
	}
	host, port := hp, []byte(nil)
	if hp[0] == '[' {
		if end := bytes.IndexByte(hp, ']'); end > 0 {
			host = hp[1:end]
			if rest := hp[end+1:]; len(rest) > 0 && rest[0] == ':' {
				port = rest[1:]
			}
		}
	} else if c := bytes.LastIndexByte(hp, ':'); c >= 0 && bytes.IndexByte(hp[:c], ':') < 0 {
		host, port = hp[:c], hp[c+1:]
	}
	h.host = h.addLower(host)
	h.hostPort = parsePort(port)
}

// parsePort parses a decimal port in 1..65535; anything else is 0.
func parsePort(b []byte) uint16 {
	if len(b) == 0 || len(b) > 5 {
		return 0
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	if n > 65535 {
		return 0
	}
	return uint16(n)
}

// schemeEnd returns i > 0 when t starts with "scheme://" and the scheme
// ends at i (RFC 3986: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )).
func schemeEnd(t []byte) int {
	for i := 0; i < len(t) && i <= 16; i++ {
		c := t[i]
		switch {
		case 'a' <= lower(c) && lower(c) <= 'z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		case i > 0 && c == ':':
			if bytes.HasPrefix(t[i:], []byte("://")) {
				return i
			}
			return -1
		default:
			return -1
		}
	}
	return -1
}

// isAuthorityForm reports whether t looks like "host:port" with no path:
// used for CONNECT targets whose method was not recognised by name.
func isAuthorityForm(t []byte) bool {
	c := bytes.LastIndexByte(t, ':')
	return c > 0 && parsePort(t[c+1:]) != 0 && bytes.IndexAny(t, "/?#@") < 0
}

// appendPercentDecoded appends s with %XX escapes decoded; an invalid or
// truncated escape is kept as it was, '+' is kept (it means space only in
// form-encoded queries, not in paths).
func appendPercentDecoded(dst, s []byte) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			dst = append(dst, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		dst = append(dst, c)
	}
	return dst
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= lower(c) && lower(c) <= 'f'
}

func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return lower(c) - 'a' + 10
}
