package inject

// SQL injection. The evidence is always SQL structure next to the point
// where a value could end: a quote followed by a connector and a whole
// predicate, a connector and a tautology or numeric comparison (sqlmap's
// "1 and 1=2"), UNION SELECT with a select list, a stacked statement after
// ';', a time-delay or error-based function call, a comment that cuts the
// rest of the query. Words alone ("select a plan", "union station", "drop
// table reservations") and apostrophes in names (O'Brien) never are.

// Operand kinds.
const (
	oNone uint8 = iota
	oNum
	oStr
	oIdent
	oCall
	oParen
)

// operand is one SQL operand: [start,end) are its bytes, [vs,ve) its value
// (digits, string content without quotes, identifier).
type operand struct {
	kind           uint8
	start, end     int
	vs, ve         int
	truthy, falsy_ bool
	open           bool // an unterminated string: the application adds the closing quote
}

// sqlOperand parses an operand at b[i] (not a space).
func sqlOperand(b []byte, i int) operand {
	n := len(b)
	if i >= n {
		return operand{}
	}
	c := b[i]
	switch {
	case isDigit(c) || (c == '-' || c == '~') && i+1 < n && isDigit(b[i+1]):
		j := i
		if c == '-' || c == '~' {
			j++
		}
		if b[j] == '0' && j+2 < n && b[j+1]|0x20 == 'x' && isHex(b[j+2]) {
			j += 2
			for j < n && j-i < 80 && isHex(b[j]) {
				j++
			}
			return operand{kind: oNum, start: i, end: j, vs: i, ve: j, truthy: true}
		}
		j = digitsEnd(b, j)
		if j < n && b[j] == '.' && j+1 < n && isDigit(b[j+1]) {
			j = digitsEnd(b, j+1)
		}
		zero := true
		for k := i; k < j; k++ {
			if b[k] >= '1' && b[k] <= '9' {
				zero = false
			}
		}
		return operand{kind: oNum, start: i, end: j, vs: i, ve: j, truthy: !zero, falsy_: zero}
	case c == '\'' || c == '"' || c == '\\' && i+1 < n && (b[i+1] == '\'' || b[i+1] == '"'),
		(c == 'n' || c == 'N') && i+1 < n && b[i+1] == '\'':
		q := i
		if c == '\\' || c == 'n' || c == 'N' {
			q = i + 1
		}
		quote := b[q]
		lim := min(n, q+1+64)
		for j := q + 1; j < lim; j++ {
			if b[j] == quote {
				ve := j
				if ve > q+1 && b[ve-1] == '\\' {
					ve--
				}
				return operand{kind: oStr, start: i, end: j + 1, vs: q + 1, ve: ve}
			}
		}
		// Unterminated: the payload's last quote is the one the
		// application adds (' or 'a'='a). It must reach the end of the
		// value, or a parameter boundary.
		for j := q + 1; j <= lim; j++ {
			if j == n || b[j] == '&' || b[j] == '\n' || b[j] == 0 {
				ve := j
				for ve > q+1 && isSpace(b[ve-1]) {
					ve--
				}
				return operand{kind: oStr, start: i, end: j, vs: q + 1, ve: ve, open: true}
			}
		}
		return operand{}
	case c == '(':
		e := matchParen(b, i, 160)
		if e < 0 {
			return operand{}
		}
		return operand{kind: oParen, start: i, end: e, vs: i + 1, ve: e - 1}
	case isAlpha(c) || c == '_' || c == '@' || c == '`' || c == '[':
		j := i
		if c == '`' || c == '[' {
			// `quoted` or [bracketed] identifier
			close := byte('`')
			if c == '[' {
				close = ']'
			}
			j++
			for j < n && j-i < 64 && b[j] != close {
				j++
			}
			if j >= n || b[j] != close {
				return operand{}
			}
			return operand{kind: oIdent, start: i, end: j + 1, vs: i + 1, ve: j}
		}
		for j < n && j-i < 64 && (isIdent(b[j]) || b[j] == '@' || b[j] == '$' || b[j] == '.' && j+1 < n && isIdent(b[j+1])) {
			j++
		}
		k := skipSp(b, j)
		if k < n && b[k] == '(' {
			e := matchParen(b, k, 160)
			if e < 0 {
				return operand{}
			}
			return operand{kind: oCall, start: i, end: e, vs: i, ve: j}
		}
		o := operand{kind: oIdent, start: i, end: j, vs: i, ve: j}
		switch {
		case j-i == 4 && foldAt(b, i, "true"):
			o.truthy = true
		case j-i == 5 && foldAt(b, i, "false"), j-i == 4 && foldAt(b, i, "null"):
			o.falsy_ = true
		}
		return o
	}
	return operand{}
}

// matchParen returns the index after the ')' matching the '(' at b[i],
// looking at most max bytes; an unclosed parenthesis reaching the end of
// the value counts as closed there (payloads are often cut). -1 otherwise.
func matchParen(b []byte, i, max int) int {
	depth := 0
	lim := min(len(b), i+max)
	for j := i; j < lim; j++ {
		switch b[j] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return j + 1
			}
		}
	}
	if lim == len(b) {
		return len(b)
	}
	return -1
}

// sameValue reports whether two operands have the same kind and value.
func sameValue(b []byte, l, r operand) bool {
	if l.kind != r.kind || l.kind == oCall || l.kind == oParen {
		return false
	}
	if l.ve-l.vs != r.ve-r.vs {
		return false
	}
	for k := 0; k < l.ve-l.vs; k++ {
		if lowerTab[b[l.vs+k]] != lowerTab[b[r.vs+k]] {
			return false
		}
	}
	return true
}

// numValue is the value of a short decimal operand; ok false otherwise.
func numValue(b []byte, o operand) (v int64, ok bool) {
	if o.kind != oNum || o.ve-o.vs > 15 {
		return 0, false
	}
	neg := false
	for k := o.vs; k < o.ve; k++ {
		c := b[k]
		switch {
		case c == '-' && k == o.vs:
			neg = true
		case isDigit(c):
			v = v*10 + int64(c-'0')
		default:
			return 0, false
		}
	}
	if neg {
		v = -v
	}
	return v, true
}

// Comparison operators.
const (
	opNone uint8 = iota
	opEq         // = == <=> like
	opCmp        // < > <= >= <> !=
	opIn
	opIs
	opBetween
)

// sqlCmpOp parses a comparison operator at b[j].
func sqlCmpOp(b []byte, j int) (op uint8, end int) {
	n := len(b)
	if j >= n {
		return opNone, j
	}
	switch c := b[j]; c {
	case '=':
		if j+1 < n && b[j+1] == '=' {
			return opEq, j + 2
		}
		return opEq, j + 1
	case '<':
		if j+2 < n && b[j+1] == '=' && b[j+2] == '>' {
			return opEq, j + 3
		}
		if j+1 < n && (b[j+1] == '=' || b[j+1] == '>') {
			return opCmp, j + 2
		}
		return opCmp, j + 1
	case '>':
		if j+1 < n && b[j+1] == '=' {
			return opCmp, j + 2
		}
		return opCmp, j + 1
	case '!':
		if j+1 < n && b[j+1] == '=' {
			return opCmp, j + 2
		}
	}
	k := j
	if wordAt(b, k, "not") {
		k = skipSp(b, k+3)
	}
	switch {
	case wordAt(b, k, "like"):
		return opEq, k + 4
	case wordAt(b, k, "rlike"), wordAt(b, k, "regexp"), wordAt(b, k, "glob"):
		return opCmp, alphaEnd(b, k, 8)
	case wordAt(b, k, "sounds"):
		if e := skipSp(b, k+6); wordAt(b, e, "like") {
			return opEq, e + 4
		}
	case wordAt(b, k, "in"):
		return opIn, k + 2
	case wordAt(b, k, "between"):
		return opBetween, k + 7
	case k == j && wordAt(b, k, "is"):
		return opIs, k + 2
	}
	return opNone, j
}

// sqlEnd reports whether a SQL statement may end at b[j]: the end of the
// value, a comment, ';', ')' or a parameter boundary.
func sqlEnd(b []byte, j int) bool {
	j = skipSp(b, j)
	if j >= len(b) {
		return true
	}
	switch b[j] {
	case ';', ')', '&', '\n', '\r', 0, '#', '\'', '"', '`':
		return true
	case '-':
		return j+1 < len(b) && b[j+1] == '-'
	case '/':
		return j+1 < len(b) && b[j+1] == '*'
	}
	return false
}

// sqlPred parses a predicate at b[i]: "X op Y", "X between Y and Z",
// "X in (…)", "X is [not] null", "[not] exists(…)", or a bare truthy
// operand that ends the statement (or 1--, or true#, or sleep(5)).
//
// A predicate on a column (priority > 2, email is null) is also what
// filter languages send; after a quote it counts only when the statement
// then ends as an injection does: a comment, ';', or a string the
// application closes (' or name like '%).
func sqlPred(b []byte, i int) (ok, taut bool) {
	ok, taut, col, end, open := sqlPredEnd(b, i)
	if ok && col && !open && !injectedEnd(b, end) {
		return false, false
	}
	return ok, taut
}

// injectedEnd reports whether b[j] ends an injected statement: the end of
// the value, a comment, ';'.
func injectedEnd(b []byte, j int) bool {
	j = skipSp(b, j)
	for p := 0; p < 4 && j < len(b) && b[j] == ')'; p++ {
		j = skipSp(b, j+1)
	}
	if j >= len(b) || endish(b, j) {
		return true
	}
	switch b[j] {
	case ';', '#':
		return true
	case '-':
		return j+1 < len(b) && b[j+1] == '-'
	case '/':
		return j+1 < len(b) && b[j+1] == '*'
	}
	return false
}

// sqlPredEnd is sqlPred's parse: col reports a predicate on an
// identifier, end where it ends, open whether its last operand is an
// unterminated string.
func sqlPredEnd(b []byte, i int) (ok, taut, col bool, end int, open bool) {
	n := len(b)
	i = skipSp(b, i)
	if wordAt(b, i, "not") {
		i = skipSp(b, i+3)
	}
	l := sqlOperand(b, i)
	if l.kind == oNone {
		return
	}
	col = l.kind == oIdent && !l.truthy && !l.falsy_
	j := skipSp(b, l.end)
	end = j
	op, oe := sqlCmpOp(b, j)
	switch op {
	case opNone:
		if (l.kind == oNum || l.kind == oCall || l.kind == oParen || l.truthy || l.falsy_) && sqlEnd(b, j) {
			return true, l.truthy, false, j, false
		}
		return
	case opIn:
		k := skipSp(b, oe)
		if k < n && b[k] == '(' {
			return true, false, col, matchParen(b, k, 160), false
		}
		return
	case opIs:
		k := skipSp(b, oe)
		if wordAt(b, k, "not") {
			k = skipSp(b, k+3)
		}
		if wordAt(b, k, "null") || wordAt(b, k, "true") || wordAt(b, k, "false") {
			return true, false, col, alphaEnd(b, k, 5), false
		}
		return
	case opBetween:
		r := sqlOperand(b, skipSp(b, oe))
		if r.kind == oNone {
			return
		}
		k := skipSp(b, r.end)
		if !wordAt(b, k, "and") {
			return
		}
		r2 := sqlOperand(b, skipSp(b, k+3))
		return r2.kind != oNone, false, col, r2.end, r2.open
	}
	r := sqlOperand(b, skipSp(b, oe))
	if r.kind == oNone {
		return
	}
	end, open = r.end, r.open
	col = col || r.kind == oIdent && !r.truthy && !r.falsy_
	if op == opEq && sameValue(b, l, r) {
		return true, true, false, end, open
	}
	lv, lok := numValue(b, l)
	rv, rok := numValue(b, r)
	if lok && rok && op == opCmp {
		switch {
		case b[j] == '>' && (j+1 >= n || b[j+1] != '='):
			taut = lv > rv
		case b[j] == '<' && (j+1 >= n || b[j+1] != '=' && b[j+1] != '>'):
			taut = lv < rv
		}
	}
	return true, taut, col, end, open
}

// sqlConnector returns the length of a boolean connector at b[k] (or, and,
// xor, having, ||, &&), 0 when there is none.
func sqlConnector(b []byte, k int) int {
	if k >= len(b) {
		return 0
	}
	switch lowerTab[b[k]] {
	case 'o':
		if wordAt(b, k, "or") {
			return 2
		}
	case 'a':
		if wordAt(b, k, "and") {
			return 3
		}
	case 'x':
		if wordAt(b, k, "xor") {
			return 3
		}
	case 'h':
		if wordAt(b, k, "having") {
			return 6
		}
	case 'w':
		if wordAt(b, k, "where") {
			return 5
		}
	case '|':
		if k+1 < len(b) && b[k+1] == '|' {
			return 2
		}
	case '&':
		if k+1 < len(b) && b[k+1] == '&' {
			return 2
		}
	}
	return 0
}

// sqlAfterQuote checks the SQL rules that start at a quote b[q]; k is the
// first byte after it and any closing parentheses and blanks, gap whether
// there were any.
func (s *Scanner) sqlAfterQuote(q, k int, gap bool) {
	b := s.b
	n := len(b)
	dq := b[q] == '"'
	c := lowerTab[b[k]]
	if dq && !gap && isAlpha(c) {
		return // "or": a JSON key or a word in quotes
	}
	if !gap && isAlpha(c) && q > 0 && isAlpha(b[q-1]) {
		// it's, O'Brien: an apostrophe inside a word — unless a quoted
		// connector follows: x'or'1'='1, carrito'or'a='a.
		if cl := sqlConnector(b, k); cl == 0 || k+cl >= n || b[k+cl] != b[q] || isAlpha(c) && c != 'o' && c != 'a' {
			return
		}
	}
	if gap && isAlpha(c) && s.statementAfterQuote(k) {
		s.report(SQLi, q, "sqli.stacked")
		return
	}
	switch c {
	case 'o', 'a', 'x', 'h', '|', '&':
		if cl := sqlConnector(b, k); cl > 0 && c != 'w' {
			if !s.spend(32) {
				return
			}
			if ok, taut := sqlPred(b, k+cl); ok {
				rule := "sqli.boolean"
				if taut {
					rule = "sqli.tautology"
				}
				s.report(SQLi, q, rule)
				return
			}
			// 'or'a='a: the connector quoted on both sides, then a
			// comparison (malformed, as scanners send it).
			if k+cl < n && b[k+cl] == b[q] && k == q+1 {
				if e := indexFold(b, k+cl, k+cl+16, "="); e > 0 {
					s.report(SQLi, q, "sqli.boolean")
					return
				}
			}
			if cl == 2 && c == '|' && k == skipSp(b, q+1) {
				// '||'x', '||utl_http.request(…)||': Oracle/Postgres
				// concatenation out of the string.
				o := sqlOperand(b, skipSp(b, k+2))
				if o.kind == oStr && o.ve > o.vs || o.kind == oCall && foldAt(b, skipSp(b, o.end), "||") ||
					(o.kind == oCall || o.kind == oIdent) && (foldAt(b, o.vs, "utl_") ||
						foldAt(b, o.vs, "dbms_") || foldAt(b, o.vs, "sys.") || foldAt(b, o.vs, "chr") || foldAt(b, o.vs, "char") ||
						foldAt(b, o.vs, "pg_") || foldAt(b, o.vs, "ctxsys.") || foldAt(b, o.vs, "elt") || foldAt(b, o.vs, "concat")) {
					s.report(SQLi, q, "sqli.concat")
				}
				return
			}
		}
		if c == 'o' && wordAt(b, k, "order") {
			s.orderBy(q, k, true)
		}
	case 'g':
		if wordAt(b, k, "group") {
			s.orderBy(q, k, true)
		}
	case 'u':
		s.union(q, k, true)
	case 'i':
		if wordAt(b, k, "into") {
			if e := skipSp(b, k+4); wordAt(b, e, "outfile") || wordAt(b, e, "dumpfile") {
				s.report(SQLi, q, "sqli.outfile")
			}
		}
	case '-':
		if k+1 < n && b[k+1] == '-' && commentTail(b, k+2) {
			s.report(SQLi, q, "sqli.comment")
		}
	case '#':
		if commentTail(b, k+1) && !dq {
			s.report(SQLi, q, "sqli.comment")
		}
	case '/':
		// admin'/* : an unclosed comment right after the quote.
		if k+1 < n && b[k+1] == '*' && !spaceBetween(b, q+1, k) && closeAt(b, k+2, 512, "*/") < 0 {
			s.report(SQLi, q, "sqli.comment")
		}
	case ';':
		j := skipSp(b, k+1)
		if j+1 < n && (b[j] == '-' && b[j+1] == '-' && commentTail(b, j+2) || b[j] == '#' && commentTail(b, j+1)) {
			s.report(SQLi, q, "sqli.comment")
		}
	}
}

// spaceBetween reports whether b[i:j] holds a blank.
func spaceBetween(b []byte, i, j int) bool {
	for ; i < j; i++ {
		if isSpace(b[i]) {
			return true
		}
	}
	return false
}

// statementAfterQuote reports whether a statement that only an injection
// puts after a closing quote starts at b[k] (' delete from users, ' drop
// table x, ' exec xp_cmdshell …). A select must have a strong list (*,
// @@var, null, a number): "'x' select one from the list" is prose.
func (s *Scanner) statementAfterQuote(k int) bool {
	b := s.b
	switch lowerTab[b[k]] {
	case 'd', 'i', 'u', 't', 'e', 's', 'w':
	default:
		return false
	}
	if wordAt(b, k, "select") {
		j := skipSp(b, k+6)
		return j < len(b) && (b[j] == '*' || b[j] == '@' || isDigit(b[j]) || wordAt(b, j, "null")) && selectList(b, k+6)
	}
	if wordAt(b, k, "set") || wordAt(b, k, "desc") || wordAt(b, k, "describe") {
		return false
	}
	return sqlStatement(b, k)
}

// commentTail reports whether a comment starting at b[i] ends the value:
// only blanks and dashes up to the end or a parameter boundary.
func commentTail(b []byte, i int) bool {
	for i < len(b) && (b[i] == '-' || isSpace(b[i]) && b[i] != '\n') {
		i++
	}
	return endish(b, i)
}

// onEq looks back from a '=' for "connector operand =": "or 1=1",
// "and 8148=8148", "having 1=1", "|| 1==1".
func (s *Scanner) onEq(i int) {
	b := s.b
	n := len(b)
	if i > 0 && b[i-1] == '=' {
		return // the second of "=="
	}
	js := i+1 < n && b[i+1] == '='
	opStart := i
	if i > 0 && (b[i-1] == '<' || b[i-1] == '>' || b[i-1] == '!') {
		opStart = i - 1
	}
	le := skipSpBack(b, opStart)
	if le < 0 {
		return
	}
	var l operand
	c := b[le]
	switch {
	case isDigit(c):
		ls := le
		for ls > 0 && le-ls < 24 && isDigit(b[ls-1]) {
			ls--
		}
		if ls > 0 && (isAlpha(b[ls-1]) || b[ls-1] == '_') {
			return // an identifier like "b1"
		}
		if ls > 0 && b[ls-1] == '-' {
			ls--
		}
		l = operand{kind: oNum, start: ls, end: le + 1, vs: ls, ve: le + 1}
	case c == '\'' || c == '"':
		lo := max0(le - 64)
		k := le - 1
		for k >= lo && b[k] != c {
			k--
		}
		if k < lo {
			return
		}
		ve := le
		if ve > k+1 && b[ve-1] == '\\' {
			ve--
		}
		st := k
		if k > 0 && b[k-1] == '\\' {
			st = k - 1
		}
		l = operand{kind: oStr, start: st, end: le + 1, vs: k + 1, ve: ve}
	case isAlpha(c) || c == '_':
		ls := identBack(b, le, 32, true)
		if ls < le+1-32 || !wordStart(b, ls) {
			return
		}
		l = operand{kind: oIdent, start: ls, end: le + 1, vs: ls, ve: le + 1}
	default:
		return
	}
	ce := skipSpBack(b, l.start)
	if ce < 0 || !s.spend(16) {
		return
	}
	// Opening parentheses: "and (3020=3020)*6703", "elt(4249=4249,7259)".
	paren := false
	for p := 0; p < 4 && ce >= 0 && b[ce] == '('; p++ {
		ce = skipSpBack(b, ce)
		paren = true
	}
	if ce < 0 {
		return
	}
	// The connector that ends at ce.
	var cs, cl int
	fn := false // a SQL function or CASE WHEN: the comparison is SQL wherever it is
	switch {
	case ce > 0 && (b[ce] == '|' && b[ce-1] == '|' || b[ce] == '&' && b[ce-1] == '&'):
		cs, cl = ce-1, 2
	case isAlpha(b[ce]):
		cs = identBack(b, ce, 8, false)
		cl = sqlConnector(b, cs)
		if cl == 0 {
			var buf [8]byte
			switch string(lowerInto(buf[:], b, cs, ce+1)) {
			case "when":
				cl, fn = ce+1-cs, true
			case "not":
				cl = ce + 1 - cs
			case "elt", "if", "iif", "make_set":
				if paren {
					cl, fn = ce+1-cs, true
				}
			}
		}
		if cl != ce+1-cs || !wordStart(b, cs) {
			return
		}
	default:
		return
	}
	k := i + 1
	if js {
		k++
	}
	r := sqlOperand(b, skipSp(b, k))
	if r.kind == oNone {
		return
	}
	taut := opStart == i && sameValue(b, l, r)
	if js {
		if taut && cl == 2 {
			s.report(NoSQLi, cs, "nosqli.js_tautology")
		}
		return
	}
	if taut {
		s.report(SQLi, cs, "sqli.tautology")
		return
	}
	if l.kind == oStr && r.kind == oStr {
		// " and "x"="y: a string comparison right after a quote.
		if p := skipSpBack(b, cs); p >= 0 && (b[p] == '\'' || b[p] == '"') && b[p] == b[l.vs-1] {
			s.report(SQLi, p, "sqli.boolean")
		}
		return
	}
	if l.kind == oNum && r.kind == oNum {
		// sqlmap's boolean probes in a numeric context:
		// "1 and 8148=8149", "-2817) where 1212=1212 or 3266=1102".
		p := skipSpBack(b, cs)
		if fn || p < 0 || isDigit(b[p]) || b[p] == ')' || b[p] == '\'' || b[p] == '"' {
			s.report(SQLi, cs, "sqli.boolean")
		}
	}
}

// likeBack checks "connector 'x' like 'x" where "like" starts at b[lk]
// and the right operand's quote is b[q].
func (s *Scanner) likeBack(lk, q int) {
	b := s.b
	le := skipSpBack(b, lk)
	if le < 1 || b[le] != '\'' {
		return
	}
	k := le - 1
	for k >= 0 && le-k < 64 && b[k] != '\'' {
		k--
	}
	if k < 0 || b[k] != '\'' {
		return
	}
	l := operand{kind: oStr, start: k, end: le + 1, vs: k + 1, ve: le}
	r := sqlOperand(b, q)
	if r.kind != oStr || !sameValue(b, l, r) {
		return
	}
	ce := skipSpBack(b, k)
	for p := 0; p < 4 && ce >= 0 && b[ce] == '('; p++ {
		ce = skipSpBack(b, ce)
	}
	if ce < 1 {
		return
	}
	cs := identBack(b, ce, 7, false)
	if b[ce] == '|' && b[ce-1] == '|' || b[ce] == '&' && b[ce-1] == '&' {
		cs = ce - 1
	} else if sqlConnector(b, cs) != ce+1-cs || !wordStart(b, cs) {
		return
	}
	s.report(SQLi, cs, "sqli.tautology")
}

// union checks "union [all|distinct] [(] select <list>" at b[k]; from a
// quote (ctx) a bare "union select" at the end of the value counts.
func (s *Scanner) union(at, k int, ctx bool) bool {
	b := s.b
	if !wordStart(b, k) || !wordAt(b, k, "union") {
		return false
	}
	j := skipSp(b, k+5)
	if wordAt(b, j, "all") {
		j = skipSp(b, j+3)
	} else if wordAt(b, j, "distinct") {
		j = skipSp(b, j+8)
	}
	for p := 0; p < 3 && j < len(b) && b[j] == '('; p++ {
		j = skipSp(b, j+1)
	}
	if !wordAt(b, j, "select") {
		return false
	}
	if selectList(b, j+6) || ctx && endish(b, j+6) {
		s.report(SQLi, at, "sqli.union_select")
		return true
	}
	return false
}

func (s *Scanner) onUnion(i int) { s.union(i, i, false) }

// selectList reports whether what follows "select" at b[k] is a select
// list: *, @@var, null, a number, a string, a function call, a
// parenthesis, or identifiers followed by ',' or "from".
func selectList(b []byte, k int) bool {
	n := len(b)
	j := skipSp(b, k)
	if j == k && j < n && isIdent(b[j]) {
		return false // "selection"
	}
	if wordAt(b, j, "all") {
		j = skipSp(b, j+3)
	} else if wordAt(b, j, "distinct") {
		j = skipSp(b, j+8)
	}
	if wordAt(b, j, "top") {
		d := digitsEnd(b, skipSp(b, j+3))
		return d > skipSp(b, j+3)
	}
	if j >= n {
		return false
	}
	c := b[j]
	switch {
	case c == '*' || c == '@' || c == '(' || c == '\'' || c == '"' || isDigit(c):
		return true
	case c == '-' && j+1 < n && isDigit(b[j+1]):
		return true
	}
	if wordAt(b, j, "null") || wordAt(b, j, "case") || wordAt(b, j, "if") && skipSp(b, j+2) < n && b[skipSp(b, j+2)] == '(' {
		return true
	}
	if isAlpha(c) || c == '_' {
		e := j
		for e < n && e-j < 64 && (isIdent(b[e]) || b[e] == '.' || b[e] == '$') {
			e++
		}
		p := skipSp(b, e)
		if p < n && (b[p] == '(' || b[p] == ',') {
			return true
		}
		if wordAt(b, p, "from") || wordAt(b, p, "into") || foldAt(b, p, "||") {
			return true
		}
	}
	return false
}

// sqlStatement reports whether a stacked SQL statement starts at b[j].
func sqlStatement(b []byte, j int) bool {
	n := len(b)
	if j >= n || !isAlpha(b[j]) {
		return false
	}
	// objEnd: after "<kw> <ident>" the statement must end or go on as SQL.
	objEnd := func(k int, more ...string) bool {
		k = skipSp(b, k)
		o := sqlOperand(b, k)
		if o.kind != oIdent {
			return false
		}
		e := skipSp(b, o.end)
		if sqlEnd(b, e) || e < n && b[e] == ',' {
			return true
		}
		for _, m := range more {
			if wordAt(b, e, m) {
				return true
			}
		}
		return false
	}
	switch lowerTab[b[j]] {
	case 's':
		if wordAt(b, j, "select") {
			return selectList(b, j+6)
		}
		if wordAt(b, j, "shutdown") {
			return sqlEnd(b, j+8) || wordAt(b, skipSp(b, j+8), "with")
		}
		if wordAt(b, j, "set") {
			k := skipSp(b, j+3)
			return k < n && b[k] == '@'
		}
	case 'd':
		if wordAt(b, j, "drop") {
			k := skipSp(b, j+4)
			for _, w := range [...]string{"table", "database", "schema", "user", "procedure", "function", "view", "index", "trigger", "login"} {
				if wordAt(b, k, w) {
					k = skipSp(b, k+len(w))
					if wordAt(b, k, "if") {
						if e := skipSp(b, k+2); wordAt(b, e, "exists") {
							k = e + 6
						}
					}
					return objEnd(k, "cascade")
				}
			}
		}
		if wordAt(b, j, "delete") {
			k := skipSp(b, j+6)
			return wordAt(b, k, "from") && objEnd(k+4, "where")
		}
		if wordAt(b, j, "declare") {
			k := skipSp(b, j+7)
			return k < n && b[k] == '@'
		}
		if wordAt(b, j, "desc") || wordAt(b, j, "describe") {
			return objEnd(alphaEnd(b, j, 8))
		}
	case 'i':
		if wordAt(b, j, "insert") {
			k := skipSp(b, j+6)
			return wordAt(b, k, "into") && objEnd(k+4, "values", "select", "set") ||
				wordAt(b, k, "into") && func() bool {
					o := sqlOperand(b, skipSp(b, k+4))
					e := skipSp(b, o.end)
					return o.kind == oCall || o.kind == oIdent && e < n && b[e] == '('
				}()
		}
	case 'u':
		if wordAt(b, j, "update") {
			o := sqlOperand(b, skipSp(b, j+6))
			return o.kind == oIdent && wordAt(b, skipSp(b, o.end), "set")
		}
		if wordAt(b, j, "union") {
			return selectList(b, j) // rarely: ";union select"
		}
	case 't':
		if wordAt(b, j, "truncate") {
			k := skipSp(b, j+8)
			if wordAt(b, k, "table") {
				k += 5
			}
			return objEnd(k)
		}
	case 'a':
		if wordAt(b, j, "alter") {
			k := skipSp(b, j+5)
			for _, w := range [...]string{"table", "user", "database", "login", "system"} {
				if wordAt(b, k, w) {
					return objEnd(k+len(w), "add", "drop", "set", "modify", "with", "identified", "rename")
				}
			}
		}
	case 'c':
		if wordAt(b, j, "call") {
			o := sqlOperand(b, skipSp(b, j+4))
			return o.kind == oCall && sqlEnd(b, o.end)
		}
		if wordAt(b, j, "create") {
			k := skipSp(b, j+6)
			for _, w := range [...]string{"table", "user", "login", "database", "procedure", "function", "trigger"} {
				if wordAt(b, k, w) {
					o := sqlOperand(b, skipSp(b, k+len(w)))
					return o.kind == oIdent || o.kind == oCall
				}
			}
		}
	case 'e':
		if wordAt(b, j, "exec") || wordAt(b, j, "execute") {
			k := skipSp(b, alphaEnd(b, j, 8))
			if k >= n {
				return false
			}
			switch {
			case b[k] == '(' || b[k] == '@' || b[k] == '\'':
				return true
			case foldAt(b, k, "master.") || foldAt(b, k, "xp_") || foldAt(b, k, "sp_") || wordAt(b, k, "immediate"):
				return true
			}
		}
	case 'w':
		if wordAt(b, j, "waitfor") {
			k := skipSp(b, j+7)
			return wordAt(b, k, "delay") || wordAt(b, k, "time")
		}
	case 'b':
		if wordAt(b, j, "begin") {
			k := skipSp(b, j+5)
			if wordAt(b, k, "declare") || foldAt(b, k, "dbms_") || wordAt(b, k, "exec") || wordAt(b, k, "execute") {
				return true
			}
			// begin pkg.proc(…); end
			o := sqlOperand(b, k)
			return o.kind == oCall && indexFold(b, o.vs, o.ve, ".") > 0
		}
	case 'g':
		if wordAt(b, j, "grant") {
			return indexFold(b, j+5, j+64, " to ") > 0
		}
	case 'l':
		if wordAt(b, j, "load") {
			k := skipSp(b, j+4)
			return wordAt(b, k, "data") || foldAt(b, k, "_file")
		}
	}
	return false
}

// onSemi checks what may follow a ';': a stacked SQL statement, a comment
// cutting the query, a shell command, a JavaScript return.
func (s *Scanner) onSemi(i int) {
	b := s.b
	n := len(b)
	if !s.spend(16) {
		return
	}
	j := skipSp(b, i+1)
	if j < n && s.need(SQLi) {
		if isAlpha(b[j]) && sqlStatement(b, j) {
			s.report(SQLi, i, "sqli.stacked")
		}
	}
	if s.need(CommandInjection) {
		s.cmdAfterSep(i, i+1, sepSemi)
	}
	if s.need(NoSQLi) && wordAt(b, j, "return") {
		p := skipSpBack(b, i)
		k := skipSp(b, j+6)
		if p >= 0 && (b[p] == '\'' || b[p] == '"') && (wordAt(b, k, "true") || foldAt(b, k, "this.") || foldAt(b, k, "db.") ||
			k+1 < n && (b[k] == '\'' || b[k] == '"') && b[k+1] == b[k] || k < n && b[k] == '1') {
			s.report(NoSQLi, p, "nosqli.js_injection")
		}
	}
}

// orderBy checks "order by N" / "group by X having …" at b[k] ending in a
// comment or the value (from a quote: at = the quote).
func (s *Scanner) orderBy(at, k int, quoted bool) {
	b := s.b
	group := wordAt(b, k, "group")
	j := skipSp(b, k+5)
	if !wordAt(b, j, "by") {
		return
	}
	j = skipSp(b, j+2)
	o := sqlOperand(b, j)
	if o.kind == oNone {
		return
	}
	e := skipSp(b, o.end)
	if group {
		if wordAt(b, e, "having") {
			s.report(SQLi, at, "sqli.order_by")
		}
		return
	}
	if o.kind != oNum {
		return
	}
	if e+1 < len(b) && b[e] == '-' && b[e+1] == '-' && commentTail(b, e+2) || e < len(b) && b[e] == '#' && commentTail(b, e+1) ||
		quoted && endish(b, e) {
		s.report(SQLi, at, "sqli.order_by")
	}
}

// onCommentEnd looks back from a "--" or "#" for "order by N".
func (s *Scanner) onCommentEnd(i int) {
	b := s.b
	p := skipSpBack(b, i)
	if p < 0 || !isDigit(b[p]) {
		return
	}
	for p > 0 && isDigit(b[p-1]) {
		p--
	}
	p = skipSpBack(b, p)
	if p < 1 || lowerTab[b[p]] != 'y' || lowerTab[b[p-1]] != 'b' {
		return
	}
	p = skipSpBack(b, p-1)
	if p < 4 {
		return
	}
	st := p - 4
	if wordStart(b, st) && foldAt(b, st, "order") {
		s.orderBy(st, st, false)
	}
}

// onXP checks MSSQL's extended procedures: xp_cmdshell, xp_dirtree, ….
func (s *Scanner) onXP(i int) {
	b := s.b
	if !wordStart(b, i) || !foldAt(b, i, "xp_") {
		return
	}
	e := identEnd(b, i+3, 24)
	var buf [24]byte
	switch string(lowerInto(buf[:], b, i+3, e)) {
	case "cmdshell", "regread", "regwrite", "dirtree", "fileexist", "availablemedia", "servicecontrol",
		"subdirs", "loginconfig", "terminate_process", "makecab", "enumgroups", "ntsec_enumdomains", "regdeletekey":
		s.report(SQLi, i, "sqli.mssql_proc")
	}
}

// onAt checks "@@version"-style system variables and Razor's @(7*7).
func (s *Scanner) onAt(i int) {
	b := s.b
	if b[i+1] == '(' {
		if s.need(TemplateInjection) {
			if e := matchParen(b, i+1, 64); e > 0 && arith(b, i+2, e-1) {
				s.report(TemplateInjection, i, "ssti.arithmetic")
			}
		}
		return
	}
	if !s.need(SQLi) || i > 0 && (isIdent(b[i-1]) || b[i-1] == '@') {
		return
	}
	e := identEnd(b, i+2, 24)
	if e-(i+2) < 4 {
		return
	}
	if e < len(b) && b[e] == '.' { // @@global.x, @@session.x
		e = identEnd(b, e+1, 24)
	}
	var buf [24]byte
	switch string(lowerInto(buf[:], b, i+2, min(e, i+2+24))) {
	case "version", "datadir", "hostname", "servername", "basedir", "tmpdir", "language", "spid", "identity",
		"microsoftversion", "version_compile_os", "plugin_dir", "secure_file_priv", "servicename", "lc_time_names":
		s.report(SQLi, i, "sqli.system_variable")
	default:
		if foldAt(b, i+2, "global.") || foldAt(b, i+2, "session.") || sqlContextBefore(b, i) && i > 0 {
			s.report(SQLi, i, "sqli.system_variable")
		}
	}
}

// onDotIdent checks identifiers joined by a dot: catalog tables
// (information_schema.tables), Python dunders after a literal
// (”.__class__), MongoDB's this.password.
func (s *Scanner) onDotIdent(i int) {
	b := s.b
	n := len(b)
	if i+2 < n && b[i+1] == '_' && b[i+2] == '_' {
		if s.need(TemplateInjection) && i > 0 {
			switch b[i-1] {
			case '\'', '"', ')', ']', '}':
				if dunderAt(b, i+1) {
					s.report(TemplateInjection, i-1, "ssti.python_dunder")
				}
			}
		}
		return
	}
	if i == 0 {
		return
	}
	switch lowerTab[b[i-1]] {
	case 'a', 'l', 'm', 't', 's', 'b':
	default:
		return
	}
	st := identBack(b, i-1, 24, false)
	if !wordStart(b, st) {
		return
	}
	var buf [24]byte
	name := lowerInto(buf[:], b, st, i)
	switch string(name) {
	case "information_schema", "sysibm", "syscat":
		if s.need(SQLi) && i+1 < n && isAlpha(b[i+1]) {
			s.report(SQLi, st, "sqli.schema")
		}
	case "mysql":
		if s.need(SQLi) && (wordAt(b, i+1, "user") || wordAt(b, i+1, "db")) {
			s.report(SQLi, st, "sqli.schema")
		}
	case "this":
		if s.need(NoSQLi) {
			e := identEnd(b, i+1, 16)
			var nb [16]byte
			cred := false
			switch string(lowerInto(nb[:], b, i+1, e)) {
			case "password", "passwd", "pass", "username", "user", "email", "login", "token":
				cred = true
			}
			// ' && this.x.match(…): a break-out into a $where function.
			p := skipSpBack(b, st)
			breakout := p > 0 && (b[p] == '&' && b[p-1] == '&' || b[p] == '|' && b[p-1] == '|')
			k := skipSp(b, e)
			if (cred || breakout) && k < n && (b[k] == '.' || b[k] == '=' || b[k] == '!' || b[k] == '[') {
				s.report(NoSQLi, st, "nosqli.js_injection")
			}
		}
	case "db":
		if s.need(NoSQLi) {
			e := identEnd(b, i+1, 32)
			if e > i+1 && e < n && b[e] == '.' {
				f := identEnd(b, e+1, 16)
				var fb [16]byte
				switch string(lowerInto(fb[:], b, e+1, f)) {
				case "insert", "find", "remove", "drop", "update", "findone", "mapreduce", "deletemany":
					if f < n && b[f] == '(' {
						s.report(NoSQLi, st, "nosqli.js_injection")
					}
				}
			}
		}
	case "document":
		if s.need(XSS) && (wordAt(b, i+1, "cookie") || wordAt(b, i+1, "domain")) {
			if p := skipSpBack(b, st); p >= 0 {
				switch b[p] {
				case '\'', '"', ';', '>', '`', '-':
					s.report(XSS, st, "xss.dom_access")
				}
			}
		}
	}
}

// sqlCall checks a call of a SQL function: prefix.last( with the name at
// b[st:] and '(' at b[paren]: time delays, error-based and out-of-band
// functions, char() chains, exec(@var).
func (s *Scanner) sqlCall(prefix, last string, st, paren int) {
	b := s.b
	n := len(b)
	a := skipSp(b, paren+1)
	numArg := a < n && (isDigit(b[a]) || b[a] == '(' || b[a] == '@')
	switch last {
	case "sleep":
		switch prefix {
		case "", "dbms_lock", "sys.dbms_lock", "dbms_session", "user_lock":
		default:
			return
		}
		if !(numArg || foldAt(b, a, "__time__")) {
			return
		}
		if prefix == "" && !sqlContextBefore(b, st) {
			return
		}
		s.report(SQLi, st, "sqli.time_delay")
	case "pg_sleep", "randomblob":
		if prefix == "" && numArg {
			s.report(SQLi, st, "sqli.time_delay")
		}
	case "benchmark":
		if prefix == "" && a < n && isDigit(b[a]) {
			if d := skipSp(b, digitsEnd(b, a)); d < n && b[d] == ',' {
				s.report(SQLi, st, "sqli.time_delay")
			}
		}
	case "receive_message":
		if prefix == "dbms_pipe" || prefix == "sys.dbms_pipe" {
			s.report(SQLi, st, "sqli.time_delay")
		}
	case "load_file", "extractvalue", "updatexml", "group_concat", "make_set", "gtid_subset", "name_const",
		"xp_cmdshell", "xp_dirtree", "pg_read_file", "lo_import", "sp_executesql", "sp_oacreate", "openrowset",
		"opendatasource", "get_host_address", "get_host_name", "dbms_xmlgen", "getxml", "sqlid_to_sqlhash", "drithsx",
		"json_keys", "sqlite_version", "pg_ls_dir", "lo_export", "db_name", "user_name", "is_srvrolemember":
		switch prefix {
		case "", "utl_inaddr", "sys.utl_inaddr", "dbms_xmlgen", "dbms_utility", "ctxsys.drithsx", "ctxsys", "master.dbo", "master..":
		default:
			return
		}
		switch last {
		case "sqlite_version", "db_name", "user_name", "json_keys", "is_srvrolemember":
			if !sqlContextBefore(b, st) {
				return
			}
		}
		s.report(SQLi, st, "sqli.function")
	case "request":
		if prefix == "utl_http" || prefix == "sys.utl_http" {
			s.report(SQLi, st, "sqli.function")
		}
	case "char", "chr", "nchar":
		// char(47,101,116): three or more codes, or char(N)||char(…
		if prefix != "" || a >= n || !isDigit(b[a]) {
			return
		}
		d := digitsEnd(b, a)
		commas := 0
		for d < n && b[d] == ',' && commas < 8 {
			d2 := digitsEnd(b, skipSp(b, d+1))
			if d2 == skipSp(b, d+1) {
				break
			}
			d = skipSp(b, d2)
			commas++
		}
		if commas >= 2 {
			s.report(SQLi, st, "sqli.function")
			return
		}
		if d < n && b[d] == ')' {
			// char(113)||char(…, char(113)+char(… ('+' reads as a blank)
			k := skipSp(b, d+1)
			if foldAt(b, k, "||") {
				k = skipSp(b, k+2)
			}
			if foldAt(b, k, "char(") || foldAt(b, k, "chr(") || foldAt(b, k, "nchar(") {
				s.report(SQLi, st, "sqli.function")
			}
		}
	case "concat", "concat_ws":
		if prefix == "" && foldAt(b, a, "0x") {
			s.report(SQLi, st, "sqli.function")
		}
	case "exec", "execute":
		if a < n && b[a] == '@' {
			s.report(SQLi, st, "sqli.function")
		}
	}
}

// sqlContextBefore reports whether the bytes before a call at st are SQL
// rather than prose or code: the start of the value, a quote or operator,
// or a SQL keyword.
func sqlContextBefore(b []byte, st int) bool {
	p := skipSpBack(b, st)
	if p < 0 {
		return true
	}
	switch b[p] {
	case '\'', '"', '(', ',', ';', '=', '|', '&', ')', '*', '<', '>', '-':
		return true
	}
	if !isAlpha(b[p]) {
		return false
	}
	ws := identBack(b, p, 8, false)
	var buf [8]byte
	switch string(lowerInto(buf[:], b, ws, p+1)) {
	case "or", "and", "xor", "select", "not", "if", "then", "else", "when", "where", "having", "by", "union", "begin", "rlike", "like":
		return true
	}
	return false
}

// subquery checks "(select …)" at the '(' b[i], "select" at b[j].
func (s *Scanner) subquery(i, j int) {
	b := s.b
	if !selectList(b, j+6) {
		return
	}
	p := skipSpBack(b, i)
	if p < 0 {
		return
	}
	switch b[p] {
	case '(', ',', '=', '\'', '"', '|', '&', '-', '*', '/', '<', '>', '!', ';', '~':
		s.report(SQLi, i, "sqli.subquery")
		return
	}
	if isAlpha(b[p]) {
		ws := identBack(b, p, 8, false)
		var buf [8]byte
		switch string(lowerInto(buf[:], b, ws, p+1)) {
		case "in", "exists", "and", "or", "not", "union", "from", "select", "then", "else", "when", "xor", "like", "as", "if":
			s.report(SQLi, i, "sqli.subquery")
		}
	}
}
