package inject

// The trigger handlers shared by several classes.

// onQuote runs the rules that start at a quote b[q].
func (s *Scanner) onQuote(q int) {
	b := s.b
	n := len(b)
	j := q + 1
	if j >= n || !s.spend(16) {
		return
	}
	// Quick rejection: what follows most quotes in JSON.
	switch b[j] {
	case ':', ',', '}', ']':
		return
	}
	k := skipSp(b, j)
	for p := 0; p < 4 && k < n && b[k] == ')'; p++ {
		k = skipSp(b, k+1)
	}
	gap := k > j
	if k < n {
		if s.need(SQLi) {
			s.sqlAfterQuote(q, k, gap)
		}
	}
	// and 'pmrz' like 'pmrz
	if b[q] == '\'' && s.need(SQLi) {
		if p := skipSpBack(b, q); p >= 4 && lowerTab[b[p]] == 'e' && foldAt(b, p-3, "like") && wordStart(b, p-3) {
			s.likeBack(p-3, q)
		}
	}
	// waitfor delay '0:0:5'
	if b[q] == '\'' && s.need(SQLi) {
		p := skipSpBack(b, q)
		if p >= 4 && lowerTab[b[p]] == 'y' && foldAt(b, p-4, "delay") {
			w := skipSpBack(b, p-4)
			if w >= 6 && foldAt(b, w-6, "waitfor") {
				s.report(SQLi, w-6, "sqli.time_delay")
			}
		}
	}
}

// onParen runs the rules at a '(': the called function's name before it,
// a subquery after it.
func (s *Scanner) onParen(i int) {
	b := s.b
	n := len(b)
	if s.need(SQLi) {
		j := skipSp(b, i+1)
		if j+6 <= n && b[j]|0x20 == 's' && wordAt(b, j, "select") {
			s.subquery(i, j)
		}
	}
	e := i - 1
	for e >= 0 && e > i-3 && (b[e] == ' ' || b[e] == '\t') {
		e--
	}
	if e < 0 || !isIdent(b[e]) {
		return
	}
	st := identBack(b, e, 32, true)
	for st < e && b[st] == '.' {
		st++
	}
	if st > 0 && isIdent(b[st-1]) {
		return // longer than any name we know
	}
	var buf [32]byte
	name := lowerInto(buf[:], b, st, e+1)
	if len(name) == 0 {
		return
	}
	// prefix.last
	d := len(name) - 1
	for d >= 0 && name[d] != '.' {
		d--
	}
	var prefix, last []byte
	if d >= 0 {
		prefix, last = name[:d], name[d+1:]
		if d > 0 && name[d-1] == '.' { // master..xp_cmdshell
			prefix = name[:d+1]
		}
	} else {
		last = name
	}
	if len(last) < 3 {
		return
	}
	s.spend(8)
	if s.need(SQLi) {
		s.sqlCall(string(prefix), string(last), st, i)
	}
	if s.need(XSS) {
		s.xssCall(string(prefix), string(last), st, i)
	}
	if s.need(CommandInjection) {
		s.codeExecCall(string(prefix), string(last), st, i)
	}
}
