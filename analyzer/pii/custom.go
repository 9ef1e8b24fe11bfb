package pii

import (
	"bytes"
	"errors"
	"fmt"
	"regexp/syntax"
	"slices"
	"strings"
	"unicode/utf8"
	"unsafe"

	re2 "github.com/wasilibs/go-re2"
)

// Custom detectors (Config.Custom): user regexes, compiled once in New
// with RE2 (github.com/wasilibs/go-re2; docs/dependencies.md). A call into
// RE2 costs about 130 ns whatever the input, more than the built-in
// detectors spend on a typical leaf, so each regex carries a prefilter
// derived from its syntax tree that rejects most inputs without the call:
// the shortest and (for a regex anchored at both ends) longest input it
// can match, the bytes a match anchored at the start can begin with, the
// literals an anchored regex must start or end with, and literals of which
// every match contains one. With match "all" the key regex runs first and
// the value regex only under a matching key.

type custom struct {
	name     string
	t        Type
	key, val matcher
	any      bool // match "any": key or value
	conf     Confidence
	sev      string
	text     bool // runs in Text: a value regex that needs no key
}

// matcher is a compiled regex and its prefilter. A nil re matches nothing.
type matcher struct {
	re     *re2.Regexp
	minLen int
	maxLen int        // -1: unbounded
	first  *[256]bool // non-nil: a match starts at 0 with one of these bytes
	pre    litSet     // anchored at the start: the input starts with one of these
	suf    litSet     // anchored at the end: the input ends with one of these
	lits   litSet     // every match contains one of these
}

// litSet is a set of literals of which the input must hold one; empty
// when nothing is known.
type litSet struct {
	lits [][]byte
	fold bool // lits are lower case, compared ignoring ASCII case
	ks   bool // a folded lit holds k or s, which also match non-ASCII runes (K, ſ)
}

const (
	litContains = iota
	litPrefix
	litSuffix
)

// has reports whether b may hold one of the literals at the place mode says.
func (ls *litSet) has(b []byte, mode int) bool {
	if len(ls.lits) == 0 {
		return true
	}
	for _, l := range ls.lits {
		switch mode {
		case litPrefix:
			if len(b) >= len(l) && (ls.fold && equalFoldBytes(b[:len(l)], l) || !ls.fold && bytes.Equal(b[:len(l)], l)) {
				return true
			}
		case litSuffix:
			if len(b) >= len(l) && (ls.fold && equalFoldBytes(b[len(b)-len(l):], l) || !ls.fold && bytes.Equal(b[len(b)-len(l):], l)) {
				return true
			}
		default:
			if ls.fold && indexFold(b, l) >= 0 || !ls.fold && bytes.Contains(b, l) {
				return true
			}
		}
	}
	return ls.ks && hasNonASCII(b)
}

// equalFoldBytes compares b with the lower-case ASCII l ignoring case.
func equalFoldBytes(b, l []byte) bool {
	for i := range l {
		if lower(b[i]) != l[i] {
			return false
		}
	}
	return true
}

// newLitSet turns literals into a filter; none for a folded non-ASCII one.
func newLitSet(ls []lit) litSet {
	var set litSet
	for _, l := range ls {
		set.fold = set.fold || l.fold
	}
	for _, l := range ls {
		b := []byte(l.s)
		if set.fold {
			if !l.ascii() {
				return litSet{}
			}
			b = bytes.ToLower(b)
			set.ks = set.ks || bytes.ContainsAny(b, "ks")
		}
		set.lits = append(set.lits, b)
	}
	return set
}

// customName: lower_snake, starting with a letter, at most 64 bytes.
func customName(s string) bool {
	if len(s) == 0 || len(s) > 64 || !isLower(s[0]) || s[len(s)-1] == '_' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isLower(c) || isDigit(c) || c == '_') || (c == '_' && s[i-1] == '_') {
			return false
		}
	}
	return true
}

// compileCustom validates and compiles the custom detectors; every
// problem is reported, each naming its detector.
func (d *Detector) compileCustom(cs []Custom) error {
	if len(cs) == 0 {
		return nil
	}
	var errs []error
	if len(cs) > MaxCustom {
		errs = append(errs, fmt.Errorf("pii: custom: %d detectors, at most %d", len(cs), MaxCustom))
		cs = cs[:MaxCustom]
	}
	seen := map[string]bool{}
	for i, c := range cs {
		where := fmt.Sprintf("pii: custom[%d] %q", i, c.Name)
		bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(where+": "+format, a...)) }
		x := custom{name: c.Name, t: CustomBase + Type(i), conf: Likely, sev: "medium"}
		_, builtin := ParseType(c.Name)
		switch {
		case c.Name == "":
			bad("name is required")
		case !customName(c.Name):
			bad("name must be lower_snake (a-z, 0-9, single '_', starting with a letter, at most 64)")
		case builtin:
			bad("name clashes with the built-in type %s", c.Name)
		case seen[c.Name]:
			bad("name used twice")
		}
		seen[c.Name] = true
		if c.KeyRegex == "" && c.ValueRegex == "" {
			bad("key_regex or value_regex is required")
		}
		var err error
		if c.KeyRegex != "" {
			if x.key, err = compileMatcher(c.KeyRegex); err != nil {
				bad("key_regex: %v", err)
			}
		}
		if c.ValueRegex != "" {
			if x.val, err = compileMatcher(c.ValueRegex); err != nil {
				bad("value_regex: %v", err)
			} else if x.val.minLen == 0 || x.val.re.Match(nil) {
				// the leftmost match could be the empty one, hiding the rest
				bad("value_regex %q matches the empty string", c.ValueRegex)
			}
		}
		switch strings.ToLower(strings.TrimSpace(c.Match)) {
		case "", "all":
		case "any":
			x.any = true
		default:
			bad("match %q is not all or any", c.Match)
		}
		if c.Confidence != "" {
			cf, ok := ParseConfidence(strings.ToLower(strings.TrimSpace(c.Confidence)))
			if !ok {
				bad("confidence %q is not possible, likely or confirmed", c.Confidence)
			}
			x.conf = cf
		}
		if c.Severity != "" {
			s := strings.ToLower(strings.TrimSpace(c.Severity))
			if !slices.Contains(severities, s) {
				bad("severity %q is not one of %s", c.Severity, strings.Join(severities, ", "))
			}
			x.sev = s
		}
		x.text = x.val.re != nil && (x.key.re == nil || x.any)
		d.keyed = d.keyed || x.key.re != nil
		d.custom = append(d.custom, x)
	}
	if len(errs) > 0 {
		d.custom = nil
		return errors.Join(errs...)
	}
	return nil
}

// ParseType is the inverse of Name: a built-in type's name or one of d's
// custom detectors'.
func (d *Detector) ParseType(name string) (Type, bool) {
	if t, ok := ParseType(name); ok {
		return t, true
	}
	for i := range d.custom {
		if d.custom[i].name == name {
			return d.custom[i].t, true
		}
	}
	return 0, false
}

// customKeys matches every custom key regex against key: bit i for
// detector i.
func (d *Detector) customKeys(key []byte) uint64 {
	var bits uint64
	for i := range d.custom {
		if d.custom[i].key.match(key) {
			bits |= 1 << i
		}
	}
	return bits
}

// customLeaf runs the custom detectors on a leaf. key is the raw key
// (Leaf) or nil with keys holding the key regexes' results
// (Detector.ParseKey; 0 for a Key without them).
func (d *Detector) customLeaf(dst []Match, key []byte, keys uint64, v []byte, off int) []Match {
	for i := range d.custom {
		c := &d.custom[i]
		if c.conf < d.min {
			continue
		}
		hasK, hasV := c.key.re != nil, c.val.re != nil
		keyHit := false
		if hasK {
			if key != nil {
				keyHit = c.key.match(key)
			} else {
				keyHit = keys&(1<<i) != 0
			}
		}
		switch {
		case hasK && hasV && !c.any:
			if keyHit {
				if s, e, ok := c.val.find(v); ok {
					dst = c.add(dst, v[s:e], off+s, off+e)
				}
			}
		case keyHit:
			if !isNullish(v) {
				dst = c.add(dst, v, off, off+len(v))
			}
		case hasV:
			if s, e, ok := c.val.find(v); ok {
				dst = c.add(dst, v[s:e], off+s, off+e)
			}
		}
	}
	return dst
}

// maxTextMatches bounds the matches of one custom detector in one text.
const maxTextMatches = 32

// customText runs the value regexes that need no key over free text,
// each search starting where the previous match ended.
func (d *Detector) customText(dst []Match, text []byte) []Match {
	for i := range d.custom {
		c := &d.custom[i]
		if !c.text || c.conf < d.min {
			continue
		}
		for p, n := 0, 0; p < len(text) && n < maxTextMatches; n++ {
			s, e, ok := c.val.find(text[p:])
			if !ok {
				break
			}
			dst = c.add(dst, text[p+s:p+e], p+s, p+e)
			p += e
		}
	}
	return dst
}

func (c *custom) add(dst []Match, span []byte, start, end int) []Match {
	return append(dst, Match{Type: c.t, Confidence: c.conf, Start: start, End: end, Example: isPlaceholder(span)})
}

// match reports whether m's regex matches somewhere in b.
func (m *matcher) match(b []byte) bool {
	return m.re != nil && m.maybe(b) && m.re.Match(b)
}

// find returns the leftmost match's span in b; empty matches do not count.
func (m *matcher) find(b []byte) (int, int, bool) {
	if m.re == nil || !m.maybe(b) {
		return 0, 0, false
	}
	r := m.re.Find(b) // b[start:end] without allocating, where FindIndex allocates
	if len(r) == 0 {
		return 0, 0, false
	}
	s := int(uintptr(unsafe.Pointer(unsafe.SliceData(r))) - uintptr(unsafe.Pointer(unsafe.SliceData(b))))
	if s < 0 || s+len(r) > len(b) || &b[s] != &r[0] {
		loc := m.re.FindIndex(b) // not a sub-slice of b: never with go-re2 v1.13
		if loc == nil || loc[0] == loc[1] {
			return 0, 0, false
		}
		return loc[0], loc[1], true
	}
	return s, s + len(r), true
}

// maybe is the prefilter: false when the regex cannot match b.
func (m *matcher) maybe(b []byte) bool {
	if len(b) < m.minLen || (m.maxLen >= 0 && len(b) > m.maxLen) {
		return false
	}
	if m.first != nil && (len(b) == 0 || !m.first[b[0]]) {
		return false
	}
	return m.pre.has(b, litPrefix) && m.suf.has(b, litSuffix) && m.lits.has(b, litContains)
}

// indexFold finds the lower-case ASCII l in b ignoring ASCII case.
func indexFold(b, l []byte) int {
	if len(l) == 0 {
		return 0
	}
	c0 := l[0]
	u0 := c0
	if isLower(c0) {
		u0 = c0 - 'a' + 'A'
	}
	for i := 0; i+len(l) <= len(b); i++ {
		if b[i] != c0 && b[i] != u0 {
			continue
		}
		j := 1
		for j < len(l) && lower(b[i+j]) == l[j] {
			j++
		}
		if j == len(l) {
			return i
		}
	}
	return -1
}

func hasNonASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return true
		}
	}
	return false
}

// compileMatcher parses expr with Go's regexp/syntax (the same RE2
// syntax; its errors are clear, and C++ RE2 would also log them to stderr),
// compiles it with RE2 and derives the prefilter from the syntax tree.
func compileMatcher(expr string) (matcher, error) {
	tree, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return matcher{}, err
	}
	re, err := re2.Compile(expr)
	if err != nil {
		return matcher{}, err
	}
	m := matcher{re: re, maxLen: -1}
	tree = tree.Simplify()
	m.minLen = minLen(tree)
	body, startA, endA := unanchor(tree)
	if startA && endA {
		m.maxLen = maxLen(body)
	}
	if startA {
		var set [256]bool
		if nullable := firstBytes(body, &set); !nullable {
			m.first = &set
		}
	}
	if startA {
		m.pre = newLitSet(edge(body, false))
	}
	if endA {
		m.suf = newLitSet(edge(body, true))
	}
	m.lits = newLitSet(required(tree))
	return m, nil
}

// edge returns literals of which every match of re starts (or, with end,
// ends) with one; nil when none are known.
func edge(re *syntax.Regexp, end bool) []lit {
	switch re.Op {
	case syntax.OpLiteral:
		if len(re.Rune) == 0 {
			return nil
		}
		return []lit{{string(re.Rune), re.Flags&syntax.FoldCase != 0}}
	case syntax.OpCapture, syntax.OpPlus:
		return edge(re.Sub[0], end)
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return edge(re.Sub[0], end)
		}
	case syntax.OpConcat:
		subs := re.Sub
		for len(subs) > 0 {
			i := 0
			if end {
				i = len(subs) - 1
			}
			switch subs[i].Op {
			case syntax.OpWordBoundary, syntax.OpNoWordBoundary:
				subs = slices.Delete(slices.Clone(subs), i, i+1) // zero-width: look past it
				continue
			}
			return edge(subs[i], end)
		}
	case syntax.OpAlternate:
		var all []lit
		for _, s := range re.Sub {
			ls := edge(s, end)
			if len(ls) == 0 || len(all)+len(ls) > maxLits {
				return nil
			}
			all = append(all, ls...)
		}
		return all
	}
	return nil
}

// unanchor strips a leading ^ (\A) and a trailing $ (\z) from the top
// level (not (?m) line anchors).
func unanchor(re *syntax.Regexp) (body *syntax.Regexp, start, end bool) {
	switch re.Op {
	case syntax.OpBeginText:
		return &syntax.Regexp{Op: syntax.OpEmptyMatch}, true, false
	case syntax.OpConcat:
		subs := re.Sub
		if len(subs) > 0 && subs[0].Op == syntax.OpBeginText {
			start = true
			subs = subs[1:]
		}
		if len(subs) > 0 && subs[len(subs)-1].Op == syntax.OpEndText {
			end = true
			subs = subs[:len(subs)-1]
		}
		return &syntax.Regexp{Op: syntax.OpConcat, Sub: subs}, start, end
	}
	return re, false, false
}

// minLen is the fewest bytes a match of re takes.
func minLen(re *syntax.Regexp) int {
	switch re.Op {
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			return len(re.Rune) // a folded rune may have a shorter encoding
		}
		n := 0
		for _, r := range re.Rune {
			n += utf8.RuneLen(r)
		}
		return n
	case syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return 1
	case syntax.OpCapture, syntax.OpPlus:
		return minLen(re.Sub[0])
	case syntax.OpRepeat:
		return re.Min * minLen(re.Sub[0])
	case syntax.OpConcat:
		n := 0
		for _, s := range re.Sub {
			n += minLen(s)
		}
		return n
	case syntax.OpAlternate:
		n := -1
		for _, s := range re.Sub {
			if m := minLen(s); n < 0 || m < n {
				n = m
			}
		}
		return max(n, 0)
	}
	return 0
}

// maxLen is the most bytes a match of re takes; -1 when unbounded.
func maxLen(re *syntax.Regexp) int {
	switch re.Op {
	case syntax.OpLiteral:
		return utf8.UTFMax * len(re.Rune)
	case syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return utf8.UTFMax
	case syntax.OpCapture:
		return maxLen(re.Sub[0])
	case syntax.OpQuest:
		return maxLen(re.Sub[0])
	case syntax.OpStar, syntax.OpPlus:
		if maxLen(re.Sub[0]) == 0 {
			return 0
		}
		return -1
	case syntax.OpRepeat:
		n := maxLen(re.Sub[0])
		if re.Max < 0 || n < 0 {
			return -1
		}
		return re.Max * n
	case syntax.OpConcat:
		n := 0
		for _, s := range re.Sub {
			m := maxLen(s)
			if m < 0 {
				return -1
			}
			n += m
		}
		return n
	case syntax.OpAlternate:
		n := 0
		for _, s := range re.Sub {
			m := maxLen(s)
			if m < 0 {
				return -1
			}
			n = max(n, m)
		}
		return n
	case syntax.OpNoMatch:
		return 0
	}
	return 0 // empty-width assertions
}

// firstBytes adds to set the bytes a match of re can start with and
// reports whether re can match the empty string (then the bytes of what
// follows it count too).
func firstBytes(re *syntax.Regexp, set *[256]bool) (nullable bool) {
	all := func(from int) {
		for c := from; c < 256; c++ {
			set[c] = true
		}
	}
	addRune := func(r rune, fold bool) {
		if r >= utf8.RuneSelf || (fold && (r == 'k' || r == 'K' || r == 's' || r == 'S')) {
			all(0x80) // a non-ASCII lead byte; K and ſ fold to k and s
		}
		if r < utf8.RuneSelf {
			set[r] = true
			if fold && isAlpha(byte(r)) {
				set[r^0x20] = true
			}
		}
	}
	switch re.Op {
	case syntax.OpLiteral:
		if len(re.Rune) == 0 {
			return true
		}
		addRune(re.Rune[0], re.Flags&syntax.FoldCase != 0)
		return false
	case syntax.OpCharClass:
		for i := 0; i+1 < len(re.Rune); i += 2 {
			lo, hi := re.Rune[i], re.Rune[i+1]
			for r := lo; r <= hi && r < utf8.RuneSelf; r++ {
				set[r] = true
			}
			if hi >= utf8.RuneSelf {
				all(0x80)
			}
		}
		return false
	case syntax.OpAnyChar:
		all(0)
		return false
	case syntax.OpAnyCharNotNL:
		all(0)
		set['\n'] = false
		return false
	case syntax.OpCapture, syntax.OpPlus:
		return firstBytes(re.Sub[0], set)
	case syntax.OpStar, syntax.OpQuest:
		firstBytes(re.Sub[0], set)
		return true
	case syntax.OpRepeat:
		n := firstBytes(re.Sub[0], set)
		return n || re.Min == 0
	case syntax.OpConcat:
		for _, s := range re.Sub {
			if !firstBytes(s, set) {
				return false
			}
		}
		return true
	case syntax.OpAlternate:
		n := false
		for _, s := range re.Sub {
			n = firstBytes(s, set) || n
		}
		return n
	case syntax.OpNoMatch:
		return false
	}
	return true // empty-width: ^, $, \b, (?:)
}

type lit struct {
	s    string
	fold bool
}

func (l lit) ascii() bool {
	for i := 0; i < len(l.s); i++ {
		if l.s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// maxLits bounds the alternatives of a literal filter.
const maxLits = 8

// required returns literals of which every match of re contains one; nil
// when none are known. Of a concatenation's parts it keeps the most
// selective set (the longest shortest literal).
func required(re *syntax.Regexp) []lit {
	switch re.Op {
	case syntax.OpLiteral:
		if len(re.Rune) == 0 {
			return nil
		}
		return []lit{{string(re.Rune), re.Flags&syntax.FoldCase != 0}}
	case syntax.OpCapture, syntax.OpPlus:
		return required(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return required(re.Sub[0])
		}
	case syntax.OpConcat:
		var best []lit
		score := 0
		for _, s := range re.Sub {
			ls := required(s)
			if sc := litScore(ls); sc > score {
				best, score = ls, sc
			}
		}
		return best
	case syntax.OpAlternate:
		var all []lit
		for _, s := range re.Sub {
			ls := required(s)
			if len(ls) == 0 || len(all)+len(ls) > maxLits {
				return nil
			}
			all = append(all, ls...)
		}
		return all
	}
	return nil
}

// litScore: the shortest literal's length (0 for none).
func litScore(ls []lit) int {
	if len(ls) == 0 {
		return 0
	}
	n := len(ls[0].s)
	for _, l := range ls[1:] {
		n = min(n, len(l.s))
	}
	return n
}
