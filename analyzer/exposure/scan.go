// Package exposure finds sensitive data and data-exposure flaws in
// exchanges and aggregates them per endpoint field (docs/sensitive-data.md).
//
// A Scanner (one per goroutine) walks one exchange's parts — the request
// path, query, headers and body, the response headers and body — classifies
// every leaf with the pii Detector, and returns Hits already summed per
// (location, field, type) for that message. A Profile (one per inventory
// endpoint) folds hits into Fields: how many messages carry the field, the
// share of its values that validate, the most values in one message (bulk
// exposure), first and last seen, and a masked sample with its keyed
// fingerprint. Raw values never leave the Scanner.
package exposure

import (
	"bytes"
	"hash/maphash"
	"strings"
	"unsafe"

	"github.com/apitap/apitap/analyzer/pii"
	"github.com/apitap/apitap/analyzer/pii/walk"
	"github.com/apitap/apitap/analyzer/route"
	"github.com/apitap/apitap/analyzer/verbose"
	"github.com/apitap/apitap/flow"
)

// Locations (a contract: findings.jsonl and the findings table).
const (
	RequestPath    = "request.path"
	RequestQuery   = "request.query"
	RequestHeader  = "request.header"
	RequestCookie  = "request.cookie"
	RequestBody    = "request.body"
	ResponseHeader = "response.header"
	ResponseBody   = "response.body"
)

// Finding kinds (a contract).
const (
	KindPII      = "pii"      // a sensitive value type (pii.Type names)
	KindExposure = "exposure" // a flaw in how data is exposed (the types below)
)

// Exposure types (a contract).
const (
	SecretInURL            = "secret_in_url"            // a credential or secret in the path or query string
	CleartextCredentials   = "cleartext_credentials"    // credentials sent over plain HTTP
	SensitiveErrorResponse = "sensitive_error_response" // sensitive values in a 4xx/5xx response
	VerboseError           = "verbose_error"            // a stack trace, SQL error or debug page in a response
)

// Hit is one (location, field, type) found in one message, its values
// summed. Field is the JSON/XML path for bodies ("$.user.email"), the
// parameter name for the query, the header name, the cookie name, or the
// template parameter ("{email}") for the path.
type Hit struct {
	Kind     string
	Location string
	Field    string
	Type     string
	Conf     pii.Confidence
	// N is how many values matched in this message; Examples how many of
	// them were documented examples or placeholders.
	N, Examples uint32
	// Valid is how many of them a validator confirmed (checksum or a
	// structure as strict).
	Valid uint32
	// Values is how many leaves the message had at Field (0 where the
	// notion does not apply: headers, path, exposure types).
	Values uint32
	// Masked and Fingerprint describe the first non-example value (or the
	// first value when all are examples); Detail says more for exposure
	// types (the pii type of a sensitive error field, the stack trace's
	// technology, the credential scheme).
	Masked, Fingerprint, Detail string
	Severity                    string // a custom detector's configured severity, else ""

	ph uint64   // hash of the leaf path, for Values
	t  pii.Type // the detector's type of a pii hit (add compares it before the strings)
}

// Scanner classifies one exchange at a time. It keeps scratch between
// calls: use one per goroutine.
type Scanner struct {
	cfg  *Config
	det  *pii.Detector
	fpr  *pii.Fingerprinter
	walk walk.Walker
	seed maphash.Seed // the Engine's: path hashes match the profiles' watch lists

	// per message
	hits    []Hit
	watch   []Watch // the endpoint's known fields, counted even without a match
	matches []pii.Match
	loc     string
	counts  pathCounts
	cut     bool // the body being walked was cut by the sensor
	names   map[string]string
	keys    *keyCache
	visitFn walk.Visitor
	// plainNumbers: no custom detector, so JSON numbers that are not
	// integers of 4+ digits can be skipped (they match no built-in type).
	plainNumbers bool
	st           ScanStats

	arena []Hit    // Engine.scanRange: the hits of a range of items
	spans [][2]int // and each item's span in it
}

// ScanStats counts a Scanner's work.
type ScanStats struct {
	Messages   uint64 // message parts scanned (bodies, queries, header sets)
	Leaves     uint64
	Bytes      uint64 // body bytes walked
	WalkErrors uint64 // bodies malformed, too deep or with too many leaves (scanned up to the fault)
	HitsCapped uint64 // hits over MaxHitsPerMessage, not reported
}

// NewScanner returns a Scanner for cfg, which must have been validated
// (Tracker.NewScanner does this).
func newScanner(cfg *Config, det *pii.Detector, fpr *pii.Fingerprinter, seed maphash.Seed) *Scanner {
	s := &Scanner{cfg: cfg, det: det, fpr: fpr, seed: seed, names: map[string]string{}, keys: new(keyCache),
		plainNumbers: len(cfg.Detect.Custom) == 0}
	s.walk.MaxLeaves = cfg.MaxLeaves
	s.walk.CollapseIDs = true // a map keyed by id is one field, like an array
	s.visitFn = s.visitor()
	return s
}

// Stats returns the Scanner's counters.
func (s *Scanner) Stats() ScanStats { return s.st }

// Scan classifies e. template is the endpoint's path template (its
// parameters name path findings); watch lists the endpoint's known fields
// (Profile.Watch), whose values are counted even in a message where none
// matches, so a field's match share is over all its values. The returned
// slice is reused by the next call.
func (s *Scanner) Scan(e *flow.Exchange, template string, watch []Watch) []Hit {
	s.hits, s.watch = s.hits[:0], watch
	s.scanPath(e.PathDecoded, template)
	if e.Query != "" {
		s.begin(RequestQuery, false)
		_ = s.walk.Query(e.Query, s.visitFn)
		s.end()
	}
	s.scanHeaders(RequestHeader, e.RequestHeaders)
	if s.cfg.CookieValues {
		s.scanCookies(e.RequestHeaders)
	}
	s.walk.GRPCEncoding = grpcEncoding(e.RequestHeaders)
	s.scanBody(RequestBody, &e.Request)
	respStart := len(s.hits)
	s.scanHeaders(ResponseHeader, e.ResponseHeaders)
	s.walk.GRPCEncoding = grpcEncoding(e.ResponseHeaders)
	s.scanBody(ResponseBody, &e.Response)
	s.exposures(e, respStart)
	return s.hits
}

// begin starts one message part: leaves are counted per path from here.
func (s *Scanner) begin(loc string, cut bool) {
	s.loc, s.cut = loc, cut
	s.counts.reset()
	s.st.Messages++
}

// end writes the per-path leaf counts into the part's hits, and adds a
// count-only hit (Kind "") for each watched field of the part that has
// values but no match.
func (s *Scanner) end() {
	n := len(s.hits)
	for _, w := range s.watch {
		if w.Loc != s.loc {
			continue
		}
		c := s.counts.get(w.Hash)
		if c == 0 {
			continue
		}
		seen := false
		for i := range n {
			if s.hits[i].ph == w.Hash && s.hits[i].Location == s.loc {
				seen = true
				break
			}
		}
		if !seen {
			s.hits = append(s.hits, Hit{Location: s.loc, Values: c, ph: w.Hash})
		}
	}
	for i := range n {
		h := &s.hits[i]
		if h.Location == s.loc && h.Kind == KindPII && h.ph != 0 {
			h.Values = max(h.Values, s.counts.get(h.ph))
		}
		if h.Values < h.N {
			h.Values = h.N
		}
	}
}

func (s *Scanner) scanBody(loc string, b *flow.Body) {
	if len(b.Data) == 0 {
		return
	}
	s.begin(loc, b.DecodedBytes > int64(len(b.Data)))
	s.st.Bytes += uint64(len(b.Data))
	if err := s.walk.Body(b.ContentType, b.Data, s.visitFn); err != nil {
		s.st.WalkErrors++
	}
	s.end()
}

// visitor returns the Visitor that classifies each leaf. It is a closure
// over s, not the method value of a visit method, which would add a
// wrapper call per leaf. Not inlined into newScanner: the closure would
// then be compiled as part of NewEngine, too big a function for the
// compiler to inline the small helpers below into it.
//
//go:noinline
func (s *Scanner) visitor() walk.Visitor {
	return func(l *walk.Leaf) bool {
		s.st.Leaves++
		if l.Kind == walk.Bool || l.Kind == walk.Null || len(l.Value) == 0 {
			return true
		}
		ph := maphash.Bytes(s.seed, l.Path)
		if l.Kind == walk.Number && s.plainNumbers && !integerLike(l.Value) {
			s.counts.add(ph)
			return true // a price, a rating, a coordinate: no built-in type is a fraction
		}
		if l.Kind == walk.Text || l.Cut {
			// A cut value is not whole: only values embedded inside it are
			// trusted (a validator must not judge the cut one).
			s.matches = s.det.Text(s.matches[:0], l.Path, l.Value)
		} else {
			key := s.keys.get(ph)
			if key == nil {
				key = s.keys.put(s.det, ph, l.Path)
			}
			s.matches = s.det.LeafKeyRef(s.matches[:0], key, l.Value)
		}
		// Counted after the classification, not before: by now the hash
		// is long computed, so the probe does not delay the key lookup.
		s.counts.add(ph)
		field := l.Path
		if s.loc == RequestQuery || s.loc == RequestCookie {
			field = bytes.TrimPrefix(field, []byte("$."))
		}
		for _, m := range s.matches {
			s.add(KindPII, field, m, l.Value, ph)
		}
		return true
	}
}

// add folds one match into the message's hits.
func (s *Scanner) add(kind string, field []byte, m pii.Match, value []byte, ph uint64) {
	var h *Hit
	for i := range s.hits {
		x := &s.hits[i]
		if x.t == m.Type && x.Kind == kind && x.Location == s.loc && x.Field == string(field) {
			h = x
			break
		}
	}
	if h == nil {
		if len(s.hits) >= s.cfg.MaxHitsPerMessage {
			s.st.HitsCapped++
			return
		}
		sev, _ := s.det.Severity(m.Type)
		s.hits = append(s.hits, Hit{Kind: kind, Location: s.loc, Field: s.intern(field), Type: s.det.Name(m.Type),
			Severity: sev, ph: ph, t: m.Type})
		h = &s.hits[len(s.hits)-1]
	}
	h.N++
	if m.Example {
		h.Examples++
	}
	if m.Confidence == pii.Confirmed {
		h.Valid++
	}
	if m.Confidence > h.Conf {
		h.Conf = m.Confidence
	}
	// The sample: the first value that is not an example (the preview and
	// the keyed fingerprint cost a little, so once per field and message).
	if h.Masked == "" || (h.Examples == h.N-1 && !m.Example && h.N > 1) {
		v := value[m.Start:m.End]
		h.Masked = pii.Mask(m.Type, v)
		h.Fingerprint = s.fpr.Sum(m.Type, v)
	}
}

// intern returns field as a string, sharing one copy per distinct field.
func (s *Scanner) intern(b []byte) string {
	if v, ok := s.names[string(b)]; ok {
		return v
	}
	if len(s.names) >= 4096 {
		clear(s.names)
	}
	v := string(b)
	s.names[v] = v
	return v
}

// skipHeaders are never scanned: protocol and routing metadata (client
// addresses in X-Forwarded-For are infrastructure, not exposed data), and
// credential headers, which the sensor has already replaced by
// fingerprints (credentials are reported by the exposure types instead).
var skipHeaders = map[string]bool{
	"host": true, "content-type": true, "content-length": true, "content-encoding": true,
	"transfer-encoding": true, "connection": true, "keep-alive": true, "accept": true,
	"accept-encoding": true, "accept-language": true, "accept-ranges": true, "user-agent": true,
	"date": true, "server": true, "cache-control": true, "pragma": true, "expires": true,
	"etag": true, "last-modified": true, "vary": true, "age": true, "if-none-match": true,
	"if-modified-since": true, "upgrade": true, "te": true, "trailer": true,
	"x-forwarded-for": true, "x-real-ip": true, "forwarded": true, "via": true,
	"true-client-ip": true, "cf-connecting-ip": true, "x-forwarded-host": true,
	"x-forwarded-proto": true, "x-forwarded-port": true, "referer": true, "origin": true,
	"authorization": true, "proxy-authorization": true, "cookie": true, "set-cookie": true,
	"strict-transport-security": true, "content-security-policy": true, "location": true,
	"access-control-allow-origin": true, "access-control-allow-headers": true,
	"access-control-allow-methods": true, "access-control-expose-headers": true,
}

func (s *Scanner) scanHeaders(loc string, hs []flow.Header) {
	if len(hs) == 0 {
		return
	}
	s.begin(loc, false)
	var lower [64]byte
	for _, h := range hs {
		if len(h.Name) > len(lower) || len(h.Value) == 0 || strings.HasPrefix(h.Value, "fp:") {
			continue
		}
		n := lower[:len(h.Name)]
		for i := 0; i < len(h.Name); i++ {
			c := h.Name[i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			n[i] = c
		}
		if skipHeaders[string(n)] {
			continue
		}
		name, v := bytesOf(h.Name), bytesOf(h.Value)
		s.matches = s.det.Leaf(s.matches[:0], name, v)
		for _, m := range s.matches {
			s.add(KindPII, name, m, v, 0)
		}
	}
}

// scanCookies classifies cookie values (only when configured: values are
// mostly session state, and names are what the inventory needs).
func (s *Scanner) scanCookies(hs []flow.Header) {
	for _, h := range hs {
		if !strings.EqualFold(h.Name, "Cookie") {
			continue
		}
		s.begin(RequestCookie, false)
		_ = s.walk.Cookies(h.Value, false, s.visitFn)
		s.end()
	}
}

// scanPath classifies the path segments that the template makes
// parameters: a static segment is part of the API, not data.
func (s *Scanner) scanPath(path, template string) {
	if !strings.Contains(template, "{") {
		return
	}
	s.begin(RequestPath, false)
	route.EachParam(template, path, func(param, ps string) {
		if ps == "" {
			return
		}
		v := bytesOf(ps)
		key := bytesOf(param[1 : len(param)-1]) // the parameter's name gives the hints
		s.matches = s.det.Leaf(s.matches[:0], key, v)
		for _, m := range s.matches {
			s.add(KindPII, bytesOf(param), m, v, 0)
		}
	})
}

// secretTypes are the pii types that are credentials: in a URL they are
// an exposure (logged by every proxy and browser history).
var secretTypes = map[string]bool{
	"jwt": true, "aws_access_key": true, "aws_secret_key": true, "github_token": true,
	"private_key": true, "api_key": true, "password": true, "connection_string": true, "session_token": true,
}

// exposures adds the exposure types of e. respStart is where the
// response's hits begin in s.hits.
func (s *Scanner) exposures(e *flow.Exchange, respStart int) {
	n := len(s.hits)
	// Secrets in the URL: the sensor's redacted credentials from the query
	// or the userinfo, and secret-typed values found in the path or query.
	for _, c := range e.Credentials {
		if c.Location == "query" || c.Location == "userinfo" {
			loc, field := RequestQuery, c.Name
			if c.Location == "userinfo" {
				loc, field = RequestPath, "userinfo"
			}
			s.exposure(loc, field, SecretInURL, c.Scheme, "fp:"+c.Fingerprint[:min(8, len(c.Fingerprint))]+"…", c.Fingerprint)
		}
	}
	for i := 0; i < n; i++ {
		h := s.hits[i]
		if (h.Location == RequestQuery || h.Location == RequestPath) && h.Kind == KindPII && secretTypes[h.Type] && h.Examples < h.N {
			s.exposure(h.Location, h.Field, SecretInURL, h.Type, h.Masked, h.Fingerprint)
		}
	}
	if s.cfg.CleartextCredentials && !viaTLS(e) {
		for _, c := range e.Credentials {
			if c.Location == "header" && c.Scheme != "cookie" && c.Scheme != "session" {
				s.exposure(RequestHeader, c.Name, CleartextCredentials, c.Scheme, "", c.Fingerprint)
			}
		}
		for i := 0; i < n; i++ {
			h := s.hits[i]
			if h.Location == RequestBody && h.Type == "password" && h.Examples < h.N {
				s.exposure(RequestBody, h.Field, CleartextCredentials, "password", h.Masked, h.Fingerprint)
			}
		}
	}
	if e.Status >= 400 {
		for i := respStart; i < n; i++ {
			h := s.hits[i]
			if h.Location == ResponseBody && h.Kind == KindPII && h.Conf >= pii.Likely && h.Examples < h.N {
				s.exposure(ResponseBody, h.Field, SensitiveErrorResponse, h.Type, h.Masked, h.Fingerprint)
			}
		}
	}
	if s.cfg.VerboseErrors && len(e.Response.Data) > 0 {
		if l, ok := verbose.Find(e.Response.Data); ok {
			s.exposure(ResponseBody, l.Kind.String(), VerboseError, l.Tech, "", "")
		}
	}
}

func (s *Scanner) exposure(loc, field, typ, detail, masked, fp string) {
	for i := range s.hits {
		x := &s.hits[i]
		if x.Kind == KindExposure && x.Type == typ && x.Location == loc && x.Field == field {
			x.N++
			return
		}
	}
	if len(s.hits) >= s.cfg.MaxHitsPerMessage {
		s.st.HitsCapped++
		return
	}
	s.hits = append(s.hits, Hit{Kind: KindExposure, Location: loc, Field: field, Type: typ, Conf: pii.Confirmed,
		N: 1, Masked: masked, Fingerprint: fp, Detail: detail})
}

// viaTLS reports a request that reached a TLS-terminating proxy before
// the capture point: the credentials crossed the network encrypted.
func viaTLS(e *flow.Exchange) bool {
	for _, h := range e.RequestHeaders {
		switch {
		case strings.EqualFold(h.Name, "X-Forwarded-Proto"), strings.EqualFold(h.Name, "X-Forwarded-Scheme"):
			if strings.EqualFold(strings.TrimSpace(h.Value), "https") {
				return true
			}
		case strings.EqualFold(h.Name, "X-Forwarded-Ssl"), strings.EqualFold(h.Name, "Front-End-Https"):
			if strings.EqualFold(strings.TrimSpace(h.Value), "on") {
				return true
			}
		case strings.EqualFold(h.Name, "Forwarded"):
			if strings.Contains(strings.ToLower(h.Value), "proto=https") {
				return true
			}
		}
	}
	return false
}

// pathCounts counts leaves per path hash in one message part: a small
// open-addressing table reset by generation, so counting costs no
// allocation. When full, further paths are not counted (their Values stay
// at the matches' count).
type pathCounts struct {
	gen  uint32
	used int
	slot [512]struct {
		h   uint64
		gen uint32
		n   uint32
	}
}

func (c *pathCounts) reset() { c.gen++; c.used = 0 }

func (c *pathCounts) add(h uint64) {
	for i, probes := h&511, 0; probes < 16; i, probes = (i+1)&511, probes+1 {
		sl := &c.slot[i]
		if sl.gen != c.gen {
			if c.used >= 384 {
				return
			}
			sl.h, sl.gen, sl.n = h, c.gen, 1
			c.used++
			return
		}
		if sl.h == h {
			sl.n++
			return
		}
	}
}

func (c *pathCounts) get(h uint64) uint32 {
	for i, probes := h&511, 0; probes < 16; i, probes = (i+1)&511, probes+1 {
		sl := &c.slot[i]
		if sl.gen != c.gen {
			return 0
		}
		if sl.h == h {
			return sl.n
		}
	}
	return 0
}

// bytesOf views s as bytes without copying. The detector and the walker
// only read their input, and nothing keeps the slice past the call.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// keyCache keeps parsed keys by path hash: the leaves of an array share
// one path, and an API's bodies repeat their paths message after
// message, so a key is parsed once instead of once per leaf. Two-way set
// associative (the way to replace alternates by least recent use): with
// one way, two of a body's paths landing in one slot (a few percent of
// seeds for a body of 20 paths) would parse both keys on every leaf. A
// miss only costs a parse.
type keyCache struct {
	set [512]struct {
		h   [2]uint64
		old uint8 // the way to replace next: the one less recently used
		key [2]pii.Key
	}
}

// get returns the parsed key of the path with hash h, nil when it is not
// cached (then put). The pointer is valid until the next put; it goes to
// LeafKeyRef, so the 64-byte Key is not copied per leaf. Small enough to
// inline: most leaves hit.
func (c *keyCache) get(h uint64) *pii.Key {
	st := &c.set[h&511]
	switch {
	case h == 0: // the empty mark: never cached
	case st.h[0] == h:
		st.old = 1
		return &st.key[0]
	case st.h[1] == h:
		st.old = 0
		return &st.key[1]
	}
	return nil
}

// put parses path (hash h) into the less recently used way of its set.
func (c *keyCache) put(d *pii.Detector, h uint64, path []byte) *pii.Key {
	st := &c.set[h&511]
	w := st.old
	st.h[w], st.key[w] = h, d.ParseKey(path) // the detector's: it runs custom key regexes once
	st.old = 1 - w
	return &st.key[w]
}

// integerLike reports a JSON number that could be an identifier-shaped
// value (a card, a phone, an account): an integer of at least 4 digits.
func integerLike(v []byte) bool {
	if len(v) < 4 {
		return false
	}
	for _, c := range v {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// grpcEncoding is a message's grpc-encoding header (the compression of
// its gRPC messages that carry the compressed flag), "" when absent.
func grpcEncoding(hs []flow.Header) string {
	for i := range hs {
		if len(hs[i].Name) == len("grpc-encoding") && strings.EqualFold(hs[i].Name, "grpc-encoding") {
			return hs[i].Value
		}
	}
	return ""
}
