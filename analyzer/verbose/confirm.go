package verbose

// Structural checks. Each confirm function receives the body (or the scan,
// when it looks at the whole body through the per-Find cache) and the index
// s where its anchor's literal was found, and returns the tech, the offset
// where the evidence starts, and whether the structure is there. All reads
// are bounded windows around s; nothing allocates.

// breakAt reports whether a frame's text must stop at b[i]: a line break
// (raw, escaped with an odd number of backslashes, <br>), a tab escape, or
// a double quote (raw or escaped), which ends a JSON string.
func breakAt(b []byte, i int) bool {
	switch b[i] {
	case '\n', '\r', '"':
		return true
	case '\\':
		j := i
		for j < len(b) && b[j] == '\\' {
			j++
		}
		if (j-i)%2 == 1 && j < len(b) {
			switch b[j] {
			case 'n', 'r', 't', '"':
				return true
			}
		}
	case '<':
		return hasAt(b, i, "<br") || hasAt(b, i, "<BR")
	}
	return false
}

// frameBoundary reports whether an "at " at b[j:] starts a frame line:
// indentation or a line break before it, the start of the body, a tag end
// or the opening quote of a JSON string.
func frameBoundary(b []byte, j int) bool {
	return j == 0 || spaceBefore(b, j) > 0 || b[j-1] == '>' || quoteBefore(b, j) > 0
}

// atBefore returns the rightmost frame-starting "at " in b[s-max:s], or -1.
func atBefore(b []byte, s, max int) int {
	lo := s - max
	if lo < 0 {
		lo = 0
	}
	if s > len(b) {
		s = len(b)
	}
	for j := s - 3; j >= lo; j-- {
		if b[j] == 'a' && b[j+1] == 't' && b[j+2] == ' ' && frameBoundary(b, j) {
			return j
		}
	}
	return -1
}

// atFrame parses a frame that starts with "at " at b[i:]:
//
//	at com.acme.Svc.find(Svc.java:42)            java (also Native Method, Unknown Source, .kt .scala .groovy)
//	at Object.<anonymous> (/app/x.js:3:9)        node (also bare "at /app/x.js:3:9", node:internal, <anonymous>)
//	at Acme.Svc.Find(Int32 id) in C:\x.cs:line 7 dotnet (the " in …:line N" is optional)
//
// and returns the tech and the index after the frame.
func atFrame(b []byte, i int) (tech string, end int, ok bool) {
	n := len(b)
	j := i + 3
	// Bare Node location.
	k := j
	for k < n && k-j < 300 && b[k] != ' ' && b[k] != '(' && b[k] != ')' && !breakAt(b, k) {
		k++
	}
	if k > j && nodeLoc(b[j:k], true) {
		return "node", k, true
	}
	// Callee up to "(" (Java, .NET) or " (" (Node).
	for k = j; k < n && k-j < 300; k++ {
		c := b[k]
		if c == '(' || c == ')' || c == '{' || c == '}' || breakAt(b, k) {
			break
		}
	}
	if k >= n || b[k] != '(' || k == j {
		return "", 0, false
	}
	ce := k
	if b[ce-1] == ' ' {
		ce--
	}
	callee := b[j:ce]
	if len(callee) == 0 {
		return "", 0, false
	}
	p := k + 1
	for k = p; k < n && k-p < 400; k++ {
		c := b[k]
		if c == ')' || c == '(' || breakAt(b, k) {
			break
		}
	}
	if k >= n || b[k] != ')' {
		return "", 0, false
	}
	loc := b[p:k]
	end = k + 1
	switch {
	case ce == k-len(loc)-1 && jvmLoc(loc) && jvmCallee(callee):
		return "java", end, true
	case nodeLoc(loc, false):
		return "node", end, true
	case ce == k-len(loc)-1 && dotnetCallee(callee) && dotnetArgs(loc):
		if hasAt(b, end, " in ") {
			for m := end + 4; m < n && m-end < 300; m++ {
				if b[m] == '\n' || b[m] == '\r' || b[m] == '"' {
					break
				}
				if hasAt(b, m, ":line ") {
					if e := digitsAt(b, m+6); e > m+6 {
						return "dotnet", e, true
					}
					break
				}
			}
		}
		return "dotnet", end, true
	}
	return "", 0, false
}

// jvmLoc: "Foo.java:12", "Foo.kt", "Native Method", "Unknown Source".
func jvmLoc(loc []byte) bool {
	switch string(loc) {
	case "Native Method", "Unknown Source", "Native method":
		return true
	}
	i := 0
	for i < len(loc) && (isIdent(loc[i]) || loc[i] == '$' || loc[i] == '-') {
		i++
	}
	if i == 0 {
		return false
	}
	rest := loc[i:]
	for _, ext := range [...]string{".java", ".kt", ".kts", ".scala", ".groovy", ".clj"} {
		if len(rest) >= len(ext) && string(rest[:len(ext)]) == ext {
			rest = rest[len(ext):]
			if len(rest) == 0 {
				return true
			}
			if rest[0] != ':' || len(rest) < 2 {
				return false
			}
			return digitsAt(rest, 1) == len(rest)
		}
	}
	return false
}

// jvmCallee: a qualified method name, com.acme.Svc.find, Svc$1.<init>,
// java.base/java.lang.Thread.run, app//com.acme.X.y.
func jvmCallee(c []byte) bool {
	dot := false
	for _, x := range c {
		switch {
		case isIdent(x), x == '$', x == '<', x == '>', x == '/', x == '@', x == '&', x == ';', x == '-':
		case x == '.':
			dot = true
		default:
			return false
		}
	}
	return dot
}

// nodeLoc: path.js:L:C (also .mjs .cjs .ts .jsx .tsx), node:internal/…:L:C,
// file:///…:L:C; unless strict, also <anonymous>, native, index N.
func nodeLoc(loc []byte, strict bool) bool {
	if !strict {
		switch string(loc) {
		case "<anonymous>", "&lt;anonymous&gt;", "native":
			return true
		}
		if len(loc) > 6 && string(loc[:6]) == "index " && digitsAt(loc, 6) == len(loc) {
			return true
		}
	}
	// strip :L:C
	e := len(loc)
	for round := 0; round < 2; round++ {
		d := e
		for d > 0 && isDigit(loc[d-1]) {
			d--
		}
		if d == e || d == 0 || loc[d-1] != ':' {
			return false
		}
		e = d - 1
	}
	rest := loc[:e]
	if len(rest) > 5 && string(rest[:5]) == "node:" {
		return true
	}
	for _, ext := range [...]string{".js", ".mjs", ".cjs", ".ts", ".jsx", ".tsx", ".mts", ".cts"} {
		if len(rest) > len(ext) && string(rest[len(rest)-len(ext):]) == ext {
			return true
		}
	}
	return false
}

// dotnetCallee: Namespace.Type.Method, with generics and compiler names
// (List`1.Add, Program.<Main>$, <>c__DisplayClass0_0.<Run>b__0).
func dotnetCallee(c []byte) bool {
	if len(c) == 0 || !(isUpper(c[0]) || c[0] == '<') {
		return false
	}
	dot := false
	for _, x := range c {
		switch {
		case isIdent(x), x == '`', x == '<', x == '>', x == '$', x == '[', x == ']', x == ',', x == '|', x == '+', x == '&', x == ';':
		case x == '.':
			dot = true
		default:
			return false
		}
	}
	return dot
}

// dotnetArgs: typed parameters, "String name, Int32 id", "Object[] args",
// "Closure , Object , Object[] " or nothing.
func dotnetArgs(a []byte) bool {
	for _, x := range a {
		switch {
		case isIdent(x), x == '.', x == '`', x == '<', x == '>', x == '[', x == ']', x == ',', x == ' ', x == '&', x == '*', x == ';':
		default:
			return false
		}
	}
	return true
}

// nextFrame reports whether another frame of tech starts within window
// bytes after from.
func nextFrame(b []byte, from, window int, tech string) bool {
	lim := from + window
	if lim > len(b) {
		lim = len(b)
	}
	for i, tries := from, 0; i < lim && tries < maxTries; {
		j := indexIn(b, i, lim, "at ")
		if j < 0 {
			return false
		}
		if frameBoundary(b, j) {
			tries++
			if t, _, ok := atFrame(b, j); ok && t == tech {
				return true
			}
		}
		i = j + 3
	}
	return false
}

// errorWordBefore reports whether an exception or error name ends within
// window bytes before i: the line above the first frame of a trace
// ("java.lang.IllegalStateException: …", "TypeError: …").
func errorWordBefore(b []byte, i, window int) bool {
	for _, w := range [...]string{"Exception", "Error", "Throwable"} {
		if lastIndexIn(b, i-window, i, w) >= 0 {
			return true
		}
	}
	return false
}

// bareJVMFrame parses a JVM frame without "at ", as Tomcat's error report
// prints them: a line holding only pkg.Class.method(File.java:N). s is
// inside its location. It returns the frame's start and end.
func bareJVMFrame(b []byte, s int) (start, end int, ok bool) {
	p := -1
	for j := s; j >= 0 && s-j < 100; j-- {
		if b[j] == '(' {
			p = j
			break
		}
		if b[j] == ')' || breakAt(b, j) {
			break
		}
	}
	if p < 1 {
		return 0, 0, false
	}
	c := p + 1
	for c < len(b) && c-p < 100 && b[c] != ')' && !breakAt(b, c) {
		c++
	}
	if c >= len(b) || b[c] != ')' || c <= s || !jvmLoc(b[p+1:c]) {
		return 0, 0, false
	}
	cs := p
	for cs > 0 && p-cs < 256 {
		x := b[cs-1]
		if !(isIdent(x) || x == '$' || x == '.' || x == '/' || x == '<' || x == '>' || x == '&' || x == ';' || x == '-' || x == '@') {
			break
		}
		cs--
	}
	callee := b[cs:p]
	dots := 0
	for _, x := range callee {
		if x == '.' {
			dots++
		}
	}
	if dots < 2 || !jvmCallee(callee) || !isAlpha(callee[0]) {
		return 0, 0, false
	}
	if !(cs == 0 || spaceBefore(b, cs) > 0 || quoteBefore(b, cs) > 0 || b[cs-1] == '>') {
		return 0, 0, false
	}
	return cs, c + 1, true
}

// frameAround finds the frame of tech that covers the anchor at s:
// "at …" (all techs) or a bare JVM frame. It returns its start and end.
func frameAround(b []byte, s int, tech string) (start, end int, ok bool) {
	at := s
	if !hasAt(b, s, "at ") || !frameBoundary(b, s) {
		at = atBefore(b, s, 300)
	}
	if at >= 0 {
		if t, e, ok := atFrame(b, at); ok && t == tech && e > s {
			return at, e, true
		}
	}
	if tech == "java" {
		return bareJVMFrame(b, s)
	}
	return 0, 0, false
}

// nextJVMFrame reports whether a bare JVM frame's ".java:" occurs within
// window bytes after from.
func nextJVMFrame(b []byte, from, window int) bool {
	for i, tries := from, 0; tries < maxTries; tries++ {
		j := indexIn(b, i, from+window, ".java:")
		if j < 0 {
			return false
		}
		if _, _, ok := bareJVMFrame(b, j); ok {
			return true
		}
		i = j + 6
	}
	return false
}

// maxTries bounds the candidates a search for a second frame parses: the
// next frame of a trace is on the next line.
const maxTries = 4

// confirmFrame is the check for frame anchors (".java:", ".js:", "at
// System." …): a whole frame of the anchor's tech covers the anchor, and
// either a second frame follows or an exception name precedes it.
func confirmFrame(b []byte, s int, a *anchor) (string, int, bool) {
	start, end, ok := frameAround(b, s, a.tech)
	if !ok {
		return "", 0, false
	}
	if nextFrame(b, end, 800, a.tech) || a.tech == "java" && nextJVMFrame(b, end, 800) || errorWordBefore(b, start, 400) {
		return a.tech, start, true
	}
	return "", 0, false
}

// confirmDotnetLine: "at X.Y(args) in path.cs:line N" found from
// ".cs:line ".
func confirmDotnetLine(b []byte, s int, a *anchor) (string, int, bool) {
	e := digitsAt(b, s+len(a.lit))
	if e == s+len(a.lit) {
		return "", 0, false
	}
	in := lastIndexIn(b, s-300, s, " in ")
	if in < 1 || b[in-1] != ')' || s-in < 6 {
		return "", 0, false
	}
	for k := in + 4; k < s; k++ {
		if b[k] == '\n' || b[k] == '\r' || b[k] == '"' {
			return "", 0, false
		}
	}
	at := atBefore(b, in, 400)
	if at < 0 {
		return "", 0, false
	}
	tech, end, ok := atFrame(b, at)
	if !ok || tech != "dotnet" || end != e {
		return "", 0, false
	}
	return tech, at, true
}

// qualName parses a dotted name at b[i:] (segments of [A-Za-z0-9_$]) and
// returns its end and the start of its last segment.
func qualName(b []byte, i int) (end, last int, dots int) {
	last = i
	end = i
	for end < len(b) {
		c := b[end]
		if isIdent(c) || c == '$' {
			end++
			continue
		}
		if c == '.' && end+1 < len(b) && (isIdent(b[end+1]) || b[end+1] == '$') && end > last {
			dots++
			end++
			last = end
			continue
		}
		break
	}
	return end, last, dots
}

// endsExc reports whether name ends in Exception, Error or Fault.
func endsExc(name []byte) bool {
	for _, w := range [...]string{"Exception", "Error", "Fault"} {
		if len(name) >= len(w) && string(name[len(name)-len(w):]) == w {
			return true
		}
	}
	return false
}

// confirmQualExc: the literal begins a qualified exception class name
// (com.mysql.cj.jdbc.exceptions.CommunicationsException,
// java.sql.SQLSyntaxErrorException) that is not part of a longer name.
func confirmQualExc(b []byte, s int, a *anchor) (string, int, bool) {
	if s > 0 && (isIdent(b[s-1]) || b[s-1] == '.') {
		return "", 0, false
	}
	end, last, dots := qualName(b, s)
	if dots < 1 || end <= s+len(a.lit) || !endsExc(b[last:end]) {
		return "", 0, false
	}
	return a.tech, s, true
}

// confirmCausedBy: "Caused by: " and a qualified exception class.
func confirmCausedBy(b []byte, s int, a *anchor) (string, int, bool) {
	j := s + len(a.lit)
	end, last, dots := qualName(b, j)
	if dots < 1 || !endsExc(b[last:end]) && !hasAt(b, last, "Throwable") {
		return "", 0, false
	}
	if end < len(b) && b[end] != ':' && spaceLen(b, end) == 0 && b[end] != '"' && b[end] != '\\' && b[end] != '<' {
		return "", 0, false
	}
	return a.tech, s, true
}

// confirmClassAfter: the literal ("PG::", "SQLite3::", "sqlalchemy.exc.")
// is followed by a capitalised class name; when a.n is 1, one ending in
// Error or Exception.
func confirmClassAfter(b []byte, s int, a *anchor) (string, int, bool) {
	if s > 0 && (isIdent(b[s-1]) || b[s-1] == '.') {
		return "", 0, false
	}
	j := s + int(a.base)
	if j >= len(b) || !isUpper(b[j]) {
		return "", 0, false
	}
	e := identAt(b, j)
	if e-j < 4 || a.n == 1 && !endsExc(b[j:e]) {
		return "", 0, false
	}
	return a.tech, s, true
}

// confirmPsycopg: psycopg2.errors.UndefinedTable, psycopg2.OperationalError,
// psycopg.errors.SyntaxError (psycopg 3).
func confirmPsycopg(b []byte, s int, a *anchor) (string, int, bool) {
	j := s + len(a.lit)
	if hasAt(b, j, "errors.") {
		j += 7
	} else if a.lit != "psycopg2." {
		j = -1
	}
	if j >= 0 && j < len(b) && isUpper(b[j]) {
		e := identAt(b, j)
		if e-j >= 4 && (hasAt(b, s+len(a.lit), "errors.") || a.lit == "psycopg.errors." || endsExc(b[j:e])) {
			return a.tech, s, true
		}
	}
	return "", 0, false
}

// confirmSQLState: SQLSTATE[42S02] or (SQLSTATE 42601): five characters of
// [0-9A-Z] and the closing bracket.
func confirmSQLState(b []byte, s int, a *anchor) (string, int, bool) {
	j := s + len(a.lit)
	if j+6 > len(b) {
		return "", 0, false
	}
	for k := j; k < j+5; k++ {
		if !isDigit(b[k]) && !isUpper(b[k]) {
			return "", 0, false
		}
	}
	close := byte(']')
	if a.lit[0] == '(' {
		close = ')'
	}
	if b[j+5] != close {
		return "", 0, false
	}
	return a.tech, s, true
}

// confirmORA: ORA-NNNNN: (exactly five digits, then a colon), not inside
// a longer word.
func confirmORA(b []byte, s int, a *anchor) (string, int, bool) {
	if s > 0 && isAlnum(b[s-1]) {
		return "", 0, false
	}
	j := s + 4
	if digitsAt(b, j) != j+5 || !hasAt(b, j+5, ":") {
		return "", 0, false
	}
	return a.tech, s, true
}

// confirmSQLiteCode: SQLITE_ERROR: / [SQLITE_CONSTRAINT] / (SQLITE_BUSY).
func confirmSQLiteCode(b []byte, s int, a *anchor) (string, int, bool) {
	if s > 0 && isIdent(b[s-1]) {
		return "", 0, false
	}
	j := s + len(a.lit)
	e := j
	for e < len(b) && (isUpper(b[e]) || b[e] == '_') {
		e++
	}
	if e-j < 4 || e >= len(b) {
		return "", 0, false
	}
	switch b[e] {
	case ':', ']', ')':
		return a.tech, s, true
	}
	return "", 0, false
}

// confirmQuoteAfter: the literal is followed by a quote, as in
// syntax error at or near "FROM".
func confirmQuoteAfter(b []byte, s int, a *anchor) (string, int, bool) {
	if quoteLen(b, s+len(a.lit)) > 0 {
		return a.tech, s, true
	}
	return "", 0, false
}

// confirmRelation: lib/pq's pq: relation "users" does not exist (or
// column).
func confirmRelation(b []byte, s int, a *anchor) (string, int, bool) {
	j := s + len(a.lit)
	q := quoteLen(b, j)
	if q == 0 {
		return "", 0, false
	}
	j += q
	k := j
	for k < len(b) && k-j < 128 && (isIdent(b[k]) || b[k] == '.') {
		k++
	}
	if k == j {
		return "", 0, false
	}
	q = quoteLen(b, k)
	if q == 0 || !hasAt(b, k+q, " does not exist") {
		return "", 0, false
	}
	return a.tech, s, true
}

// confirmNoSuch: SQLite's "no such table: users" / "no such column: x".
func confirmNoSuch(b []byte, s int, a *anchor) (string, int, bool) {
	j := s + len(a.lit)
	if j < len(b) && (isIdent(b[j])) && (s == 0 || !isIdent(b[s-1])) {
		return a.tech, s, true
	}
	return "", 0, false
}

// confirmNotAfter rejects the literal when a.words[0] precedes it
// (SqlException inside MySqlException).
func confirmNotAfter(b []byte, s int, a *anchor) (string, int, bool) {
	if hasBefore(b, s, a.words[0]) {
		return "", 0, false
	}
	return a.tech, s, true
}

// confirmWordStart: the literal starts a word.
func confirmWordStart(b []byte, s int, a *anchor) (string, int, bool) {
	if s > 0 && isIdent(b[s-1]) {
		return "", 0, false
	}
	return a.tech, s, true
}

// confirmMSSQLBracket: "[SQL Server]" right after another bracket, as in
// [Microsoft][ODBC Driver 17 for SQL Server][SQL Server]Invalid object name.
func confirmMSSQLBracket(b []byte, s int, a *anchor) (string, int, bool) {
	if s > 0 && b[s-1] == ']' {
		return a.tech, s, true
	}
	return "", 0, false
}

// confirmIncorrectSyntax: Incorrect syntax near 'x' / near the keyword 'FROM'.
func confirmIncorrectSyntax(b []byte, s int, a *anchor) (string, int, bool) {
	j := s + len(a.lit)
	if hasAt(b, j, " the keyword ") {
		j += 13
	} else if hasAt(b, j, " ") {
		j++
	} else {
		return "", 0, false
	}
	if squoteLen(b, j) > 0 || quoteLen(b, j) > 0 {
		return a.tech, s, true
	}
	return "", 0, false
}

// confirmMySQLWarning: PHP's "Warning: mysql_query()", "Warning</b>:
// mysqli::query()", "Fatal error: Uncaught mysqli_sql_exception".
func confirmMySQLWarning(b []byte, s int, a *anchor) (string, int, bool) {
	j := s + len(a.lit) // after "mysql"
	if hasAt(b, j, "i") {
		j++
	}
	if !(hasAt(b, j, "_") || hasAt(b, j, "::") || hasAt(b, j, "->")) {
		return "", 0, false
	}
	if hasAt(b, s, "mysqli_sql_exception") {
		return a.tech, s, true
	}
	k := skipSpaceBack(b, s, 16, true)
	if k == s || !hasBefore(b, k, ":") {
		return "", 0, false
	}
	k = skipSpaceBack(b, k-1, 16, true)
	for _, w := range [...]string{"Warning", "Fatal error", "Notice", "Deprecated", "Uncaught"} {
		if hasBefore(b, k, w) {
			return a.tech, k - len(w), true
		}
	}
	return "", 0, false
}

// pyFrame parses `File "path", line N` at b[i:] (at "File ").
func pyFrame(b []byte, i int) (end int, ok bool) {
	j := i + 5
	q := quoteLen(b, j)
	if q == 0 {
		return 0, false
	}
	j += q
	ps := j
	for j < len(b) && j-ps < 400 && quoteLen(b, j) == 0 {
		if b[j] == '\n' || b[j] == '\r' {
			return 0, false
		}
		j++
	}
	q = quoteLen(b, j)
	if q == 0 || j == ps {
		return 0, false
	}
	j += q
	if !hasAt(b, j, ", line ") {
		return 0, false
	}
	e := digitsAt(b, j+7)
	if e == j+7 {
		return 0, false
	}
	return e, true
}

// pyFrameAfter reports whether a Python frame starts within window bytes
// after from.
func pyFrameAfter(b []byte, from, window int) bool {
	lim := from + window
	if lim > len(b) {
		lim = len(b)
	}
	for i, tries := from, 0; i < lim && tries < maxTries; tries++ {
		j := indexIn(b, i, lim, "File ")
		if j < 0 {
			return false
		}
		if _, ok := pyFrame(b, j); ok {
			return true
		}
		i = j + 5
	}
	return false
}

// confirmTraceback: "Traceback (most recent call last)" and a frame.
func confirmTraceback(b []byte, s int, a *anchor) (string, int, bool) {
	if pyFrameAfter(b, s+len(a.lit), 240) {
		return a.tech, s, true
	}
	return "", 0, false
}

// confirmPyLine: `File "….py", line N` found from its escaped `.py\", line `
// (or &quot;), plus a second frame or a Traceback header.
func confirmPyLine(b []byte, s int, a *anchor) (string, int, bool) {
	e := s + len(a.lit)
	if digitsAt(b, e) == e {
		return "", 0, false
	}
	f := lastIndexIn(b, s-400, s, "File ")
	if f < 0 {
		return "", 0, false
	}
	end, ok := pyFrame(b, f)
	if !ok || end <= e {
		return "", 0, false
	}
	if pyFrameAfter(b, end, 1000) || lastIndexIn(b, f-600, f, "Traceback") >= 0 {
		return a.tech, f, true
	}
	return "", 0, false
}

// pathStart walks back from i over a file path (no blanks, quotes,
// parentheses, line breaks) and returns where it starts.
func pathStart(b []byte, i, max int) int {
	lo := i - max
	for i > 0 && i > lo {
		c := b[i-1]
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '"' || c == '(' || c == ')' || c == '\'' || c == '>' || c == '[' || c == ',' {
			break
		}
		if spaceBefore(b, i) > 1 || quoteBefore(b, i) > 1 {
			break
		}
		i--
	}
	return i
}

// confirmGoFrame: "\t/app/main.go:42 +0x1d", found from its " +0x".
func confirmGoFrame(b []byte, s int, a *anchor) (string, int, bool) {
	d := s
	for d > 0 && isDigit(b[d-1]) && s-d < 10 {
		d--
	}
	if d == s || !hasBefore(b, d, ".go:") {
		return "", 0, false
	}
	p := pathStart(b, d-4, 300)
	if p == d-4 {
		return "", 0, false
	}
	return a.tech, p, true
}

// confirmGoroutine: "goroutine 1 [running]:" and a Go frame after it.
func confirmGoroutine(b []byte, s int, a *anchor) (string, int, bool) {
	if !hasBefore(b, s, " ") {
		return "", 0, false
	}
	d := s - 1
	for d > 0 && isDigit(b[d-1]) && s-d < 20 {
		d--
	}
	if d == s-1 || !hasBefore(b, d, "goroutine ") {
		return "", 0, false
	}
	if indexIn(b, s, s+2048, ".go:") < 0 {
		return "", 0, false
	}
	return a.tech, d - len("goroutine "), true
}

// rubyFrame parses "path.rb:12:in `name'" from its ".rb:" at s and returns
// the path start and the end.
func rubyFrame(b []byte, s int) (start, end int, ok bool) {
	j := digitsAt(b, s+4)
	if j == s+4 || !hasAt(b, j, ":in ") {
		return 0, 0, false
	}
	j += 4
	q := squoteLen(b, j)
	if q == 0 {
		return 0, 0, false
	}
	p := pathStart(b, s, 300)
	if p == s {
		return 0, 0, false
	}
	return p, j + q, true
}

// confirmRuby: a Ruby frame and a second one within 1 KiB, or an error
// name right before or after it.
func confirmRuby(b []byte, s int, a *anchor) (string, int, bool) {
	p, end, ok := rubyFrame(b, s)
	if !ok {
		return "", 0, false
	}
	for i, tries := end, 0; tries < maxTries; tries++ {
		j := indexIn(b, i, end+1024, ".rb:")
		if j < 0 {
			break
		}
		if _, _, ok := rubyFrame(b, j); ok {
			return a.tech, p, true
		}
		i = j + 4
	}
	if errorWordBefore(b, p, 300) || indexIn(b, end, end+300, "Error)") >= 0 {
		return a.tech, p, true
	}
	return "", 0, false
}

// confirmPHPStack: "Stack trace:" then "#0 " and a PHP frame: {main},
// [internal function] or path(N).
func confirmPHPStack(b []byte, s int, a *anchor) (string, int, bool) {
	j := skipSpace(b, s+len(a.lit), 48, true)
	if !hasAt(b, j, "#0 ") {
		return "", 0, false
	}
	j += 3
	if hasAt(b, j, "{main}") || hasAt(b, j, "[internal function]") {
		return a.tech, s, true
	}
	for k := j; k < len(b) && k-j < 300; k++ {
		if b[k] == '(' {
			e := digitsAt(b, k+1)
			if e > k+1 && hasAt(b, e, ")") && k > j {
				return a.tech, s, true
			}
			return "", 0, false
		}
		if breakAt(b, k) {
			return "", 0, false
		}
	}
	return "", 0, false
}

// confirmPHPLine: "<error label> … in /path/x.php on line N", and the HTML
// form "in <b>/path/x.php</b> on line <b>N</b>".
func confirmPHPLine(b []byte, s int, a *anchor) (string, int, bool) {
	on := s + len(a.lit) - len(" on line ")
	j := skipSpace(b, s+len(a.lit), 16, true)
	if digitsAt(b, j) == j {
		return "", 0, false
	}
	k := skipSpaceBack(b, on, 16, true)
	ok := false
	for _, ext := range [...]string{".php", ".inc", ".phtml", ".module"} {
		if hasBefore(b, k, ext) {
			ok = true
			break
		}
	}
	if !ok {
		return "", 0, false
	}
	// The message starts at the first label of the window (Fatal error:
	// Uncaught … thrown in … on line N is one message).
	best := -1
	for _, w := range [...]string{"Fatal error", "Parse error", "Warning", "Notice", "Deprecated", "Strict Standards", "Uncaught", "thrown in", "Recoverable fatal error"} {
		if i := indexIn(b, s-600, s, w); i >= 0 && (best < 0 || i < best) {
			best = i
		}
	}
	if best < 0 {
		return "", 0, false
	}
	return a.tech, best, true
}

// confirmPHPClass: a Laravel or Symfony exception class
// (Illuminate\Database\QueryException, also JSON-escaped with \\) in a body
// that carries a trace.
func confirmPHPClass(sc *scan, s int, a *anchor) (string, int, bool) {
	b := sc.b
	if s > 0 && (isIdent(b[s-1])) {
		return "", 0, false
	}
	j := s + len(a.lit) - 1 // at the first backslash
	lastStart, lastEnd := -1, -1
	for segs := 0; segs < 12; segs++ {
		k := j
		for k < len(b) && b[k] == '\\' && k-j < 4 {
			k++
		}
		if k == j || k >= len(b) || !isUpper(b[k]) {
			break
		}
		e := identAt(b, k)
		lastStart, lastEnd = k, e
		j = e
	}
	if lastStart < 0 || !endsExc(b[lastStart:lastEnd]) {
		return "", 0, false
	}
	if sc.lastIndex(needleTrace) < 0 && sc.lastIndex(needleFrame0) < 0 {
		return "", 0, false
	}
	return a.tech, s, true
}

// confirmAfter: one of a.words occurs within a.n bytes after the literal
// (a.n == 0: anywhere after it).
func confirmAfter(sc *scan, s int, a *anchor) (string, int, bool) {
	b := sc.b
	from := s + len(a.lit)
	for _, w := range a.words {
		if a.n == 0 {
			if id := needleID(w); id >= 0 && sc.lastIndex(id) >= from || id < 0 && lastIndexIn(b, from, len(b), w) >= 0 {
				return a.tech, s, true
			}
		} else if indexIn(b, from, from+a.n, w) >= 0 {
			return a.tech, s, true
		}
	}
	return "", 0, false
}

// confirmBefore: one of a.words occurs within a.n bytes before the literal.
func confirmBefore(b []byte, s int, a *anchor) (string, int, bool) {
	for _, w := range a.words {
		if lastIndexIn(b, s-a.n, s, w) >= 0 {
			return a.tech, s, true
		}
	}
	return "", 0, false
}

// confirmWerkzeug: "Werkzeug Debugger</title>" or "// Werkzeug Debugger".
func confirmWerkzeug(b []byte, s int, a *anchor) (string, int, bool) {
	if hasAt(b, skipSpace(b, s+len(a.lit), 8, false), "</title>") || hasBefore(b, s, "// ") {
		return a.tech, s, true
	}
	return "", 0, false
}

// confirmASPNet: Server Error in '/app' Application.
func confirmASPNet(b []byte, s int, a *anchor) (string, int, bool) {
	j := s + len(a.lit)
	q := squoteLen(b, j)
	if q == 0 {
		return "", 0, false
	}
	for k := j + q; k < len(b) && k-j < 200; k++ {
		if breakAt(b, k) {
			return "", 0, false
		}
		if q2 := squoteLen(b, k); q2 > 0 {
			if hasAt(b, k+q2, " Application") {
				return a.tech, s, true
			}
			return "", 0, false
		}
	}
	return "", 0, false
}

// confirmWhoops: the Whoops page; Laravel when the page says so.
func confirmWhoops(sc *scan, s int, a *anchor) (string, int, bool) {
	if sc.lastIndex(needleIlluminate) >= 0 || sc.lastIndex(needleLaravel) >= 0 {
		return "laravel", s, true
	}
	return a.tech, s, true
}

// confirmJackson: a serialised java.lang.StackTraceElement:
// {"methodName":"find","fileName":"Svc.java","lineNumber":42,"className":"com.acme.Svc",…}.
func confirmJackson(b []byte, s int, a *anchor) (string, int, bool) {
	if indexIn(b, s-400, s+400, `"className"`) >= 0 && indexIn(b, s-400, s+400, `"methodName"`) >= 0 {
		return a.tech, s, true
	}
	return "", 0, false
}

// confirmPHPTraceJSON: a PHP trace element serialised to JSON, found from
// its file's `.php",`: the "line" follows, a "function" is near.
func confirmPHPTraceJSON(b []byte, s int, a *anchor) (string, int, bool) {
	j := skipSpace(b, s+len(a.lit), 16, false)
	if !hasAt(b, j, `"line":`) || indexIn(b, s-300, s+300, `"function":`) < 0 {
		return "", 0, false
	}
	f := lastIndexIn(b, s-300, s, `"file":`)
	if f < 0 {
		return "", 0, false
	}
	return a.tech, f, true
}

// confirmLaravelJSON: "exception" holds a class name (App\Exceptions\X,
// BadMethodCallException, Error), and the body has the "trace" array
// and a .php "file".
func confirmLaravelJSON(sc *scan, s int, a *anchor) (string, int, bool) {
	b := sc.b
	j := s + len(a.lit)
	last, lastEnd := -1, -1
	for segs := 0; segs < 12 && j < len(b); segs++ {
		for k := 0; k < 2 && j < len(b) && b[j] == '\\'; k++ {
			j++
		}
		if j >= len(b) || !isUpper(b[j]) {
			break
		}
		last, lastEnd = j, identAt(b, j)
		j = lastEnd
	}
	if last < 0 || !hasAt(b, j, `"`) || !endsExc(b[last:lastEnd]) {
		return "", 0, false
	}
	if sc.lastIndex(needleTraceArray) < 0 && sc.lastIndex(needleTraceArray2) < 0 || sc.lastIndex(needlePHPFile) < 0 {
		return "", 0, false
	}
	return a.tech, s, true
}
