package inject

// Template injection and JNDI. Evidence for templates: an expression
// delimiter ({{ }}, ${ }, #{ }, *{ }, %{ }, <%= %>, {% %}, @( )) around
// arithmetic on literals (7*7, 7*'7'), or around an object or gadget no
// template uses for display: config, self, Python dunders, constructors,
// Runtime/ProcessBuilder, OGNL's #context, FreeMarker's Execute. Display
// templates ({{ user.name }}, ${total}, {% if x %}) are not. JNDI: a
// ${…} lookup that Log4j would resolve to "jndi:…", nested lookups
// (${${lower:j}ndi:…}, ${::-j}, ${env:X:-j}) evaluated first.

// arith reports whether b[i:e] is a product of literals: 7*7, 7*'7',
// 191 * 7.
func arith(b []byte, i, e int) bool {
	k := skipBlank(b, i, e)
	terms, mul := 0, false
	for {
		var q byte
		if k < e && (b[k] == '\'' || b[k] == '"') {
			q = b[k]
			k++
		}
		d := k
		for d < e && isDigit(b[d]) {
			d++
		}
		if d == k || d-k > 9 {
			return false
		}
		k = d
		if q != 0 {
			if k >= e || b[k] != q {
				return false
			}
			k++
		}
		terms++
		k = skipBlank(b, k, e)
		if k >= e {
			break
		}
		if b[k] != '*' {
			return false
		}
		mul = true
		k = skipBlank(b, k+1, e)
	}
	return terms >= 2 && mul
}

func skipBlank(b []byte, i, e int) int {
	for i < e && (b[i] == ' ' || b[i] == '\t') {
		i++
	}
	return i
}

// dunderAt reports whether a Python dunder attribute used by template
// gadget chains starts at b[j] ("__class__").
func dunderAt(b []byte, j int) bool {
	for _, d := range dunders {
		if foldAt(b, j, d) {
			return true
		}
	}
	return false
}

var dunders = [...]string{"__class__", "__mro__", "__subclasses__", "__globals__", "__builtins__", "__import__",
	"__init__", "__base__", "__dict__", "__getattribute__"}

// gadgets are the tokens inside an expression that template injection
// uses and display templates do not, by first byte.
var gadgets = func() (g [256][]string) {
	for _, t := range [...]string{
		"config.items", "config.__", "self.__", "self._templatereference", "_self.env", "lipsum.", "cycler.",
		"joiner.", "namespace.", "url_for.__", "get_flashed_messages.", "request.application", "request.environ",
		"|attr(", "constructor.constructor", "constructor(", ".getclass(", "getruntime", "processbuilder",
		"forname(", "t(java.", "freemarker.template", "?new(", "#_memberaccess", "#context", "@java.lang",
		"applicationscope", "pagecontext", "facescontext", "child_process", "process.mainmodule", "require(",
		"popen(", "os.system", "system(", "exec(", "eval(", "file.read", "io.read", "io.popen", "`", "%x(",
		"classloader", "scriptengine", "java.lang.runtime", "smarty.", "#cmd", "#request", "#session",
		"#application", "#parameters", "__class__", "__mro__", "__subclasses__", "__globals__", "__builtins__",
		"__import__", "__init__", "__dict__",
	} {
		g[t[0]] = append(g[t[0]], t)
	}
	return
}()

// gadget reports whether b[i:e] holds a gadget token.
func gadget(b []byte, i, e int) bool {
	for k := i; k < e; k++ {
		for _, t := range gadgets[lowerTab[b[k]]] {
			if k+len(t) <= e && foldAt(b, k, t) {
				return true
			}
		}
	}
	return false
}

// closeAt returns the index of the first byte of close after b[i] within
// max bytes, -1 if none.
func closeAt(b []byte, i, max int, close string) int {
	lim := min(len(b)-len(close), i+max)
	for k := i; k <= lim; k++ {
		if b[k] == close[0] && string(b[k:k+len(close)]) == close {
			return k
		}
	}
	return -1
}

// braceEnd returns the index of the '}' closing the '{' before b[i]
// (nested braces counted), within max bytes; -1 if none.
func braceEnd(b []byte, i, max int) int {
	depth := 1
	lim := min(len(b), i+max)
	for k := i; k < lim; k++ {
		switch b[k] {
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return k
			}
		}
	}
	return -1
}

// exprCheck reports the template rule for the expression b[i:e].
func (s *Scanner) exprCheck(at, i, e int, rule string) {
	if !s.spend(e - i) {
		return
	}
	switch {
	case arith(s.b, i, e):
		s.report(TemplateInjection, at, "ssti.arithmetic")
	case gadget(s.b, i, e):
		s.report(TemplateInjection, at, rule)
	}
}

// onBrace checks {{ }}, {% %}, {$smarty…} and {php} at b[i].
func (s *Scanner) onBrace(i int) {
	if !s.need(TemplateInjection) || !s.spend(64) {
		return
	}
	b := s.b
	switch c1 := b[i+1]; {
	case c1 == '{':
		j := i + 2
		if j < len(b) && (b[j] == '=' || b[j] == '-' || b[j] == '~') {
			j++
		}
		e := closeAt(b, j, 256, "}}")
		if e < 0 {
			if gadget(b, j, min(len(b), j+256)) {
				s.report(TemplateInjection, i, "ssti.object")
			}
			s.spend(256)
			return
		}
		k, ke := skipBlank(b, j, e), e
		for ke > k && (b[ke-1] == ' ' || b[ke-1] == '\t') {
			ke--
		}
		if ke-k == 6 && foldAt(b, k, "config") || ke-k == 4 && foldAt(b, k, "self") {
			s.report(TemplateInjection, i, "ssti.object")
			return
		}
		s.exprCheck(i, j, e, "ssti.object")
	case c1 == '%':
		e := closeAt(b, i+2, 256, "%}")
		if e < 0 {
			e = min(len(b), i+256)
		}
		if !s.spend(e - i) {
			return
		}
		if gadget(b, i+2, e) || indexFold(b, i+2, e, "import os") >= 0 {
			s.report(TemplateInjection, i, "ssti.object")
		}
	case c1 == '$':
		if foldAt(b, i+2, "smarty.") {
			s.report(TemplateInjection, i, "ssti.object")
		}
	case c1|0x20 == 'p':
		if foldAt(b, i+1, "php}") {
			s.report(TemplateInjection, i, "ssti.object")
		}
	}
}

// onHashBrace checks #{ } (Ruby, JSF EL, Thymeleaf) at b[i].
func (s *Scanner) onHashBrace(i int) { s.onExprBrace(i, i+2, "ssti.expression") }

// onExprBrace checks an X{ … } expression whose body starts at b[j].
func (s *Scanner) onExprBrace(at, j int, rule string) {
	if !s.need(TemplateInjection) || !s.spend(64) {
		return
	}
	b := s.b
	e := braceEnd(b, j, 256)
	if e < 0 {
		return
	}
	if rule == "ssti.ognl" {
		k := skipBlank(b, j, e)
		if k < e && (b[k] == '#' || b[k] == '@' || b[k] == '(' && k+1 < e && b[k+1] == '#') {
			s.report(TemplateInjection, at, rule)
			return
		}
	}
	s.exprCheck(at, j, e, rule)
}

// onERB checks <% … %> (ERB, JSP, ASP, EJS) at b[i].
func (s *Scanner) onERB(i int) {
	if !s.spend(64) {
		return
	}
	b := s.b
	j := i + 2
	if j < len(b) && (b[j] == '=' || b[j] == '-' || b[j] == '#') {
		j++
	}
	e := closeAt(b, j, 256, "%>")
	if e < 0 {
		return
	}
	s.exprCheck(i, j, e, "ssti.expression")
}

// onDollarBrace checks ${…} at b[i]: a JNDI lookup, ${IFS}, a template
// expression.
func (s *Scanner) onDollarBrace(i int) {
	b := s.b
	n := len(b)
	if !s.spend(64) {
		return
	}
	if s.need(JNDI) {
		direct := foldAt(b, i+2, "jndi:")
		if direct {
			s.report(JNDI, i, "jndi.lookup")
		} else if s.jndiLookup(i) {
			s.report(JNDI, i, "jndi.obfuscated")
		}
	}
	if s.need(CommandInjection) && foldAt(b, i+2, "ifs}") {
		s.report(CommandInjection, i, "cmd.ifs")
	}
	if !s.need(TemplateInjection) {
		return
	}
	if i+2 < n && b[i+2] == '{' {
		// ${{7*7}}
		e := closeAt(b, i+3, 256, "}}")
		if e > 0 {
			s.exprCheck(i, i+3, e, "ssti.expression")
		}
		return
	}
	e := braceEnd(b, i+2, 256)
	if e < 0 {
		return
	}
	k := skipBlank(b, i+2, e)
	if k+1 < e && b[k]|0x20 == 't' && b[k+1] == '(' {
		s.report(TemplateInjection, i, "ssti.expression") // Spring EL: ${T(java.lang.Runtime)…}
		return
	}
	s.exprCheck(i, i+2, e, "ssti.expression")
}

// onDollarWord checks $where, $ne/$gt/$regex (MongoDB operators) and
// $IFS at b[i] ('$' then a letter).
func (s *Scanner) onDollarWord(i int) {
	b := s.b
	n := len(b)
	e := identEnd(b, i+1, 12)
	var buf [12]byte
	word := lowerInto(buf[:], b, i+1, e)
	switch string(word) {
	case "ifs":
		if s.need(CommandInjection) && (i == 0 || b[i-1] != '\\') {
			s.report(CommandInjection, i, "cmd.ifs")
		}
	case "where":
		if s.need(NoSQLi) {
			k := e
			if k < n && (b[k] == '"' || b[k] == '\'' || b[k] == ']') {
				k++
			}
			k = skipSp(b, k)
			if k < n && (b[k] == ':' || b[k] == '=') {
				s.report(NoSQLi, i, "nosqli.where")
			}
		}
	case "ne", "gt", "gte", "lt", "nin", "regex", "exists", "in", "or":
		if s.need(NoSQLi) {
			s.nosqlOperator(i, e, string(word) == "regex")
		}
	}
}

// credentialKeys are the keys a MongoDB operator injection targets.
func credentialKey(b []byte, ks, ke int) bool {
	var buf [16]byte
	switch string(lowerInto(buf[:], b, ks, ke)) {
	case "password", "passwd", "pass", "pwd", "passcode", "pin", "username", "user", "login", "email", "token", "secret", "otp", "user_name", "userid":
		return true
	}
	return false
}

// nosqlOperator checks a MongoDB operator $op at b[i] (name ends at e):
// user[$ne]=x, password[$regex]=.*, {"password":{"$ne":""}}, {"$gt":""}.
func (s *Scanner) nosqlOperator(i, e int, regex bool) {
	b := s.b
	n := len(b)
	if i > 0 && b[i-1] == '[' && e < n && b[e] == ']' {
		// Query-string form: key[$op]=value.
		ke := i - 1
		ks := identBack(b, ke-1, 16, false)
		noKey := ke == 0 || b[ke-1] == '&' || b[ke-1] == '=' || b[ke-1] == '?'
		v := e + 1
		if v < n && b[v] == '=' {
			v++
		}
		emptyVal := v >= n || b[v] == '&'
		if noKey || ks < ke && credentialKey(b, ks, ke) || emptyVal || regex && (foldAt(b, v, ".*") || foldAt(b, v, "^")) {
			s.report(NoSQLi, i, "nosqli.operator")
		}
		return
	}
	// JSON or JavaScript object form.
	q := i > 0 && (b[i-1] == '"' || b[i-1] == '\'')
	k := e
	if q {
		if k >= n || b[k] != b[i-1] {
			return
		}
		k++
	}
	k = skipSp(b, k)
	if k >= n || b[k] != ':' {
		return
	}
	v := skipSp(b, k+1)
	emptyVal := v+1 < n && (b[v] == '"' || b[v] == '\'') && b[v+1] == b[v] || wordAt(b, v, "null")
	if regex && v+2 < n && (b[v] == '"' || b[v] == '\'') && (foldAt(b, v+1, ".*") || b[v+1] == '^') {
		emptyVal = true
	}
	// The key of the enclosing object: "password": { "$ne": … }.
	o := i - 1
	if q {
		o--
	}
	o = skipSpBack(b, o+1)
	cred := false
	if o >= 0 && b[o] == '{' {
		p := skipSpBack(b, o)
		if p >= 0 && b[p] == ':' {
			p = skipSpBack(b, p)
			if p > 0 && (b[p] == '"' || b[p] == '\'') {
				ks := identBack(b, p-1, 16, false)
				cred = ks < p && credentialKey(b, ks, p)
			}
		}
	}
	// An unquoted key ({ $ne: 1 }) is a JavaScript literal typed into a
	// value: JSON bodies quote their keys.
	if cred || emptyVal || !q {
		s.report(NoSQLi, i, "nosqli.operator")
	}
}

// JNDI lookups. Log4j resolves the innermost ${…} first and substitutes
// its value; a lookup with a default (${x:-d}) yields d when x is unknown,
// ${lower:x}/${upper:x} yield x. The resolver does the same over a bounded
// window and depth, keeping the first jndiCap bytes of each level.

const (
	jndiDepth  = 6
	jndiCap    = 96
	jndiWindow = 512
)

type jndiScratch struct {
	buf   [jndiDepth][jndiCap]byte
	steps int
}

// jndiLookup reports whether the lookup at b[i] ("${") resolves to
// "jndi:…".
func (s *Scanner) jndiLookup(i int) bool {
	s.jndi.steps = 0
	out, end := s.resolve(i, 0)
	s.spend(s.jndi.steps)
	if end < 0 && len(out) == 0 {
		return false
	}
	return len(out) >= 5 && foldAt(out, 0, "jndi:")
}

// resolve evaluates the lookup at b[i]; it returns the value (the whole
// resolved body at depth 0) and the index after its '}', or -1 when the
// lookup is not closed within the window (the body so far is returned at
// depth 0: a payload cut at the end still shows its "jndi:").
func (s *Scanner) resolve(i, depth int) ([]byte, int) {
	b := s.b
	buf := s.jndi.buf[depth][:0]
	j := i + 2
	for j < len(b) && s.jndi.steps < jndiWindow {
		s.jndi.steps++
		c := b[j]
		if c == '}' {
			return lookupValue(buf, depth), j + 1
		}
		if c == '$' && j+1 < len(b) && b[j+1] == '{' && depth+1 < jndiDepth {
			inner, e := s.resolve(j, depth+1)
			if e < 0 {
				break
			}
			for _, x := range inner {
				if len(buf) < jndiCap {
					buf = append(buf, x)
				}
			}
			j = e
			continue
		}
		if len(buf) < jndiCap {
			buf = append(buf, c)
		}
		j++
	}
	if depth == 0 {
		return buf, -1
	}
	return nil, -1
}

// lookupValue is the value of a nested lookup whose resolved body is v.
func lookupValue(v []byte, depth int) []byte {
	if depth == 0 {
		return v
	}
	for k := 0; k+1 < len(v); k++ {
		if v[k] == ':' && v[k+1] == '-' {
			return v[k+2:]
		}
	}
	switch {
	case foldAt(v, 0, "lower:"), foldAt(v, 0, "upper:"):
		return v[6:]
	case foldAt(v, 0, "date:'") && len(v) > 7 && v[len(v)-1] == '\'':
		return v[6 : len(v)-1]
	}
	return nil
}
