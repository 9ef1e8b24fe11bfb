package verbose

import "bytes"

// Lexical helpers that see through the three ways an error text reaches a
// response body: plain text, HTML (entities, <br>, <b>) and a JSON string
// (\n, \t, \" and \/ escapes, sometimes escaped twice). All are bounded,
// never allocate, and treat the body as arbitrary bytes.

func hasAt(b []byte, i int, s string) bool {
	return i >= 0 && i <= len(b)-len(s) && string(b[i:i+len(s)]) == s
}

func hasBefore(b []byte, i int, s string) bool {
	return i <= len(b) && i >= len(s) && string(b[i-len(s):i]) == s
}

func isDigit(c byte) bool { return c-'0' < 10 }
func isUpper(c byte) bool { return c-'A' < 26 }
func isLower(c byte) bool { return c-'a' < 26 }
func isAlpha(c byte) bool { return isUpper(c) || isLower(c) }
func isAlnum(c byte) bool { return isAlpha(c) || isDigit(c) }
func isIdent(c byte) bool { return isAlnum(c) || c == '_' }

// digitsAt returns the index after the run of ASCII digits at b[i:].
func digitsAt(b []byte, i int) int {
	for i < len(b) && isDigit(b[i]) {
		i++
	}
	return i
}

// identAt returns the index after the run of [A-Za-z0-9_] at b[i:].
func identAt(b []byte, i int) int {
	for i < len(b) && isIdent(b[i]) {
		i++
	}
	return i
}

// escNL reports the length of an escaped newline, tab or carriage return
// at b[i:]: one to three backslashes then n, t or r (JSON, or JSON inside
// a JSON string).
func escNL(b []byte, i int) int {
	j := i
	for j < len(b) && b[j] == '\\' && j-i < 3 {
		j++
	}
	if j > i && j < len(b) && (b[j] == 'n' || b[j] == 't' || b[j] == 'r') {
		return j + 1 - i
	}
	return 0
}

// spaceLen is the length of one whitespace token at b[i:]: a blank or
// control whitespace, an escaped \n \t \r, an HTML space entity or <br>.
func spaceLen(b []byte, i int) int {
	if i < 0 || i >= len(b) {
		return 0
	}
	switch b[i] {
	case ' ', '\t', '\n', '\r':
		return 1
	case '\\':
		return escNL(b, i)
	case '&':
		for _, e := range [...]string{"&nbsp;", "&#160;", "&#10;", "&#13;", "&#9;", "&#32;", "&#xa;", "&#xA;"} {
			if hasAt(b, i, e) {
				return len(e)
			}
		}
	case '<':
		for _, e := range [...]string{"<br>", "<br/>", "<br />", "<BR>"} {
			if hasAt(b, i, e) {
				return len(e)
			}
		}
	}
	return 0
}

// spaceBefore is the length of a whitespace token (as spaceLen) that ends
// at b[:i], 0 if none.
func spaceBefore(b []byte, i int) int {
	if i <= 0 || i > len(b) {
		return 0
	}
	switch c := b[i-1]; c {
	case ' ', '\t', '\n', '\r':
		return 1
	case 'n', 't', 'r':
		j := i - 1
		for j > 0 && b[j-1] == '\\' && i-1-j < 3 {
			j--
		}
		if j < i-1 {
			return i - j
		}
	case ';':
		for _, e := range [...]string{"&nbsp;", "&#160;", "&#10;", "&#13;", "&#9;", "&#32;", "&#xa;", "&#xA;"} {
			if hasBefore(b, i, e) {
				return len(e)
			}
		}
	case '>':
		for _, e := range [...]string{"<br>", "<br/>", "<br />", "<BR>"} {
			if hasBefore(b, i, e) {
				return len(e)
			}
		}
	}
	return 0
}

// tagLen is the length of a short HTML tag (<b>, </b>, <code>, <em
// class="x">) at b[i:], 0 if none.
func tagLen(b []byte, i int) int {
	if i >= len(b) || b[i] != '<' {
		return 0
	}
	j := i + 1
	if j < len(b) && b[j] == '/' {
		j++
	}
	if j >= len(b) || !isAlpha(b[j]) {
		return 0
	}
	for k := j; k < len(b) && k-i < 64; k++ {
		switch b[k] {
		case '>':
			return k + 1 - i
		case '<', '\n':
			return 0
		}
	}
	return 0
}

// tagBefore is the length of a short HTML tag ending at b[:i].
func tagBefore(b []byte, i int) int {
	if i <= 0 || i > len(b) || b[i-1] != '>' {
		return 0
	}
	for j := i - 2; j >= 0 && i-j <= 64; j-- {
		switch b[j] {
		case '<':
			if tagLen(b, j) == i-j {
				return i - j
			}
			return 0
		case '>', '\n':
			return 0
		}
	}
	return 0
}

// skipSpace skips whitespace tokens and, when tags is set, short HTML tags,
// starting at b[i:]; it stops after max bytes.
func skipSpace(b []byte, i, max int, tags bool) int {
	lim := i + max
	for i < len(b) && i < lim {
		n := spaceLen(b, i)
		if n == 0 && tags {
			n = tagLen(b, i)
		}
		if n == 0 {
			break
		}
		i += n
	}
	return i
}

// skipSpaceBack is skipSpace backwards: it returns j <= i such that b[j:i]
// is whitespace (and tags).
func skipSpaceBack(b []byte, i, max int, tags bool) int {
	lim := i - max
	for i > 0 && i > lim {
		n := spaceBefore(b, i)
		if n == 0 && tags {
			n = tagBefore(b, i)
		}
		if n == 0 {
			break
		}
		i -= n
	}
	return i
}

// quoteLen is the length of a double quote token at b[i:]: ", \", \\\",
// &quot;, &#34;, &#x22; or \u0022.
func quoteLen(b []byte, i int) int {
	if i < 0 || i >= len(b) {
		return 0
	}
	switch b[i] {
	case '"':
		return 1
	case '\\':
		if hasAt(b, i, `\"`) {
			return 2
		}
		if hasAt(b, i, `\\\"`) {
			return 4
		}
		if hasAt(b, i, `\u0022`) {
			return 6
		}
	case '&':
		for _, e := range [...]string{"&quot;", "&#34;", "&#x22;"} {
			if hasAt(b, i, e) {
				return len(e)
			}
		}
	}
	return 0
}

// quoteBefore is the length of a quote token (as quoteLen) ending at b[:i].
func quoteBefore(b []byte, i int) int {
	if i <= 0 || i > len(b) {
		return 0
	}
	switch b[i-1] {
	case '"':
		if hasBefore(b, i, `\\\"`) {
			return 4
		}
		if hasBefore(b, i, `\"`) {
			return 2
		}
		return 1
	case ';':
		for _, e := range [...]string{"&quot;", "&#34;", "&#x22;"} {
			if hasBefore(b, i, e) {
				return len(e)
			}
		}
	case '2':
		if hasBefore(b, i, `\u0022`) {
			return 6
		}
	}
	return 0
}

// squoteLen is the length of a single quote or backtick token at b[i:]:
// ', `, &#39;, &#x27;, &apos;, &#96; or \u0027.
func squoteLen(b []byte, i int) int {
	if i < 0 || i >= len(b) {
		return 0
	}
	switch b[i] {
	case '\'', '`':
		return 1
	case '&':
		for _, e := range [...]string{"&#39;", "&#x27;", "&apos;", "&#96;", "&#x60;"} {
			if hasAt(b, i, e) {
				return len(e)
			}
		}
	case '\\':
		if hasAt(b, i, `\u0027`) || hasAt(b, i, `\u0060`) {
			return 6
		}
	}
	return 0
}

// indexIn returns the index of s in b[from:to] (clamped), or -1.
func indexIn(b []byte, from, to int, s string) int {
	if from < 0 {
		from = 0
	}
	if to > len(b) {
		to = len(b)
	}
	if from >= to {
		return -1
	}
	if i := indexStr(b[from:to], s); i >= 0 {
		return from + i
	}
	return -1
}

// lastIndexIn returns the last index of s in b[from:to] (clamped), or -1.
func lastIndexIn(b []byte, from, to int, s string) int {
	if from < 0 {
		from = 0
	}
	if to > len(b) {
		to = len(b)
	}
	if from >= to {
		return -1
	}
	if i := lastIndexStr(b[from:to], s); i >= 0 {
		return from + i
	}
	return -1
}

// indexStr is bytes.Index for a string needle without converting it.
func indexStr(b []byte, s string) int {
	if len(s) == 0 {
		return 0
	}
	c := s[0]
	for i := 0; i <= len(b)-len(s); {
		j := bytes.IndexByte(b[i:len(b)-len(s)+1], c)
		if j < 0 {
			return -1
		}
		i += j
		if string(b[i:i+len(s)]) == s {
			return i
		}
		i++
	}
	return -1
}

// lastIndexStr is bytes.LastIndex for a string needle.
func lastIndexStr(b []byte, s string) int {
	if len(s) == 0 {
		return len(b)
	}
	c := s[0]
	for end := len(b) - len(s) + 1; end > 0; {
		j := bytes.LastIndexByte(b[:end], c)
		if j < 0 {
			return -1
		}
		if string(b[j:j+len(s)]) == s {
			return j
		}
		end = j
	}
	return -1
}
