// Package verbose recognises verbose error leaks in HTTP response bodies:
// stack traces, database error messages and framework debug pages that tell
// a client about the server's internals (OWASP API8, security
// misconfiguration).
//
// Design (docs/verbose-errors.md): precision first. No single word
// ("Exception", "error", "Traceback") is evidence; every pattern is an
// anchor string followed by a structural check around it (a stack frame's
// "at callee(File.java:12)", a Python "File "…", line N", an Oracle code
// with exactly five digits and a colon). Anchors are found without regexp
// by a sampled two-byte prefilter: every anchor has a key window of
// stride+1 bytes, so looking at one byte pair every stride bytes cannot miss
// it, and the pairs that occur in key windows were chosen to be rare in API
// JSON and prose. The text may be plain, inside HTML, or escaped inside a
// JSON string (\n, \t, \", &quot; …); the checks see through all three.
// Find does not allocate.
package verbose

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// MaxScan is the number of leading body bytes Find examines.
const MaxScan = 64 << 10

// Kind is the kind of leak.
type Kind uint8

// The kinds. Values may be stored: append only.
const (
	// StackTrace is a stack trace or source location (file and line) of
	// the server's code.
	StackTrace Kind = iota + 1
	// SQLError is a database driver or server error message.
	SQLError
	// DebugPage is a framework's debug or developer error page.
	DebugPage
	numKinds
)

var kindNames = [numKinds]string{"", "stack_trace", "sql_error", "debug_page"}

func (k Kind) String() string {
	if k == 0 || k >= numKinds {
		return fmt.Sprintf("verbose.Kind(%d)", uint8(k))
	}
	return kindNames[k]
}

// Leak is one recognised leak.
type Leak struct {
	Kind Kind
	// Tech names the language, runtime, framework or database the
	// evidence belongs to: "java", "python", "dotnet", "go", "node",
	// "php", "ruby"; "mysql", "postgres", "oracle", "mssql", "sqlite",
	// and the generic "sql" (SQLSTATE), "jdbc", "hibernate",
	// "sqlalchemy", "activerecord", "django-db"; "django", "werkzeug",
	// "laravel", "symfony", "rails", "spring", "aspnet", "whoops".
	Tech string
	// Offset is where the evidence starts in the body (the "at" of the
	// first frame, the "Traceback", the "ORA-" …).
	Offset int
}

// Find returns the strongest leak in the first MaxScan bytes of body.
// Strength: a database error naming its database, then a generic database
// error (SQLSTATE, JDBC, an ORM), then a debug page, then a stack trace;
// among equals the one whose evidence starts first. It does not allocate.
func Find(body []byte) (Leak, bool) {
	return find(body, nil)
}

// find is Find; onLit, when set (tests), is told of every anchor literal
// the prefilter reaches.
func find(body []byte, onLit func(anchor, s int)) (Leak, bool) {
	if len(body) > MaxScan {
		body = body[:MaxScan]
	}
	n := len(body)
	sc := scan{b: body, onLit: onLit}
	// Samples at positions 1, 5, 9, …: every stride-th position, so every
	// key window holds one. One 8-byte load from i gives both trigrams
	// (forward from q, backward from q-1) of the samples at i+1 and i+5;
	// the four bitmap bits are combined without branching, and only a
	// set bit (rare) leads to the pair lookup.
	i := 0
	for ; i+8 <= n; i += 2 * stride {
		w := binary.LittleEndian.Uint64(body[i:])
		h := w & 0xFFFFFF * triBwdMul >> triShift
		m := triBits[h>>6] >> (h & 63)
		h = w >> 8 & 0xFFFFFF * triFwdMul >> triShift
		m |= triBits[h>>6] >> (h & 63)
		h = w >> 32 & 0xFFFFFF * triBwdMul >> triShift
		m |= triBits[h>>6] >> (h & 63)
		h = w >> 40 & 0xFFFFFF * triFwdMul >> triShift
		m |= triBits[h>>6] >> (h & 63)
		if m&1 == 0 {
			continue
		}
		sc.sample(i + 1)
		sc.sample(i + 1 + stride)
	}
	for q := i + 1; q+1 < n; q += stride {
		sc.sample(q)
	}
	return sc.best, sc.score > 0
}

// scan is the state of one Find.
type scan struct {
	b     []byte
	onLit func(anchor, s int)
	best  Leak
	score uint8
	fails int
	// groupFails counts failed checks per anchor group: a body full of
	// one near miss stops paying for it after maxGroupFails.
	groupFails [maxGroups]uint8
	// last caches the last index of a needle in the body (+2; 0 =
	// not computed) for the checks that look at the whole body.
	last [len(needles)]int32
}

// Limits on the structural checks that fail in one body, so a body made
// of near misses (thousands of ".java:" without frames) costs bounded
// time. Real bodies fail a handful.
const (
	maxFails      = 1024
	maxGroupFails = 32
	maxGroups     = 128
)

// sample examines the sample position q: its pair must be a key pair
// and a trigram through it an entry's.
func (sc *scan) sample(q int) {
	g := uint16(sc.b[q]) | uint16(sc.b[q+1])<<8
	if bitmap[g>>6]>>(g&63)&1 != 0 && sc.tri(q) {
		sc.hit(q, g)
	}
}

// tri is the trigram level of the prefilter at sample position q: the
// three bytes from q, or those from q-1, must be an entry's. Each entry
// registered one trigram through its pair that lies inside its literal
// (forward from the pair or backward from the byte before it, whichever is
// rarer), so a real occurrence always passes.
func (sc *scan) tri(q int) bool {
	b := sc.b
	if q+2 < len(b) {
		h := triHash(b[q], b[q+1], b[q+2], triFwdMul)
		if triBits[h>>6]>>(h&63)&1 != 0 {
			return true
		}
	}
	if q > 0 && q+1 < len(b) {
		h := triHash(b[q-1], b[q], b[q+1], triBwdMul)
		if triBits[h>>6]>>(h&63)&1 != 0 {
			return true
		}
	}
	return false
}

// The trigram table: 2^17 bits, forward and backward trigrams hashed with
// different multipliers.
const (
	triFwdMul = 0x9E3779B97F4A7C15
	triBwdMul = 0xC2B2AE3D27D4EB4F
	triShift  = 64 - 17
)

func triHash(c0, c1, c2 byte, mul uint64) uint64 {
	return (uint64(c0) | uint64(c1)<<8 | uint64(c2)<<16) * mul >> triShift
}

// hit examines the anchors whose key windows hold the pair g at sample
// position q.
func (sc *scan) hit(q int, g uint16) {
	body := sc.b
	n := len(body)
	for _, e := range entries[first[g]:first[int(g)+1]] {
		s := q - int(e.off)
		if s < 0 || s+4 > n || binary.LittleEndian.Uint32(body[s:]) != e.pre {
			continue
		}
		a := &anchors[e.anchor]
		if s+len(a.lit) > n || string(body[s:s+len(a.lit)]) != a.lit {
			continue
		}
		if sc.onLit != nil {
			sc.onLit(int(e.anchor), s)
		}
		if !noPrune && (a.score < sc.score || a.score == sc.score && s-int(a.back) > sc.best.Offset) {
			continue // cannot beat what we have
		}
		if sc.fails >= maxFails || sc.groupFails[a.group] >= maxGroupFails {
			continue
		}
		tech, off, ok := sc.confirm(a, s)
		if !ok {
			sc.fails++
			sc.groupFails[a.group]++
			continue
		}
		if a.score > sc.score || off < sc.best.Offset {
			sc.best, sc.score = Leak{Kind: a.kind, Tech: tech, Offset: off}, a.score
		}
	}
}

// noPrune turns off the skipping of anchors that cannot beat the best
// leak so far; tests compare both ways (a wrong anchor.back would show).
var noPrune = false

// needles are the strings some checks look for anywhere in the body;
// their last index is computed once per Find.
var needles = [...]string{
	needleTrace: "trace", needleFrame0: "#0 ", needleTraceArray: `"trace":[`, needleTraceArray2: `"trace": [`,
	needlePHPFile: `.php"`, needleIlluminate: "Illuminate", needleLaravel: "laravel",
	needleJava: ".java:", needleNative: "(Native Method)", needleUnknown: "(Unknown Source)",
	needleFramework: "Framework Trace", needleFull: "Full Trace",
}

const (
	needleTrace = iota
	needleFrame0
	needleTraceArray
	needleTraceArray2
	needlePHPFile
	needleIlluminate
	needleLaravel
	needleJava
	needleNative
	needleUnknown
	needleFramework
	needleFull
)

// needleID returns w's index in needles, or -1.
func needleID(w string) int {
	for i, n := range needles {
		if n == w {
			return i
		}
	}
	return -1
}

// lastIndex returns the last index of needles[id] in the body.
func (sc *scan) lastIndex(id int) int {
	if sc.last[id] == 0 {
		sc.last[id] = int32(lastIndexStr(sc.b, needles[id]) + 2)
	}
	return int(sc.last[id]) - 2
}

// check names a structural check (confirm.go).
type check uint8

const (
	chkLit check = iota
	chkFrame
	chkCausedBy
	chkJackson
	chkTraceback
	chkPyLine
	chkDotnetLine
	chkGoroutine
	chkGoFrame
	chkPHPStack
	chkPHPLine
	chkPHPTraceJSON
	chkRuby
	chkWerkzeug
	chkWhoops
	chkPHPClass
	chkLaravelJSON
	chkASPNet
	chkMySQLWarning
	chkQualExc
	chkWordStart
	chkPsycopg
	chkQuoteAfter
	chkRelation
	chkSQLState
	chkORA
	chkMSSQLBracket
	chkIncorrectSyntax
	chkSQLiteCode
	chkNoSuch
	chkAfter
	chkBefore
	chkClassAfter
	chkNotAfter
)

// confirm runs the anchor's check on the literal found at s and returns
// the tech and the offset where the evidence starts. A switch, not a
// function value, so that sc does not escape and Find does not allocate.
func (sc *scan) confirm(a *anchor, s int) (string, int, bool) {
	b := sc.b
	switch a.check {
	case chkLit:
		return a.tech, s, true
	case chkFrame:
		return confirmFrame(b, s, a)
	case chkCausedBy:
		return confirmCausedBy(b, s, a)
	case chkJackson:
		return confirmJackson(b, s, a)
	case chkTraceback:
		return confirmTraceback(b, s, a)
	case chkPyLine:
		return confirmPyLine(b, s, a)
	case chkDotnetLine:
		return confirmDotnetLine(b, s, a)
	case chkGoroutine:
		return confirmGoroutine(b, s, a)
	case chkGoFrame:
		return confirmGoFrame(b, s, a)
	case chkPHPStack:
		return confirmPHPStack(b, s, a)
	case chkPHPLine:
		return confirmPHPLine(b, s, a)
	case chkPHPTraceJSON:
		return confirmPHPTraceJSON(b, s, a)
	case chkRuby:
		return confirmRuby(b, s, a)
	case chkWerkzeug:
		return confirmWerkzeug(b, s, a)
	case chkWhoops:
		return confirmWhoops(sc, s, a)
	case chkPHPClass:
		return confirmPHPClass(sc, s, a)
	case chkLaravelJSON:
		return confirmLaravelJSON(sc, s, a)
	case chkASPNet:
		return confirmASPNet(b, s, a)
	case chkMySQLWarning:
		return confirmMySQLWarning(b, s, a)
	case chkQualExc:
		return confirmQualExc(b, s, a)
	case chkWordStart:
		return confirmWordStart(b, s, a)
	case chkPsycopg:
		return confirmPsycopg(b, s, a)
	case chkQuoteAfter:
		return confirmQuoteAfter(b, s, a)
	case chkRelation:
		return confirmRelation(b, s, a)
	case chkSQLState:
		return confirmSQLState(b, s, a)
	case chkORA:
		return confirmORA(b, s, a)
	case chkMSSQLBracket:
		return confirmMSSQLBracket(b, s, a)
	case chkIncorrectSyntax:
		return confirmIncorrectSyntax(b, s, a)
	case chkSQLiteCode:
		return confirmSQLiteCode(b, s, a)
	case chkNoSuch:
		return confirmNoSuch(b, s, a)
	case chkAfter:
		return confirmAfter(sc, s, a)
	case chkBefore:
		return confirmBefore(b, s, a)
	case chkClassAfter:
		return confirmClassAfter(b, s, a)
	case chkNotAfter:
		return confirmNotAfter(b, s, a)
	}
	return "", 0, false
}

// stride is the sampling step of the prefilter: the byte pair at every
// stride-th position is looked up. Every anchor needs stride+1 bytes.
const stride = 4

// anchor is one literal and the check that confirms a leak around it.
type anchor struct {
	lit   string
	kind  Kind
	tech  string // default tech
	check check
	words []string
	n     int
	base  uint8  // length of the literal before addNext's extra byte
	score uint8  // strength, from kind and tech
	group uint8  // anchors added together
	back  uint16 // how far before the literal the evidence may start
	// key is the start of the stride+1-byte window of lit whose byte
	// pairs feed the prefilter.
	key int
}

// entry says: the pair at sample position q may be anchor's lit starting
// at q-off.
type entry struct {
	pre    uint32 // the anchor's first four bytes, little-endian
	anchor uint16
	off    uint16
}

var (
	bitmap  [1 << 16 / 64]uint64
	triBits [1 << 17 / 64]uint64
	first   [1<<16 + 1]uint16
	entries []entry
)

// pairPrior is a rough frequency of a byte pair in API JSON and prose by
// character class, added to the sample's counts: lower-case letters and
// blanks pair often, upper case and punctuation rarely.
func pairPrior(c1, c2 byte) uint32 {
	class := func(c byte) int {
		switch {
		case isLower(c):
			return 0
		case c == ' ':
			return 1
		case isDigit(c):
			return 2
		case c == '"' || c == ':' || c == ',' || c == '.' || c == '/' || c == '-' || c == '_' || c == '{' || c == '}':
			return 3
		case isUpper(c):
			return 4
		}
		return 5
	}
	return [6][6]uint32{
		// lower blank digit punct upper other
		{8, 6, 1, 3, 1, 1}, // lower
		{6, 1, 2, 2, 2, 1}, // blank
		{1, 2, 5, 3, 1, 1}, // digit
		{3, 2, 3, 3, 1, 1}, // punct
		{3, 1, 1, 1, 1, 1}, // upper
		{1, 1, 1, 1, 1, 1}, // other
	}[class(c1)][class(c2)]
}

// commonTrigrams are frequent in English text and in JSON keys.
var commonTrigrams = [...]string{
	"the", "and", "ing", "ion", "tio", "ent", "ati", "for", "her", "ter", "hat", "tha", "ere", "ate", "his",
	"con", "res", "ver", "all", "ons", "nce", "men", "ith", "ted", "ers", "pro", "thi", "wit", "are", "ess",
	"not", "ive", "was", "ect", "rea", "com", "eve", "per", "int", "est", "sta", "cti", "ica", "ist", "ear",
	"ain", "one", "our", "iti", "rat", "ine", "lin", "num", "umb", "mbe", "ber", "use", "ore", "tra", "ace", "ort", "pos",
	"str", "ran", "ail", "ame", "ype", "typ", "rro", "err", "ror", "exc", "xce", "cep", "ept", "pti", "ace",
	"the", "he ", " th", " an", "nd ", "ed ", "es ", "ng ", " in", "in ", " to", "to ", " of", "of ", "er ",
	" re", "re ", "on ", " co", " a ", "is ", " is", "at ", " at", "ly ", " be", "al ", "le ", "nt ", "st ",
	"---", "://", "htt", "ttp", "tps", "www", "com", ".co", "api", "url", "ata", "dat", "cre", "eat",
}

// genericTech: a database error that does not name the database.
var genericTech = map[string]bool{"sql": true, "jdbc": true, "hibernate": true,
	"sqlalchemy": true, "activerecord": true, "django-db": true}

func init() {
	build()
}

// build fills the prefilter from the anchor table: each anchor gets the
// key window whose byte pairs are rarest in sampleText, counting pairs
// another anchor already uses as free.
func build() {
	count3 := map[string]uint32{}
	for i := 0; i+2 < len(sampleText); i++ {
		count3[sampleText[i:i+3]]++
	}
	common := map[string]bool{}
	for _, t := range commonTrigrams {
		common[t] = true
	}
	// cost3 estimates how often a trigram occurs in API JSON, HTML and
	// prose: the sample's count, a prior by character class, the most
	// common English trigrams, and the pairs JSON and HTML syntax put
	// everywhere (pretty-printed JSON has ": " in every member).
	cost3 := func(t string) uint64 {
		c := 4*uint64(count3[t]) + uint64(pairPrior(t[0], t[1])+pairPrior(t[1], t[2]))
		if common[t] {
			c += 300
		}
		for _, p := range [...]string{`":`, ` "`, `",`, `:"`, `{"`, `"}`, `, `, `. `, `</`, `="`, `">`, `  `, `//`} {
			if t[:2] == p || t[1:] == p {
				c += 400
			}
		}
		// ": " is everywhere in pretty-printed JSON, but only between a
		// quote and a value.
		if t[1:] == ": " && t[0] == '"' || t[:2] == ": " && strings.IndexByte(`"{[tfn-0123456789`, t[2]) >= 0 {
			c += 400
		}
		return c
	}
	for i := range anchors {
		a := &anchors[i]
		if len(a.lit) < stride+1 {
			panic("verbose: anchor shorter than stride+1: " + a.lit)
		}
		switch {
		case a.kind == SQLError && !genericTech[a.tech]:
			a.score = 4
		case a.kind == SQLError:
			a.score = 3
		case a.kind == DebugPage:
			a.score = 2
		default:
			a.score = 1
		}
		a.key = -1
		if int(a.group) >= maxGroups {
			panic("verbose: too many anchor groups")
		}
	}
	// Greedy choice of key windows, repeated so that early choices see
	// later ones. A window costs the trigrams its entries will be
	// filtered by; one another anchor already uses costs a third (its
	// bit is paid for; only the entry walk is added).
	// pick is the trigram an entry (the pair at j of lit) is filtered by:
	// forward from j or backward from j-1, whichever is rarer.
	pick := func(lit string, j int) (t string, fwd bool) {
		switch {
		case j+2 >= len(lit):
			return lit[j-1 : j+2], false
		case j == 0:
			return lit[j : j+3], true
		case cost3(lit[j-1:j+2]) < cost3(lit[j:j+3]):
			return lit[j-1 : j+2], false
		}
		return lit[j : j+3], true
	}
	uses := map[string]int{}
	for pass := 0; pass < 3; pass++ {
		for i := range anchors {
			a := &anchors[i]
			if a.key >= 0 {
				for j := a.key; j < a.key+stride; j++ {
					t, _ := pick(a.lit, j)
					uses[t]--
				}
			}
			bestCost, bestKey := ^uint64(0), 0
			for w := 0; w+stride < len(a.lit); w++ {
				var cost uint64
				for j := w; j < w+stride; j++ {
					t, _ := pick(a.lit, j)
					if uses[t] > 0 {
						cost += cost3(t)
					} else {
						cost += 3 * cost3(t)
					}
				}
				if cost < bestCost {
					bestCost, bestKey = cost, w
				}
			}
			a.key = bestKey
			for j := bestKey; j < bestKey+stride; j++ {
				t, _ := pick(a.lit, j)
				uses[t]++
			}
		}
	}
	var count [1 << 16]uint16
	for i := range anchors {
		a := &anchors[i]
		for j := a.key; j < a.key+stride; j++ {
			count[uint16(a.lit[j])|uint16(a.lit[j+1])<<8]++
		}
	}
	total := 0
	for g := range count {
		first[g] = uint16(total)
		total += int(count[g])
		if count[g] > 0 {
			bitmap[g>>6] |= 1 << (g & 63)
		}
	}
	first[1<<16] = uint16(total)
	entries = make([]entry, total)
	var fill [1 << 16]uint16
	for i := range anchors {
		a := &anchors[i]
		for j := a.key; j < a.key+stride; j++ {
			g := uint16(a.lit[j]) | uint16(a.lit[j+1])<<8
			entries[int(first[g])+int(fill[g])] = entry{pre: binary.LittleEndian.Uint32([]byte(a.lit[:4])), anchor: uint16(i), off: uint16(j)}
			fill[g]++
			t, fwd := pick(a.lit, j)
			mul := uint64(triBwdMul)
			if fwd {
				mul = triFwdMul
			}
			h := triHash(t[0], t[1], t[2], mul)
			triBits[h>>6] |= 1 << (h & 63)
		}
	}
}
