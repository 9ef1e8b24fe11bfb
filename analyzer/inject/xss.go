package inject

// Cross-site scripting. Evidence: a <script> tag; an event-handler
// attribute (on + three or more letters, then '=') inside a tag or after a
// quote that closes an attribute value; a javascript:/vbscript: URL
// followed by script (javascript:void(0) is not); a data: URL carrying
// HTML or script; a call to alert/prompt/confirm/eval… right after a quote
// or an operator (a string break-out); CSS expression(). Ordinary markup
// (<p>, <a href="https://…">, <img src="/x.png" alt="…">) is not.

// onLt dispatches a '<' followed by a letter, '%', '!', '?', '#' or '/'.
func (s *Scanner) onLt(i int) {
	b := s.b
	switch c1 := b[i+1]; {
	case c1 == '%':
		if s.need(TemplateInjection) {
			s.onERB(i)
		}
	case c1 == '!':
		if foldAt(b, i, "<!--#") {
			s.onSSI(i)
		}
	case c1 == '?':
		if s.need(CommandInjection) && foldAt(b, i+2, "php") && i+5 < len(b) && (isSpace(b[i+5]) || b[i+5] == '(') {
			k := skipSp(b, i+5)
			e := identEnd(b, k, 16)
			var buf [16]byte
			switch string(lowerInto(buf[:], b, k, e)) {
			case "system", "exec", "passthru", "shell_exec", "eval", "popen", "proc_open", "echo", "print", "phpinfo", "assert", "include", "require", "file_get_contents", "fputs", "fwrite":
				s.report(CommandInjection, i, "cmd.php_code")
			}
		}
	case c1 == '#':
		if s.need(TemplateInjection) && (foldAt(b, i+2, "assign") || foldAt(b, i+2, "list")) {
			if indexFold(b, i, i+256, "?new(") > 0 || indexFold(b, i, i+256, "freemarker.template") > 0 {
				s.report(TemplateInjection, i, "ssti.freemarker")
			}
		}
	case c1 == '/':
		// A closing tag starts nothing.
	default:
		if s.need(XSS) {
			s.xssTag(i)
		}
	}
}

// xssTag checks the tag at b[i] ('<' then a letter).
func (s *Scanner) xssTag(i int) {
	b := s.b
	n := len(b)
	if !s.spend(8) {
		return
	}
	j := i + 1
	e := j
	for e < n && e-j < 24 && (isIdent(b[e]) || b[e] == '-' || b[e] == ':') {
		e++
	}
	if e-j == 6 && foldAt(b, j, "script") {
		s.report(XSS, i, "xss.script_tag")
		return
	}
	if e-j == 3 && foldAt(b, j, "xss") || e-j == 6 && foldAt(b, j, "applet") || e-j == 5 && foldAt(b, j, "layer") {
		s.report(XSS, i, "xss.dangerous_tag")
		return
	}
	if e < n && b[e] != '>' && !isSpace(b[e]) && b[e] != '/' && b[e] != 0 {
		return // "<a-b.c", "<3": not a tag
	}
	lim := min(n, e+512)
	k := e
	for ; k < lim; k++ {
		c := b[k]
		if c == '>' || c == '<' {
			break
		}
		switch c | 0x20 {
		case 'a', 'x', 'b', '-':
			if foldAt(b, k, "allowscriptaccess") || foldAt(b, k, "x-scriptlet") || foldAt(b, k, "behavior:") ||
				foldAt(b, k, "behaviour:") || foldAt(b, k, "-moz-binding") {
				s.report(XSS, i, "xss.dangerous_tag")
				return
			}
		}
		if c|0x20 != 'o' || k+4 >= n || b[k+1]|0x20 != 'n' {
			continue
		}
		switch p := b[k-1]; {
		case isSpace(p), p == '/', p == '"', p == '\'', p == '`', p == ';', p == 0:
		default:
			continue
		}
		m := alphaEnd(b, k+2, 32)
		if m-k < 5 {
			continue
		}
		if q := skipSp(b, m); q < n && b[q] == '=' {
			s.report(XSS, i, "xss.event_handler")
			return
		}
	}
	s.spend(k - i)
}

// xssAttrEq looks back from a '=' for an event-handler attribute that
// breaks out of a quoted value (`" onmouseover=alert(1)`, `' autofocus
// onfocus='alert(1)`) or sits in a tag; the value must look like script
// (a call or a template literal).
func (s *Scanner) xssAttrEq(i int) {
	b := s.b
	n := len(b)
	if !s.spend(8) {
		return
	}
	ne := i - 1
	for ne >= 0 && (b[ne] == ' ' || b[ne] == '\t') {
		ne--
	}
	if ne < 4 || !isAlpha(b[ne]) {
		return
	}
	ns := ne
	for ns > 0 && ne-ns < 32 && isAlpha(b[ns-1]) {
		ns--
	}
	if ne-ns+1 < 5 || b[ns]|0x20 != 'o' || b[ns+1]|0x20 != 'n' || ns == 0 {
		return
	}
	if p := b[ns-1]; !(isSpace(p) || p == '/' || p == '"' || p == '\'' || p == '`') {
		return
	}
	v := skipSp(b, i+1)
	script := false
	for x := v; x < min(n, v+64); x++ {
		c := b[x]
		if c == '(' || c == '`' {
			script = x > v
			break
		}
		if c == '>' || c == '\n' {
			break
		}
	}
	if !script || !s.spend(96) {
		return
	}
	for k := ns - 1; k >= 0 && k >= ns-96; k-- {
		switch b[k] {
		case '"', '\'', '`', '<':
			s.report(XSS, k, "xss.event_handler")
			return
		case '>', '\n':
			return
		}
	}
}

// schemeColon checks javascript:, vbscript: and data: URLs ending at the
// ':' b[i].
func (s *Scanner) schemeColon(i int) {
	b := s.b
	// The letters before the ':', skipping tabs and line breaks inside
	// (browsers drop them from a URL's scheme).
	var w [12]byte
	n := 0
	k := i - 1
	for k >= 0 && n < len(w) {
		c := b[k]
		if isAlpha(c) {
			w[n] = lowerTab[c]
			n++
		} else if !(n > 0 && (c == '\t' || c == '\n' || c == '\r')) {
			break
		}
		k--
	}
	if n == len(w) && k >= 0 && isAlpha(b[k]) {
		return
	}
	for a, z := 0, n-1; a < z; a, z = a+1, z-1 {
		w[a], w[z] = w[z], w[a]
	}
	switch string(w[:n]) {
	case "javascript", "vbscript", "livescript":
		if s.need(XSS) && scriptAfter(b, i+1) {
			s.report(XSS, k+1, "xss.js_uri")
		}
	case "data":
		if s.need(XSS) {
			s.dataURI(k+1, i+1)
		}
	}
}

// scriptAfter reports whether what follows "javascript:" at b[j] is
// script: a call, an assignment, a comment, an expression — not
// "void(0)", not prose ("JavaScript: The Good Parts").
func scriptAfter(b []byte, j int) bool {
	n := len(b)
	j = skipSp(b, j)
	if j >= n {
		return false
	}
	c := b[j]
	switch {
	case c == '/' || c == '(' || c == '[' || c == '\'' || c == '"' || c == '`' || c == '!' || c == '~' || c == '%' || c == '\\' || c == '{':
		return true
	case c == '-' && j+1 < n && b[j+1] != ' ':
		return true
	}
	if !isAlpha(c) && c != '_' && c != '$' {
		return false
	}
	if wordAt(b, j, "void") {
		k := skipSp(b, j+4)
		if k < n && b[k] == '(' {
			k = skipSp(b, k+1)
		}
		if k < n && (b[k] == '0' || wordAt(b, k, "null")) {
			return false
		}
	}
	e := j
	for e < n && e-j < 64 && (isIdent(b[e]) || b[e] == '$' || b[e] == '.' || b[e] == '\t' || b[e] == '\n' || b[e] == '\r') {
		e++
	}
	if e < n {
		switch b[e] {
		case '(', '=', '[', '`', '.':
			return true
		}
	}
	return false
}

// dataURI checks a data: URL (scheme at b[st], media type at b[j]).
func (s *Scanner) dataURI(st, j int) {
	b := s.b
	j = skipSp(b, j)
	switch {
	case foldAt(b, j, "text/html"), foldAt(b, j, "text/javascript"), foldAt(b, j, "application/javascript"),
		foldAt(b, j, "application/x-javascript"), foldAt(b, j, "text/ecmascript"), foldAt(b, j, "application/ecmascript"),
		foldAt(b, j, "text/vbscript"):
		s.report(XSS, st, "xss.data_uri")
	case foldAt(b, j, "image/svg+xml"), foldAt(b, j, "text/xml"), foldAt(b, j, "application/xhtml"):
		// As an attribute's value (src=, data=, href=): a JSON avatar
		// "data:image/svg+xml;base64,…" is ordinary.
		p := st - 1
		if p >= 0 && (b[p] == '"' || b[p] == '\'') {
			p--
		}
		if p >= 0 && b[p] == '=' {
			s.report(XSS, st, "xss.data_uri")
		}
	}
}

// tickCall checks a tagged template call, alert`1`, at the back-quote b[i].
func (s *Scanner) tickCall(i int) {
	b := s.b
	st := identBack(b, i-1, 32, true)
	for st < i-1 && b[st] == '.' {
		st++
	}
	var buf [32]byte
	name := lowerInto(buf[:], b, st, i)
	d := len(name) - 1
	for d >= 0 && name[d] != '.' {
		d--
	}
	if d >= 0 {
		s.xssCall(string(name[:d]), string(name[d+1:]), st, i)
	} else {
		s.xssCall("", string(name), st, i)
	}
}

// xssCall checks a call of a script sink (alert, prompt, eval, …) whose
// name is b[st:…] and '(' is b[paren].
func (s *Scanner) xssCall(prefix, last string, st, paren int) {
	b := s.b
	n := len(b)
	switch last {
	case "alert", "prompt", "confirm", "eval", "settimeout", "setinterval", "msgbox", "execscript":
		switch prefix {
		case "", "window", "top", "self", "parent", "this", "frames", "globalthis", "content":
		default:
			return
		}
	case "fromcharcode":
		if prefix != "string" {
			return
		}
	case "write", "writeln":
		if prefix != "document" {
			return
		}
	case "expression":
		if p := skipSpBack(b, st); p >= 0 && b[p] == ':' {
			s.report(XSS, st, "xss.css_expression")
		}
		return
	default:
		return
	}
	// The argument: a literal, a regexp, a template, an expression.
	a := skipSp(b, paren+1)
	if a >= n {
		return
	}
	switch c := b[a]; {
	case c == ')' || isDigit(c) || c == '\'' || c == '"' || c == '`' || c == '/' || c == '(' || c == '[' || c == '-' || c == '\\':
	case isAlpha(c) || c == '_' || c == '$':
		e := a
		for e < n && e-a < 32 && (isIdent(b[e]) || b[e] == '$') {
			e++
		}
		if e < n && (b[e] == '.' || b[e] == '(' || b[e] == ')' && e-a >= 3) {
			break
		}
		return
	default:
		return
	}
	// What precedes the sink: the end of a string or statement, an
	// operator, markup — not a word.
	p := skipSpBack(b, st)
	if p >= 0 {
		switch b[p] {
		case ';', '\'', '"', '>', '`', '-', '*', '|', '&', '=', '(', ':', '{', ',', '!', '~', '?', '[', '}', '/', '^', '%':
		default:
			return
		}
	}
	s.report(XSS, st, "xss.js_call")
}
