package route

import "strconv"

type tokKind uint8

const (
	tokWord  tokKind = iota
	tokClass         // an identifier-class segment
	tokParam         // a {placeholder} of a template given to Canonical
	tokExt           // the format extension of the segment before (".json")
)

type token struct {
	s     string
	seg   int // segment index
	kind  tokKind
	cls   Class
	fixed bool
}

// tokenize splits a path into tokens, up to limit segments. placeholders
// reads {name} segments as parameters (Canonical's input).
// rest is what follows the limit ("" when the path fits).
func tokenize(dst []token, path string, limit int, placeholders bool) (toks []token, trailing bool, rest string) {
	for i := 0; i < len(path); i++ {
		if path[i] == '?' || path[i] == '#' {
			path = path[:i]
			break
		}
	}
	if len(path) > 0 && path[0] == '/' {
		path = path[1:]
	}
	seg := 0
	chain := true // the segments so far are all fixed (an API prefix)
	for start := 0; start <= len(path); {
		end := start
		for end < len(path) && path[end] != '/' {
			end++
		}
		s := path[start:end]
		if end == len(path) && s == "" {
			trailing = seg > 0
			break
		}
		if seg >= limit {
			rest = path[start-1:]
			break
		}
		if placeholders && len(s) > 1 && s[0] == '{' {
			if j := indexByte(s, '}'); j > 0 {
				chain = false
				dst = append(dst, token{s: s[1:j], seg: seg, kind: tokParam})
				if rest := s[j+1:]; len(rest) > 1 && rest[0] == '.' {
					dst = append(dst, token{s: rest[1:], seg: seg, kind: tokExt})
				}
				seg++
				start = end + 1
				continue
			}
		}
		stem, ext := splitExt(s)
		tk := token{s: stem, seg: seg}
		if isFixed(stem, seg, chain) {
			tk.fixed = true
		} else if tk.cls = Classify(stem); tk.cls != Word {
			tk.kind = tokClass
		}
		chain = chain && tk.fixed
		dst = append(dst, tk)
		if ext != "" {
			dst = append(dst, token{s: ext, seg: seg, kind: tokExt})
		}
		seg++
		start = end + 1
	}
	return dst, trailing, rest
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

// splitExt splits a format extension off a segment: Calls.json →
// (Calls, json). Only formats are split (an API's .json/.xml/.csv
// variants, images, documents), so k8s groups (apps.k8s.io) and
// file-like values (README.md) stay whole.
func splitExt(s string) (stem, ext string) {
	dot := -1
	for i := len(s) - 1; i > 0 && i >= len(s)-6; i-- {
		if s[i] == '.' {
			dot = i
			break
		}
	}
	if dot <= 0 {
		return s, ""
	}
	switch s[dot+1:] {
	case "json", "xml", "csv", "tsv", "txt", "yaml", "yml", "html", "htm", "pdf", "atom", "rss", "ics",
		"png", "jpg", "jpeg", "gif", "svg", "webp", "ico", "zip", "gz", "tgz", "mp3", "mp4", "wav", "webm", "js", "css":
		return s[:dot], s[dot+1:]
	}
	return s, ""
}

// isFixed reports a label that never becomes a parameter: versions (v1,
// v2beta1) anywhere, and, in the leading prefix of a path (chain: every
// segment before is fixed too), API words (api, rest, graphql…) and, as
// the first segment, dates or small numbers (Twilio's /2010-04-01/,
// Twitter's /2/). A username "rest" deeper in a path is a value.
func isFixed(s string, depth int, chain bool) bool {
	if isVersion(s) {
		return true
	}
	if !chain {
		return false
	}
	if apiWord(s) {
		return true
	}
	if depth == 0 && s != "" {
		if c := s[0]; c >= '0' && c <= '9' {
			if isDate(s) || len(s) == 8 && isDate8(s) {
				return true
			}
			return len(s) <= 4 && isSmallVersion(s)
		}
	}
	return false
}

// isVersion: v1, V2, v1.1, v2_0, v1beta1, v2alpha3, v3rc1, v1preview.
func isVersion(s string) bool {
	if len(s) < 2 || len(s) > 16 || s[0] != 'v' && s[0] != 'V' {
		return false
	}
	i := 1
	j := digitsAt(s, i)
	if j == i {
		return false
	}
	i = j
	if i < len(s) && (s[i] == '.' || s[i] == '_') {
		if j = digitsAt(s, i+1); j == i+1 {
			return false
		}
		i = j
	}
	if i == len(s) {
		return true
	}
	rest := s[i:]
	for _, q := range [...]string{"alpha", "beta", "rc", "preview", "dev"} {
		if len(rest) >= len(q) && rest[:len(q)] == q {
			return digitsAt(rest, len(q)) == len(rest)
		}
	}
	return false
}

// apiWord reports the words of API prefixes.
func apiWord(s string) bool {
	switch s {
	case "api", "apis", "rest", "graphql", "gql", "rpc", "jsonrpc", "public", "private", "internal":
		return true
	}
	return false
}

func digitsAt(s string, i int) int {
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

// isSmallVersion: 1, 2, 1.1, 2.0 (≤ 2 digits each side).
func isSmallVersion(s string) bool {
	j := digitsAt(s, 0)
	if j == 0 || j > 2 {
		return false
	}
	if j == len(s) {
		return true
	}
	if s[j] != '.' {
		return false
	}
	k := digitsAt(s, j+1)
	return k == len(s) && k-j-1 >= 1 && k-j-1 <= 2
}

type span struct{ start, end int }

// walk appends the template of path (or, with placeholders, of an earlier
// template) to dst, recording parameters in ps when it is not nil.
func (l *Learner) walk(dst []byte, host, path string, placeholders bool, ps *[]Param) []byte {
	start := len(dst)
	toks, trailing, rest := tokenize(l.toks[:0], path, maxDepth, placeholders)
	l.toks = toks[:0]
	var n *node
	t := l.hosts[host]
	rs := l.init // rule states at the current position (n.rules on the tree)
	if t != nil {
		n = t.root
	}
	var rsBuf [2][8]ruleState
	flip := 0
	prev := "" // the static segment before, for parameter names
	var names [16]span
	nn := 0
	for i := range toks {
		tk := &toks[i]
		if tk.kind == tokExt {
			dst = append(dst, '.')
			dst = append(dst, tk.s...)
			if n != nil {
				rs = n.rules // an extension node has its segment's rule states
				n = findExt(n, tk.s)
			}
			continue
		}
		if n != nil {
			rs = n.rules
		}
		dst = append(dst, '/')
		forced, isForced := l.forcedName(rs)
		param, known := false, 0
		var next *node
		switch {
		case isForced || tk.kind != tokWord:
			param = true
			if n != nil {
				if next = n.param; next == nil {
					next = n.class
				}
			}
		case tk.fixed || len(rs) > 0 && l.staticIn(rs, tk.s):
			if n != nil {
				next = n.words[tk.s]
			}
		case n == nil:
		case n.param != nil:
			c := n.words[tk.s]
			if param = c == nil || !l.exception(n, c); param {
				next = n.param
			} else {
				next = c
			}
		default:
			known = knownValues(t, n, tk.s)
			param = known > 0
			next = n.words[tk.s]
		}
		if next == nil && len(rs) > 0 {
			// off the tree: follow the rules by hand
			rs = l.advanceInto(rsBuf[flip][:0], rs, tk.s, param)
			flip ^= 1
		}
		at := n
		n = next
		if !param {
			dst = append(dst, tk.s...)
			prev = tk.s
			if tk.fixed {
				prev = ""
			}
			continue
		}
		nameAt := len(dst) + 1
		dst = appendName(dst, prev, forced, &names, &nn)
		if ps != nil {
			var r string
			switch {
			case isForced:
				r = "rule:force"
			case known > 0:
				r = "known:" + strconv.Itoa(known)
			default:
				r = reason(tk, at)
			}
			*ps = append(*ps, Param{Position: tk.seg, Name: string(dst[nameAt : len(dst)-1]), Reason: r})
		}
		prev = ""
	}
	if rest != "" {
		dst = append(dst, rest...) // deeper than maxDepth segments: as it is
	} else if trailing || len(dst) == start {
		dst = append(dst, '/')
	}
	if len(l.merges) > 0 {
		dst = l.applyMerge(dst, start, ps)
	}
	return dst
}

// exception reports a value that stays static at a parameter position:
// one of the few most visited values, standing Dominance times above the
// next one down (/users/me above the most active username,
// /secrets/public-key above any secret name), with MinStaticHits at
// least. A popular value of a parameter (main among branches) has no such
// gap: popularity falls off gradually.
func (l *Learner) exception(n, c *node) bool {
	if c.fixed {
		return true
	}
	if c.hits < uint64(l.cfg.MinStaticHits) {
		return false
	}
	for i, t := range n.top {
		if t == nil || i+1 == len(n.top) || n.top[i+1] == nil {
			return false // no value known below t: no gap to see
		}
		if t.hits < uint64(l.cfg.MinStaticHits) {
			return false
		}
		if t.hits < uint64(l.cfg.Dominance)*n.top[i+1].hits {
			continue // no gap below t: a gap further down may still cover c
		}
		// a gap below t: t and everything above it are static
		for _, u := range n.top[:i+1] {
			if u == c {
				return true
			}
		}
		return false
	}
	return false
}

// knownValues reports a sparse word position past the API prefix (a few
// values, most seen once: too few for the statistics) whose values are,
// elsewhere on the
// host, mostly values of parameter positions: the segment and at least
// half of the position's words. It returns how many are, or 0. Being
// evaluated at each call it needs no bookkeeping when a label becomes
// known.
func knownValues(t *tree, n *node, s string) int {
	if n.prefix || n.d == 0 || n.d > maxKnownScan || n.n1*2 < n.d || n.recurring() || !t.valueLike(s) {
		return 0 // not sparse (most values seen once), or s is no known value
	}
	k := 0
	for label, c := range n.words {
		if !c.fixed && t.valueLike(label) {
			k++
		}
	}
	if k*2 < int(n.d) {
		return 0
	}
	return k
}

// maxKnownScan bounds the position size knownValues considers: larger
// positions are judged by their statistics.
const maxKnownScan = 16

func reason(tk *token, n *node) string {
	if tk.kind == tokClass {
		return classReasons[tk.cls]
	}
	if n == nil {
		return "template"
	}
	switch n.why {
	case whyCollapsed:
		return "cardinality:" + strconv.Itoa(int(n.d)) + "+"
	case whyCardinality:
		return "cardinality:" + strconv.Itoa(int(n.d))
	case whyStructure:
		return "structure:" + strconv.Itoa(int(n.d))
	}
	return "template"
}

// appendName appends {name}: the forced name, or the singular of the
// static segment before plus "Id" (users → userId), or "id" when there is
// none; a number is added to repeat names (id2).
func appendName(dst []byte, prev, forced string, names *[16]span, nn *int) []byte {
	dst = append(dst, '{')
	s := len(dst)
	switch {
	case forced != "":
		dst = append(dst, forced...)
	case prev == "":
		dst = append(dst, "id"...)
	default:
		dst = appendIdent(dst, prev)
		if len(dst) == s {
			dst = append(dst, "id"...)
		} else {
			dst = append(dst, "Id"...)
		}
	}
	e := len(dst)
	for k := 2; clash(dst, s, names[:*nn]); k++ {
		dst = strconv.AppendInt(dst[:e], int64(k), 10)
	}
	if *nn < len(names) {
		names[*nn] = span{s, len(dst)}
		*nn++
	}
	return append(dst, '}')
}

func clash(dst []byte, s int, names []span) bool {
	name := dst[s:]
	for _, sp := range names {
		if string(dst[sp.start:sp.end]) == string(name) {
			return true
		}
	}
	return false
}
