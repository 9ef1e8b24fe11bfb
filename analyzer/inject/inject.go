// Package inject recognises injection payloads in one request part (a
// path, a query string or one parameter value, a header value, a body) for
// the analyzer's injection_attempt anomaly (OWASP API8/API10 and the
// classic injection families): SQL injection, cross-site scripting, path
// traversal, OS command injection, SSRF-style URLs, server-side template
// injection, JNDI lookups (Log4Shell) and MongoDB operator injection.
//
// Design (docs/injection.md): precision first. No single character or word
// is evidence; every rule is a trigger byte (a quote, '<', '(', "../",
// "${" …) found by one table-driven pass over the part, followed by a
// structural check around it: a quote must be followed by a connector and
// a whole predicate (' or 'a'='a), "union" by "select" and a select list,
// a shell separator by a known command and shell-shaped arguments, a URL
// by a host that resolves to loopback, private or metadata addresses.
//
// The part is matched as sent when it holds no encoding; otherwise it is
// decoded first into the Scanner's buffers: URL percent-escapes (%XX,
// %uXXXX; up to three rounds, for double and triple encoding), HTML
// entities, \uXXXX / \xXX escapes, overlong UTF-8 and full-width forms of
// ASCII, and SQL comments that split a keyword (UN/**/ION). Matching is
// ASCII case-insensitive and sees whitespace runs, '+' and /* comments */
// as one space. Scan does not allocate once its buffers have grown.
package inject

import (
	"encoding/binary"
	"fmt"
	"math/bits"
)

// MaxScan is the number of leading bytes of a part that Scan examines.
const MaxScan = 64 << 10

// Class is an injection family.
type Class uint8

// The classes. Values may be stored: append only.
const (
	// SQLi is SQL injection: tautologies and boolean predicates after a
	// quote, UNION SELECT, stacked queries, time delays, comments that
	// cut the query, catalog tables and error-based functions.
	SQLi Class = iota + 1
	// XSS is cross-site scripting: script tags, event handlers in a tag,
	// javascript: and data:text/html URLs, string break-outs into alert().
	XSS
	// PathTraversal is ../ sequences, sensitive system files, NUL bytes
	// that cut a file name, php:// wrappers.
	PathTraversal
	// CommandInjection is a shell separator, back-quote or $( ) followed
	// by a known command with shell-shaped arguments; SSI exec; PHP
	// system() calls.
	CommandInjection
	// SSRF is a URL-typed value that points at loopback, a private or
	// link-local range, a cloud metadata service, or uses a file://,
	// gopher://, dict://, ldap:// or tftp:// scheme.
	SSRF
	// TemplateInjection is server-side (and AngularJS) template
	// injection: {{7*7}}, ${7*7}, <%= %>, #{ }, {{config}}, Python
	// dunder chains, Spring/OGNL/FreeMarker gadgets, SSI directives.
	TemplateInjection
	// JNDI is a Log4j lookup that resolves to ${jndi:…}, however nested.
	JNDI
	// NoSQLi is MongoDB operator injection ($where, $ne/$gt/$regex on a
	// credential or with an empty operand) and JavaScript tautologies.
	NoSQLi
	numClasses
)

var classNames = [numClasses]string{"", "sqli", "xss", "path_traversal", "cmd_injection", "ssrf",
	"template_injection", "jndi", "nosqli"}

func (c Class) String() string {
	if c == 0 || c >= numClasses {
		return fmt.Sprintf("inject.Class(%d)", uint8(c))
	}
	return classNames[c]
}

// ClassSet is a set of classes.
type ClassSet uint16

// AllClasses is every class.
const AllClasses ClassSet = 1<<numClasses - 2

// Classes returns the set of cs.
func Classes(cs ...Class) ClassSet {
	var s ClassSet
	for _, c := range cs {
		if c > 0 && c < numClasses {
			s |= 1 << c
		}
	}
	return s
}

// Has reports whether c is in the set.
func (s ClassSet) Has(c Class) bool { return c < numClasses && s&(1<<c) != 0 }

// Match is one recognised payload.
type Match struct {
	Class Class
	// Offset is where the evidence starts in the decoded part
	// (Scanner.Decoded): the quote before "or 1=1", the '<' of the tag,
	// the scheme of the URL, the first "../".
	Offset int
	// Rule is a short stable rule id, "sqli.union_select", "xss.event_handler" …
	// (docs/injection.md lists them).
	Rule string
}

// Scanner scans parts. Its zero value is ready to use; it keeps decode
// buffers between calls (at most 2×MaxScan bytes) and is not safe for
// concurrent use: use one per goroutine.
type Scanner struct {
	dec  [2][]byte
	b    []byte // what the rules look at: the part, or dec[k]
	want ClassSet
	got  ClassSet // classes found
	done ClassSet // classes found by a rule of the highest rank
	m    [numClasses]Match
	// raw is set while the part is matched as sent; a decodable escape
	// then stops the pass (needDecode) and the part is decoded first.
	raw        bool
	needDecode bool
	// work counts rule steps beyond the trigger pass; past maxWork the
	// remaining triggers are skipped (a part made of near misses).
	work int
	// split is where decoding joined a SQL keyword split by a comment
	// (UN/**/ION), -1 when it did not.
	split int
	// travEnd is where the last traversal walk ended: the dots inside it
	// are not walked again.
	travEnd int
	jndi    jndiScratch
}

// Scan appends to dst the matches in part, at most one per class, in
// class order, and returns dst. A class's match is the first found, or a
// later one by a more specific rule (a time delay over a boolean
// predicate, a sensitive file over a bare traversal). Only the first MaxScan
// bytes are examined, and part is never written to (a string's bytes may
// be passed). It allocates nothing once the Scanner's buffers have grown
// to the parts it sees.
func (s *Scanner) Scan(dst []Match, part []byte) []Match {
	return s.ScanClasses(dst, part, AllClasses)
}

// ScanClasses is Scan restricted to the classes in cs: the analyzer skips
// SSRF on headers that name the server or the page (Host, Origin,
// Referer), where a loopback URL is ordinary.
func (s *Scanner) ScanClasses(dst []Match, part []byte, cs ClassSet) []Match {
	if len(part) > MaxScan {
		part = part[:MaxScan]
	}
	s.want = cs & AllClasses
	s.got, s.done = 0, 0
	s.work = 0
	if s.want == 0 || len(part) == 0 {
		s.b = part
		return dst
	}
	s.b = part
	s.travEnd = 0
	s.raw = true
	s.needDecode = false
	s.pass()
	if s.needDecode {
		s.split = -1
		s.b = s.decode(part)
		s.raw = false
		s.needDecode = false
		s.travEnd = 0
		s.got, s.done = 0, 0
		s.work = 0
		s.pass()
		if s.split >= 0 {
			s.report(SQLi, s.split, "sqli.comment_split")
		}
	}
	for c := Class(1); c < numClasses; c++ {
		if s.got.Has(c) {
			dst = append(dst, s.m[c])
		}
	}
	return dst
}

// Decoded returns the bytes the offsets of the last Scan refer to: the
// part itself when it needed no decoding, else the decoded copy. It is
// valid until the next Scan.
func (s *Scanner) Decoded() []byte { return s.b }

// need reports whether class c is wanted and may still be found, or
// found by a more specific rule.
func (s *Scanner) need(c Class) bool { return (s.want&^s.done)&(1<<c) != 0 }

// report records a match: the first of its class, or one of a higher rank
// than the class's match so far (a time delay after a boolean predicate,
// a sensitive file after a bare traversal).
func (s *Scanner) report(c Class, off int, rule string) {
	if !s.need(c) {
		return
	}
	if off < 0 {
		off = 0
	}
	r := ruleRank(rule)
	if s.got.Has(c) && r <= ruleRank(s.m[c].Rule) {
		return
	}
	s.got |= 1 << c
	if r == maxRank {
		s.done |= 1 << c
	}
	s.m[c] = Match{Class: c, Offset: off, Rule: rule}
}

// Rule ranks: within a class a rule of a higher rank replaces one of a
// lower rank; rules of equal rank keep the first found.
const maxRank = 3

func ruleRank(rule string) uint8 {
	switch rule {
	case "sqli.boolean", "sqli.comment", "sqli.concat", "sqli.subquery", "sqli.order_by",
		"traversal.dotdot", "traversal.null_byte":
		return 1
	case "sqli.tautology", "sqli.stacked", "sqli.union_select", "sqli.schema", "sqli.system_variable",
		"sqli.comment_split", "sqli.outfile":
		return 2
	}
	return maxRank
}

// maxWork bounds the bytes the rules look at per part beyond the trigger
// pass, as a multiple of the part's length plus a constant. Real parts,
// attacks included, stay far below it (TestWorkBound); a part built of
// near misses stops there instead of costing window × length.
const (
	maxWorkPerByte = 8
	maxWorkBase    = 1 << 14
)

// spend charges n steps of rule work and reports whether the budget allows
// going on.
func (s *Scanner) spend(n int) bool {
	s.work += n
	return s.work <= maxWorkBase+maxWorkPerByte*len(s.b)
}

// The trigger kinds: which rule family a byte can start (or end, for the
// rules that look back).
const (
	tNone uint8 = iota
	tQuote
	tEq
	tLt
	tParen
	tColon
	tDot
	tSlash
	tBslash
	tSemi
	tPipe
	tAmp
	tTick
	tNL
	tDollar
	tBrace
	tHash
	tStar
	tAt
	tPct
	tDash
	tU
	tX
	tNul
	tHigh
)

var trig = func() (t [256]uint8) {
	t['\''] = tQuote
	t['='] = tEq
	t['<'] = tLt
	t['('] = tParen
	t[':'] = tColon
	t['.'] = tDot
	t['/'] = tSlash
	t['\\'] = tBslash
	t[';'] = tSemi
	t['|'] = tPipe
	t['&'] = tAmp
	t['`'] = tTick
	t['\n'] = tNL
	t['\r'] = tNL
	t['$'] = tDollar
	t['{'] = tBrace
	t['#'] = tHash
	t['*'] = tStar
	t['@'] = tAt
	t['%'] = tPct
	t['-'] = tDash
	t['u'] = tU
	t['U'] = tU
	t['x'] = tX
	t['X'] = tX
	t[0] = tNul
	t[0xC0] = tHigh
	t[0xC1] = tHigh
	t[0xE2] = tHigh
	t[0xEF] = tHigh
	return
}()

// admit[t] says, from the byte after a trigger of kind t (admitNext) or
// the byte before it (admitPrev), whether any rule of that kind can start
// there. Most triggers in ordinary text are dropped by these two lookups
// (a JSON '":', a date's '-', a URL's "/v2").
var admitNext, admitPrev = func() (next, prev [tHigh + 1][256]bool) {
	all := func(t uint8) {
		for c := range 256 {
			next[t][c] = true
		}
	}
	set := func(tab *[256]bool, cs string) {
		for i := 0; i < len(cs); i++ {
			tab[cs[i]] = true
			tab[lowerTab[cs[i]]] = true
			if cs[i] >= 'a' && cs[i] <= 'z' {
				tab[cs[i]-32] = true
			}
		}
	}
	letters := "abcdefghijklmnopqrstuvwxyz"
	for _, t := range []uint8{tQuote, tEq, tParen, tBslash, tSemi, tPipe, tAmp, tTick, tNul, tHigh} {
		all(t)
	}
	// A line break: a command right after it, or a token before it
	// (127.0.0.1%0a id) — not the indentation of pretty-printed JSON
	// after a ',' or '{'.
	set(&next[tNL], letters+"/\\")
	set(&prev[tNL], letters+"0123456789._-:/'\")`;|&\x00")
	set(&next[tLt], letters+"%!?#/")
	set(&next[tColon], "/")
	set(&prev[tColon], letters+"\t\n\r")
	set(&next[tDot], "._")
	set(&prev[tDot], "almtsb")
	set(&next[tSlash], "*epbwsc.u")
	set(&next[tDollar], letters+"{('\"")
	set(&next[tBrace], "{%$p")
	set(&next[tHash], "{")
	set(&prev[tHash], "0123456789 \t+/")
	set(&next[tStar], "{")
	set(&next[tAt], "@(")
	set(&next[tPct], "0123456789abcdefu{")
	set(&next[tDash], "-")
	set(&next[tU], "n")
	set(&next[tX], "p")
	return
}()

// pairTab holds, for each byte pair g = c0 | c1<<8, bit 0: a trigger c0
// is admitted by the byte after it (c1); bit 1: a trigger c1 is admitted
// by the byte before it (c0). 64 KiB, of which ordinary text touches a
// few.
var pairTab = func() (t [1 << 16]uint8) {
	for g := range 1 << 16 {
		c0, c1 := byte(g), byte(g>>8)
		if k := trig[c0]; k != tNone && admitNext[k][c1] {
			t[g] |= 1
		}
		if k := trig[c1]; k != tNone && admitPrev[k][c0] {
			t[g] |= 2
		}
	}
	return
}()

// pass runs the trigger pass over s.b: every trigger byte its neighbours
// admit is dispatched, in order. Blocks of eight bytes are classified
// without branches through pairTab; most blocks of ordinary text have no
// admitted trigger.
func (s *Scanner) pass() {
	b := s.b
	n := len(b)
	last := -1 // the last position dispatched
	limit := maxWorkBase + maxWorkPerByte*n
	one := func(j int) bool {
		if j <= last {
			return true
		}
		last = j
		s.dispatch(trig[b[j]], j)
		return !s.needDecode && s.done&s.want != s.want && s.work <= limit
	}
	if t := trig[b[0]]; t != tNone && n > 0 {
		var c1 byte
		if n > 1 {
			c1 = b[1]
		}
		if (admitNext[t][c1] || admitPrev[t][0]) && !one(0) {
			return
		}
	}
	i := 0
	for ; i+9 <= n; i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		wn := binary.LittleEndian.Uint64(b[i+1:])
		m := uint64(pairTab[uint16(w)]) | uint64(pairTab[uint16(w>>8)])<<2 | uint64(pairTab[uint16(w>>16)])<<4 |
			uint64(pairTab[uint16(w>>24)])<<6 | uint64(pairTab[uint16(w>>32)])<<8 | uint64(pairTab[uint16(w>>40)])<<10 |
			uint64(pairTab[uint16(w>>48)])<<12 | uint64(pairTab[uint16(wn>>48)])<<14
		if m == 0 {
			continue
		}
		for m != 0 {
			t := bits.TrailingZeros64(m)
			m &= m - 1
			if !one(i + t>>1 + t&1) {
				return
			}
		}
	}
	// The tail, byte by byte.
	for ; i < n; i++ {
		t := trig[b[i]]
		if t == tNone {
			continue
		}
		var c0, c1 byte
		if i+1 < n {
			c1 = b[i+1]
		}
		if i > 0 {
			c0 = b[i-1]
		}
		if (admitNext[t][c1] || admitPrev[t][c0]) && !one(i) {
			return
		}
	}
}

// dispatch runs the rules a trigger byte at i can start. The common,
// failing case of each is decided here from the next byte or two.
func (s *Scanner) dispatch(t uint8, i int) {
	b := s.b
	n := len(b)
	var c1 byte // the next byte, 0 at the end
	if i+1 < n {
		c1 = b[i+1]
	}
	switch t {
	case tQuote:
		s.onQuote(i)
	case tEq:
		if s.need(XSS) {
			s.xssAttrEq(i)
		}
		if s.need(SQLi) || s.need(NoSQLi) {
			s.onEq(i)
		}
	case tLt:
		if isAlpha(c1) || c1 == '%' || c1 == '!' || c1 == '?' || c1 == '#' || c1 == '/' {
			s.onLt(i)
		}
	case tParen:
		s.onParen(i)
	case tColon:
		s.onColon(i)
	case tDot:
		if c1 == '.' {
			if i == 0 || b[i-1] != '.' {
				s.onDotDot(i)
			}
		} else if c1 == '_' || (i > 0 && isAlpha(b[i-1])) {
			s.onDotIdent(i)
		}
	case tSlash:
		if s.raw && c1 == '*' {
			s.needDecode = true
			return
		}
		if s.need(PathTraversal) && sensitiveFirst[lowerTab[c1]] {
			s.onSensitive(i, i+1)
		}
	case tBslash:
		if s.raw && (c1|0x20 == 'u' || c1|0x20 == 'x') {
			if _, k := escapeAt(b, i); k > 0 {
				s.needDecode = true
				return
			}
		}
		switch {
		case c1 == 'n' || c1 == 'r':
			if s.need(CommandInjection) {
				s.cmdAfterSep(i, i+2, sepNewline)
			}
		case c1 == '.':
			if i+2 < n && b[i+2] == '.' {
				s.onDotDot(i + 1)
			}
		default:
			if s.need(PathTraversal) && sensitiveFirst[lowerTab[c1]] {
				s.onSensitive(i, i+1)
			}
		}
	case tSemi:
		s.onSemi(i)
	case tPipe:
		if i > 0 && b[i-1] == '|' {
			return // the second of "||"
		}
		if s.need(CommandInjection) {
			if c1 == '|' {
				s.cmdAfterSep(i, i+2, sepOr)
			} else {
				s.cmdAfterSep(i, i+1, sepPipe)
			}
		}
	case tAmp:
		if s.raw {
			if _, k := entityAt(b, i); k > 0 {
				s.needDecode = true
				return
			}
		}
		if i > 0 && b[i-1] == '&' {
			return
		}
		if s.need(CommandInjection) {
			if c1 == '&' {
				s.cmdAfterSep(i, i+2, sepOr)
			} else {
				s.cmdAfterSep(i, i+1, sepAmp)
			}
		}
	case tTick:
		if s.need(XSS) && i > 0 && isIdent(b[i-1]) {
			s.tickCall(i)
		}
		if s.need(CommandInjection) {
			s.onBacktick(i)
		}
	case tNL:
		if s.need(CommandInjection) && (i == 0 || (b[i-1] != '\n' && b[i-1] != '\r')) {
			s.cmdAfterSep(i, i+1, sepNewline)
		}
	case tDollar:
		switch {
		case c1 == '{':
			s.onDollarBrace(i)
		case c1 == '(' || c1 == '\'' || c1 == '"':
			if s.need(CommandInjection) {
				s.onSubshell(i)
			}
		case isAlpha(c1):
			s.onDollarWord(i)
		}
	case tBrace:
		if (c1 == '{' || c1 == '%' || c1 == '$' || c1|0x20 == 'p') && (i == 0 || (b[i-1] != '{' && b[i-1] != '$')) {
			s.onBrace(i)
		}
	case tHash:
		if c1 == '{' {
			s.onHashBrace(i)
		} else if s.need(SQLi) {
			s.onCommentEnd(i)
		}
	case tStar:
		if c1 == '{' {
			s.onExprBrace(i, i+2, "ssti.expression")
		}
	case tAt:
		if c1 == '@' || c1 == '(' {
			s.onAt(i)
		}
	case tPct:
		if s.raw {
			if _, k, _ := pctAt(b, i); k > 0 {
				s.needDecode = true
				return
			}
		}
		if c1 == '{' {
			s.onExprBrace(i, i+2, "ssti.ognl")
		}
	case tDash:
		if c1 == '-' && s.need(SQLi) {
			s.onCommentEnd(i)
		}
	case tU:
		if s.need(SQLi) && i+5 <= n && binary.LittleEndian.Uint32(b[i+1:])|0x20202020 == 0x6e6f696e { // "nion"
			s.onUnion(i)
		}
	case tX:
		if s.need(SQLi) && c1|0x20 == 'p' {
			s.onXP(i)
		}
	case tNul:
		if s.need(PathTraversal) {
			s.onNul(i)
		}
	case tHigh:
		if s.raw {
			if _, k := highAt(b, i); k > 0 {
				s.needDecode = true
			}
		}
	}
}

// RuleInfo describes a rule.
type RuleInfo struct {
	ID    string
	Class Class
	// Evidence is what the rule requires, in a few words.
	Evidence string
}

var ruleTable = [...]RuleInfo{
	{"sqli.tautology", SQLi, "connector + always-true comparison: ' or 'a'='a, 1 or 1=1, and 'x' like 'x"},
	{"sqli.boolean", SQLi, "quote + connector + predicate, or connector + numeric comparison: ' and 1=2, 1 and 8148=8149"},
	{"sqli.union_select", SQLi, "union [all] select + select list (*, null, numbers, @@var, calls, columns + from)"},
	{"sqli.comment_split", SQLi, "a SQL keyword split by an inline comment: UN/**/ION"},
	{"sqli.stacked", SQLi, "; + a whole statement: drop table t, exec xp_…, declare @, shutdown, insert into"},
	{"sqli.time_delay", SQLi, "sleep(N) after SQL, benchmark(N,, pg_sleep(N), waitfor delay '…', dbms_lock.sleep"},
	{"sqli.comment", SQLi, "quote [+ parens] + --, # or /* that ends the value: admin'--"},
	{"sqli.order_by", SQLi, "order by N + comment, group by … having"},
	{"sqli.schema", SQLi, "catalog tables: information_schema., mysql.user, sysibm., syscat."},
	{"sqli.function", SQLi, "error-based/out-of-band functions: extractvalue(, load_file(, utl_inaddr., char(N,N,N)"},
	{"sqli.mssql_proc", SQLi, "xp_cmdshell, xp_dirtree and other extended procedures"},
	{"sqli.system_variable", SQLi, "@@version, @@datadir, @@… after SQL"},
	{"sqli.subquery", SQLi, "(select <list> after an operator or keyword"},
	{"sqli.concat", SQLi, "'|| + string or SQL function: '||'6, '||utl_http.request(…)||'"},
	{"sqli.outfile", SQLi, "' into outfile|dumpfile"},
	{"xss.script_tag", XSS, "<script"},
	{"xss.event_handler", XSS, "on…= in a tag, or after a quote with a script value"},
	{"xss.js_uri", XSS, "javascript:/vbscript: + script (not void(0))"},
	{"xss.data_uri", XSS, "data:text/html, data:…javascript; svg+xml as an attribute value"},
	{"xss.js_call", XSS, "alert/prompt/confirm/eval/… call after a quote or operator"},
	{"xss.css_expression", XSS, "CSS expression("},
	{"xss.dangerous_tag", XSS, "<xss>, <applet>, <layer>, behavior:, -moz-binding, x-scriptlet, allowscriptaccess"},
	{"xss.dom_access", XSS, "document.cookie/domain after a quote, ';', '>'"},
	{"traversal.sensitive_file", PathTraversal, "/etc/passwd, win.ini, /proc/self/…; any ../ reaching etc/, windows/, logs …"},
	{"traversal.dotdot", PathTraversal, "≥2 ../ levels where a path starts, ≥3 after a quote, ≥5 anywhere"},
	{"traversal.null_byte", PathTraversal, "NUL cutting a file name: x.php%00.jpg, passwd%00"},
	{"traversal.php_wrapper", PathTraversal, "php://filter, php://input"},
	{"cmd.separator", CommandInjection, "; | || & && or a line break + known command + shell-shaped arguments"},
	{"cmd.substitution", CommandInjection, "`cmd` or $(cmd) with a known command"},
	{"cmd.ifs", CommandInjection, "${IFS} / $IFS"},
	{"cmd.ssi_exec", CommandInjection, "<!--#exec"},
	{"cmd.code_exec", CommandInjection, "system('cmd …'), popen(, shell_exec( with a known command"},
	{"cmd.php_code", CommandInjection, "<?php + system/exec/eval/…"},
	{"cmd.expect_wrapper", CommandInjection, "expect://"},
	{"ssrf.metadata", SSRF, "URL value to 169.254.169.254, metadata.google.internal, 100.100.100.200, fd00:ec2::254"},
	{"ssrf.loopback", SSRF, "URL value to 127/8, 0.0.0.0, ::1, localhost (any IPv4 spelling)"},
	{"ssrf.private", SSRF, "URL value to 10/8, 172.16/12, 192.168/16, 169.254/16, fc00::/7, fe80::/10"},
	{"ssrf.scheme", SSRF, "gopher://, dict://, ldap://, tftp://, netdoc://, jar:, file:// to a system path"},
	{"ssti.arithmetic", TemplateInjection, "a product of literals inside {{ }}, ${ }, #{ }, *{ }, <%= %>, @( )"},
	{"ssti.object", TemplateInjection, "config/self/dunder/constructor gadgets inside {{ }} or {% %}; {$smarty.…}, {php}"},
	{"ssti.expression", TemplateInjection, "Spring T(…), Runtime, Execute?new(), backticks inside ${ } #{ } *{ } <% %>"},
	{"ssti.ognl", TemplateInjection, "%{# …} / %{(# …} OGNL"},
	{"ssti.freemarker", TemplateInjection, "<#assign … ?new( / freemarker.template"},
	{"ssti.python_dunder", TemplateInjection, "''.__class__, ().__class__ …"},
	{"ssti.ssi", TemplateInjection, "<!--#include, <!--#echo, <!--#config …"},
	{"jndi.lookup", JNDI, "${jndi:"},
	{"jndi.obfuscated", JNDI, "${…} resolving to jndi: through nested lower/upper/default lookups"},
	{"jndi.marker", JNDI, "jndi:ldap://, jndi:rmi://, … without ${ }"},
	{"nosqli.operator", NoSQLi, "$ne/$gt/$regex/… on a credential key, with an empty operand, or as a JS literal"},
	{"nosqli.where", NoSQLi, "$where:"},
	{"nosqli.js_tautology", NoSQLi, "|| 'a'=='a'"},
	{"nosqli.js_injection", NoSQLi, "this.password…, db.x.find(, '; return true"},
}

// Rules lists the rules, in class order.
func Rules() []RuleInfo { return append([]RuleInfo(nil), ruleTable[:]...) }

// RuleClass returns the class of a rule id, 0 for an unknown id.
func RuleClass(id string) Class {
	for _, r := range ruleTable {
		if r.ID == id {
			return r.Class
		}
	}
	return 0
}
