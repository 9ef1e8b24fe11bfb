package exchange

import (
	"errors"
	"fmt"
	"strings"

	"github.com/apitap/apitap/analyzer/pii"
	"github.com/apitap/apitap/flow"
)

// Masking (Config.Mask, off by default) overwrites sensitive values in
// bodies and query strings before the record leaves the package, so that
// raw personal data never reaches an output when the user opts in. It is
// the body counterpart of redaction: redaction fingerprints credentials in
// headers and secret query parameters; masking hides the values the pii
// detector classifies (or that sit under a configured key) in JSON, NDJSON
// and form bodies, in query strings, and, by a text scan, in other textual
// bodies. See docs/privacy.md.
//
// Masking works in place and keeps every length: a JSON string's content
// bytes become '*' (escape sequences included, so the body stays valid
// JSON), a JSON number becomes 0 padded with spaces, a form or query value's
// bytes become '*'. Where it fits in the same bytes a preview is kept, like
// pii.Mask's: the last four digits of a card or an SSN, an email's domain,
// an IBAN's country and last four, a phone's last two digits, the
// separators of a date. A value cut by the end of a capped body is masked
// whole: its checksum cannot be checked, so nothing of it is kept.
//
// It writes only into the record's arena (build.go), which is freshly
// allocated for the record and not yet referenced by anything: the pooled
// buffers of the Factory and the records already emitted are never touched.

// MaskConfig is Config.Mask.
type MaskConfig struct {
	// Enabled turns masking on. Default false: the analyzer classifies
	// fields by their values (checksums, formats), which masked values no
	// longer allow; masking is a deliberate choice of privacy over
	// detection accuracy (docs/privacy.md).
	Enabled bool `yaml:"enabled"`
	// Keys are extra key names whose values are always masked, whatever
	// they hold: matched like the pii key hints, case-insensitively on
	// whole words of the last named segment of the key path ("pin" masks
	// "pin", "user_pin" and "pinCode", not "shipping"). A key of several
	// words ("card_pin") matches those words adjacent, in any spelling
	// (card_pin, cardPin, CARDPIN). Default none.
	Keys []string `yaml:"keys"`
	// MinConfidence is the lowest pii tier that is masked: possible,
	// likely or confirmed. Default likely.
	MinConfidence string `yaml:"min_confidence"`
	// Types lists the pii types masked (pii.Type names: email, phone,
	// credit_card, …). Default (empty): every type.
	Types []string `yaml:"types"`
}

const (
	defaultMaskMinConfidence = "likely"
	maxMaskKey               = 64
)

// validate reports bad values; enabled masking also needs decoded bodies.
func (c *MaskConfig) validate(decodeBodies bool) []error {
	var errs []error
	if c.MinConfidence != "" {
		if _, ok := parseTier(c.MinConfidence); !ok {
			errs = append(errs, fmt.Errorf("exchange: Mask.MinConfidence: %q is not one of possible, likely, confirmed", c.MinConfidence))
		}
	}
	for _, t := range c.Types {
		if _, ok := parseType(t); !ok {
			names := make([]string, 0, 24)
			for _, x := range pii.Types() {
				names = append(names, x.String())
			}
			errs = append(errs, fmt.Errorf("exchange: Mask.Types: unknown type %q (known: %s)", t, strings.Join(names, ", ")))
		}
	}
	for _, k := range c.Keys {
		if !validMaskKey(k) {
			errs = append(errs, fmt.Errorf("exchange: Mask.Keys: %q is not a key name (1 to %d letters, digits, '_' or '-', with a letter; one name, not a path)", k, maxMaskKey))
		}
	}
	if c.Enabled && !decodeBodies {
		errs = append(errs, errors.New("exchange: Mask.Enabled needs DecodeBodies: a body left content-encoded cannot be masked"))
	}
	return errs
}

// parseTier and parseType accept any case and surrounding space, as pii.New does.
func parseTier(s string) (pii.Confidence, bool) {
	return pii.ParseConfidence(strings.ToLower(strings.TrimSpace(s)))
}

func parseType(s string) (pii.Type, bool) {
	return pii.ParseType(strings.ToLower(strings.TrimSpace(s)))
}

func validMaskKey(k string) bool {
	if k == "" || len(k) > maxMaskKey {
		return false
	}
	letter := false
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case 'a' <= lower(c) && lower(c) <= 'z':
			letter = true
		case '0' <= c && c <= '9', c == '_', c == '-':
		default:
			return false
		}
	}
	return letter
}

// normalized fills the defaults; unknown values (Validate reports them)
// are replaced so that masking errs on the side of masking more: an
// unknown tier becomes the default, unknown type names are ignored, and a
// list left empty by that means every type.
func (c MaskConfig) normalized() MaskConfig {
	if t, ok := parseTier(c.MinConfidence); ok {
		c.MinConfidence = t.String()
	} else {
		c.MinConfidence = defaultMaskMinConfidence
	}
	var types []string
	for _, t := range c.Types {
		if x, ok := parseType(t); ok {
			types = append(types, x.String())
		}
	}
	c.Types = types
	var keys []string
	for _, k := range c.Keys {
		if validMaskKey(k) {
			keys = append(keys, k)
		}
	}
	c.Keys = keys
	return c
}

// masker holds the detector and the scratch of one Factory (one worker
// goroutine). Warm, it allocates nothing.
type masker struct {
	det    *pii.Detector
	keys   []string // configured keys, lower-case words joined ("cardpin")
	red    *redactor
	redact bool
	st     *counters

	ms    []pii.Match
	path  []byte   // JSON path of the current leaf, as analyzer/pii/walk writes it
	stack []mframe // open JSON containers
	val   []byte   // decoded value (JSON escapes, percent-encoding)
	off   []int32  // off[i]: offset in the raw value of the escape that gave val[i]; off[len(val)] = len(raw)

	n         int // values masked in the current record
	fallbacks int // JSON values the scanner could not parse, masked by a text scan

	trace func(key, v []byte) // tests: sees every leaf classify is given
}

type mframe struct {
	plen int32 // path length before the container's segment
	arr  bool
}

// newMasker returns nil when masking is disabled.
func newMasker(cfg *Config, red *redactor, st *counters) *masker {
	mc := cfg.Mask
	if !mc.Enabled {
		return nil
	}
	var disabled []string
	if len(mc.Types) > 0 {
		on := make(map[pii.Type]bool, len(mc.Types))
		for _, t := range mc.Types {
			if x, ok := parseType(t); ok {
				on[x] = true
			}
		}
		for _, t := range pii.Types() {
			if !on[t] {
				disabled = append(disabled, t.String())
			}
		}
	}
	// Every value is scanned whole: a value can be as long as the body
	// cap, and the part beyond the detector's default window would be
	// left in clear.
	scan := pii.DefaultMaxScan
	if cfg.Limits.MaxBodyBytes > scan {
		scan = cfg.Limits.MaxBodyBytes
	}
	det, err := pii.New(pii.Config{Disabled: disabled, MinConfidence: mc.MinConfidence, MaxScan: scan})
	if err != nil {
		// Not reachable with a normalized config; never fail open.
		det, _ = pii.New(pii.Config{MinConfidence: defaultMaskMinConfidence, MaxScan: scan})
	}
	m := &masker{
		det:    det,
		red:    red,
		redact: cfg.Redact,
		st:     st,
		ms:     make([]pii.Match, 0, 16),
		path:   make([]byte, 0, 512),
		stack:  make([]mframe, 0, 32),
	}
	for _, k := range mc.Keys {
		var w [maxMaskKey]byte
		n := 0
		for i := 0; i < len(k); i++ {
			if c := k[i]; isAlnum(c) {
				w[n] = lower(c)
				n++
			}
		}
		m.keys = append(m.keys, string(w[:n]))
	}
	return m
}

// record masks the record's bodies and query in the arena (before any
// string is made over it) and returns FlagMasked when something was
// masked. nReq is the length of the request's part of the arena.
func (m *masker) record(arena []byte, nReq int, req, resp *half) flow.Flags {
	m.n, m.fallbacks = 0, 0
	if req != nil {
		a := arena[:nReq:nReq]
		m.body(a, &req.body, req.flags)
		m.target(a, req)
	}
	if resp != nil {
		m.body(arena[nReq:], &resp.body, resp.flags)
	}
	if m.fallbacks > 0 {
		m.st.maskFallbacks.Add(uint64(m.fallbacks))
	}
	m.shrink()
	if m.n == 0 {
		return 0
	}
	m.st.masked.Add(uint64(m.n))
	return flow.FlagMasked
}

// maxRetainedScratch bounds the scratch a masker keeps between records:
// an exceptional body (deep nesting, a huge escaped string) does not pin
// its buffers in every worker.
const maxRetainedScratch = 256 << 10

func (m *masker) shrink() {
	if cap(m.path) > maxRetainedScratch {
		m.path = make([]byte, 0, 512)
	}
	if cap(m.stack)*8 > maxRetainedScratch {
		m.stack = make([]mframe, 0, 32)
	}
	if cap(m.val) > maxRetainedScratch || cap(m.off)*4 > maxRetainedScratch {
		m.val, m.off = nil, nil
	}
	if cap(m.ms) > 1024 {
		m.ms = make([]pii.Match, 0, 16)
	}
}

// spanOf returns the bytes of s in a, or nil when s is empty or out of range.
func spanOf(a []byte, s span) []byte {
	if s.n == 0 || int(s.off)+int(s.n) > len(a) {
		return nil
	}
	return a[s.off : s.off+s.n : s.off+s.n]
}

// cutFlags mark a message whose body may end inside a value.
const cutFlags = flow.FlagTruncated | flow.FlagIncomplete | flow.FlagGap | flow.FlagDecompressionBomb

func (m *masker) body(a []byte, b *bodySpan, flags flow.Flags) {
	data := spanOf(a, b.data)
	if len(data) == 0 {
		return
	}
	m.data(spanOf(a, b.ctype), data, flags&cutFlags != 0 || b.decoded > int64(len(data)))
}

// data masks one body of media type mt (lower-cased, no parameters); cut
// says it may end inside a value.
func (m *masker) data(mt, data []byte, cut bool) {
	switch k := mediaKind(mt, data); k {
	case mkJSON, mkNDJSON:
		m.jsonBody(data, cut, k == mkNDJSON)
	case mkForm:
		m.form(data, cut, false)
	case mkText:
		m.text(data, cut)
	}
}

// target masks the query, which lies inside the target (both the Target
// and the Query strings are made over these bytes).
func (m *masker) target(a []byte, h *half) {
	q := spanOf(a, h.query)
	if len(q) > 0 {
		m.form(q, false, true)
	}
	t := spanOf(a, h.target)
	if len(t) == 0 || (h.query.n > 0 && h.query.off >= h.target.off && h.query.off+h.query.n <= h.target.off+h.target.n) {
		return
	}
	// Not reached with the spans setTarget makes; kept so that a target
	// holding its own copy of the query is never left in clear.
	for i, c := range t {
		if c == '?' {
			m.form(t[i+1:], false, true)
			break
		}
	}
}

// Media kinds, as analyzer/pii/walk dispatches them.
const (
	mkNone   = iota
	mkJSON   // JSON, +json
	mkNDJSON // NDJSON, JSON lines, json-seq
	mkForm
	mkText // text/*, XML, multipart, and any other body that looks like text
)

func mediaKind(mt, b []byte) int {
	typ, sub := mt, mt[len(mt):]
	for i, c := range mt {
		if c == '/' {
			typ, sub = mt[:i], mt[i+1:]
			break
		}
	}
	switch {
	case len(mt) == 0:
		// Sniffed: JSON when it starts like JSON, text when it looks like text.
		for _, c := range b {
			if c == ' ' || c == '\t' || c == '\r' || c == '\n' {
				continue
			}
			if c == '{' || c == '[' {
				return mkJSON
			}
			break
		}
	case equalFold(sub, "x-ndjson") || equalFold(sub, "ndjson") || equalFold(sub, "jsonl") ||
		equalFold(sub, "x-jsonlines") || equalFold(sub, "jsonlines") || equalFold(sub, "json-seq"):
		return mkNDJSON
	case equalFold(sub, "json") || hasSuffixFold(sub, "+json"):
		return mkJSON
	case equalFold(sub, "x-www-form-urlencoded"):
		return mkForm
	case equalFold(typ, "text") || equalFold(typ, "multipart") || equalFold(sub, "xml") || hasSuffixFold(sub, "+xml"):
		return mkText
	case equalFold(sub, "grpc") || equalFold(sub, "grpc+proto") || equalFold(sub, "grpc-web") || equalFold(sub, "grpc-web+proto") ||
		equalFold(sub, "x-protobuf") || equalFold(sub, "protobuf") || equalFold(sub, "vnd.google.protobuf"):
		// Binary framing around UTF-8 strings: the text scan finds the
		// values inside them and overwrites them in place, lengths kept,
		// so the messages still parse (what the analyzer walks).
		return mkText
	}
	if looksText(b) {
		return mkText
	}
	return mkNone
}

func hasSuffixFold(b []byte, s string) bool {
	return len(b) >= len(s) && equalFold(b[len(b)-len(s):], s)
}

// looksText: the first 512 bytes hold no control byte other than white
// space and no invalid UTF-8 (a sequence cut by the 512 limit is fine).
func looksText(b []byte) bool {
	if len(b) > 512 {
		b = b[:512]
	}
	for i := 0; i < len(b); {
		c := b[i]
		if c < 0x80 {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' || c == 0x7f {
				return false
			}
			i++
			continue
		}
		n := utf8SeqLen(c)
		if n == 0 {
			return false
		}
		if i+n > len(b) {
			return true
		}
		for j := 1; j < n; j++ {
			if b[i+j]&0xc0 != 0x80 {
				return false
			}
		}
		i += n
	}
	return true
}

func utf8SeqLen(c byte) int {
	switch {
	case c&0xe0 == 0xc0 && c >= 0xc2:
		return 2
	case c&0xf0 == 0xe0:
		return 3
	case c&0xf8 == 0xf0 && c <= 0xf4:
		return 4
	}
	return 0
}

// Leaf kinds for classify.
const (
	lkString = iota
	lkNumber
)

// classify decides one value and masks it in raw. v is the value as the
// detector sees it (escapes decoded); off maps v to raw (nil when v is
// raw itself). key is its path.
func (m *masker) classify(raw, v []byte, off []int32, key []byte, kind int) {
	if m.trace != nil {
		m.trace(key, v)
	}
	if len(raw) == 0 {
		return
	}
	if len(m.keys) > 0 && m.keyHit(key) {
		if m.maskAll(raw, kind) {
			m.n++
		}
		return
	}
	m.ms = m.det.Leaf(m.ms[:0], key, v)
	if len(m.ms) == 0 {
		return
	}
	changed := false
	if kind == lkNumber {
		changed = zeroNumber(raw)
	} else {
		for i := range m.ms {
			changed = m.shape(raw, v, off, &m.ms[i]) || changed
		}
	}
	if changed {
		m.n++
	}
}

// maskAll masks a whole value: '*' for every byte, a number becomes 0.
func (m *masker) maskAll(raw []byte, kind int) bool {
	if kind == lkNumber {
		return zeroNumber(raw)
	}
	return starAll(raw)
}

func starAll(b []byte) bool {
	changed := false
	for i, c := range b {
		if c != '*' {
			b[i] = '*'
			changed = true
		}
	}
	return changed
}

// zeroNumber turns a JSON number token into 0 followed by spaces: still a
// valid number (a run of zeros would not be: no leading zeros in JSON).
func zeroNumber(b []byte) bool {
	changed := false
	for i, c := range b {
		w := byte(' ')
		if i == 0 {
			w = '0'
		}
		if c != w {
			b[i] = w
			changed = true
		}
	}
	return changed
}

// previews: how much of a value of each type stays readable. Alphanumeric
// bytes are counted from each end; separators (ASCII punctuation and
// spaces) are kept when seps is set; every other byte (non-ASCII included)
// is masked.
type preview struct {
	first, last int // alphanumerics kept at each end
	min         int // ... only when the value has at least this many
	seps        bool
	email       bool // keep '@' and the domain
	group       bool // keep the first group (an IP's first octet)
}

func previewOf(t pii.Type) preview {
	switch t {
	case pii.CreditCard:
		return preview{last: 4, min: 12, seps: true}
	case pii.USSSN:
		return preview{last: 4, min: 9, seps: true}
	case pii.IBAN:
		return preview{first: 2, last: 4, min: 12, seps: true}
	case pii.Phone, pii.BankAccount, pii.PassportNumber:
		return preview{last: 2, min: 6, seps: true}
	case pii.Email:
		return preview{email: true}
	case pii.IPAddress:
		return preview{group: true, seps: true}
	case pii.DateOfBirth:
		return preview{seps: true}
	}
	return preview{} // names, addresses, secrets: nothing kept
}

// shape masks the span of match x in v (and raw) keeping the type's
// preview. It reports whether a byte changed.
func (m *masker) shape(raw, v []byte, off []int32, x *pii.Match) bool {
	s, e := x.Start, x.End
	if s < 0 {
		s = 0
	}
	if e > len(v) {
		e = len(v)
	}
	if s >= e {
		return false
	}
	// Whole UTF-8 characters: a span edge inside one is widened.
	for s > 0 && v[s]&0xc0 == 0x80 {
		s--
	}
	for e < len(v) && v[e]&0xc0 == 0x80 {
		e++
	}
	p := previewOf(x.Type)
	nal := 0
	for _, c := range v[s:e] {
		if isAlnum(c) {
			nal++
		}
	}
	first, last := p.first, p.last
	if nal < p.min || nal <= first+last {
		first, last = 0, 0
	}
	keepFrom := e // email: '@' and the domain are kept
	if p.email {
		for i := e - 1; i > s; i-- {
			if v[i] == '@' {
				keepFrom = i
				break
			}
		}
	}
	groupEnd := s // ip: the first group is kept
	if p.group {
		for groupEnd < e && isAlnum(v[groupEnd]) {
			groupEnd++
		}
		if groupEnd == e {
			groupEnd = s // a single group: nothing kept
		}
	}
	changed := false
	ai := 0
	for i := s; i < e; i++ {
		c := v[i]
		mask := true
		switch {
		case i >= keepFrom || i < groupEnd:
			mask = false
		case isAlnum(c):
			mask = ai >= first && ai < nal-last
			ai++
		case c < 0x80:
			mask = !p.seps
		}
		if mask {
			changed = starAt(raw, v, off, i) || changed
		}
	}
	return changed
}

// starAt masks the raw bytes that gave v[i]: one byte, or a whole escape
// sequence (so the body stays valid).
func starAt(raw, v []byte, off []int32, i int) bool {
	if off == nil {
		if raw[i] == '*' {
			return false
		}
		raw[i] = '*'
		return true
	}
	r0 := off[i]
	j := i + 1
	for j < len(v) && off[j] == r0 {
		j++
	}
	return starAll(raw[r0:off[j]])
}

func isAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// keyHit reports whether the last named segment of key matches a
// configured key: some run of its adjacent words, joined and lower-cased,
// equals the key's joined words. Segments and words are split as pii
// splits them.
func (m *masker) keyHit(key []byte) bool {
	seg := lastNamedSegment(key)
	if len(seg) == 0 {
		return false
	}
	if len(seg) > 64 {
		seg = seg[len(seg)-64:]
	}
	var buf [64]byte
	var bounds [66]uint8 // word starts in buf, then the end
	n, nb := 0, 0
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		if !isAlnum(c) {
			if n > 0 && bounds[nb-1] != uint8(n) {
				bounds[nb] = uint8(n)
				nb++
			}
			continue
		}
		if 'A' <= c && c <= 'Z' && i > 0 && n > 0 {
			p := seg[i-1]
			if 'a' <= p && p <= 'z' || isDigit(p) ||
				'A' <= p && p <= 'Z' && i+1 < len(seg) && 'a' <= seg[i+1] && seg[i+1] <= 'z' {
				if bounds[nb-1] != uint8(n) {
					bounds[nb] = uint8(n)
					nb++
				}
			}
		}
		if nb == 0 {
			bounds[0] = 0
			nb = 1
		}
		buf[n] = lower(c)
		n++
	}
	if n == 0 {
		return false
	}
	if bounds[nb-1] != uint8(n) {
		bounds[nb] = uint8(n)
		nb++
	}
	words := bounds[:nb]
	for _, k := range m.keys {
		for a := 0; a+1 < len(words); a++ {
			for b := a + 1; b < len(words); b++ {
				w := buf[words[a]:words[b]]
				if len(w) > len(k) {
					break
				}
				if len(w) == len(k) && string(w) == k {
					return true
				}
			}
		}
	}
	return false
}

// lastNamedSegment returns the last segment of a key path that holds a
// letter (array markers and indexes are skipped), split on the separators
// pii uses.
func lastNamedSegment(key []byte) []byte {
	end := len(key)
	for end > 0 {
		for end > 0 && isKeySep(key[end-1]) {
			end--
		}
		start := end
		for start > 0 && !isKeySep(key[start-1]) {
			start--
		}
		seg := key[start:end]
		for _, c := range seg {
			if 'a' <= lower(c) && lower(c) <= 'z' {
				return seg
			}
		}
		end = start
	}
	return nil
}

func isKeySep(c byte) bool {
	switch c {
	case '.', '/', '[', ']', '$', '*', '\'', '"', ' ', '#', ':', '?', '&', '=':
		return true
	}
	return false
}
