package route

// appendIdent appends the lowerCamel singular of a collection segment:
// users → user, categories → category, addresses → address,
// check-suites → checkSuite, AvailablePhoneNumbers → availablePhoneNumber,
// SIP → sip. Characters other than letters and digits separate words.
func appendIdent(dst []byte, label string) []byte {
	base, add := singular(label)
	allUpper := true
	for i := 0; i < len(label); i++ {
		if c := label[i]; c >= 'a' && c <= 'z' {
			allUpper = false
			break
		}
	}
	first := true
	upNext := false
	put := func(c byte) {
		isLetter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		isDigit := c >= '0' && c <= '9'
		if !isLetter && !isDigit {
			upNext = !first
			return
		}
		if isLetter {
			switch {
			case first || allUpper:
				c = lower(c)
			case upNext:
				c = upper(c)
			}
		}
		dst = append(dst, c)
		first, upNext = false, false
	}
	for i := 0; i < len(base); i++ {
		put(base[i])
	}
	for i := 0; i < len(add); i++ {
		put(add[i])
	}
	return dst
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func upper(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - ('a' - 'A')
	}
	return c
}

// singular undoes simple English plurals on the last word of s, as
// base+add (no allocation): the result is s[:len(base)] followed by add.
func singular(s string) (base, add string) {
	has := func(suf string) bool {
		if len(s) < len(suf) || len(suf) < 3 && len(s) <= len(suf)+1 {
			return false // keep "s", "us", "is" whole
		}
		t := s[len(s)-len(suf):]
		for i := 0; i < len(suf); i++ {
			if lower(t[i]) != suf[i] {
				return false
			}
		}
		return true
	}
	cut := func(k int) string { return s[:len(s)-k] }
	switch {
	case has("people"):
		return cut(6), "person"
	case has("children"):
		return cut(3), ""
	case has("indices"):
		return cut(4), "ex"
	case has("yses"): // analyses
		return cut(2), "is"
	case has("ies") && len(s) > 4:
		return cut(3), "y"
	case has("sses"), has("uses"), has("xes"), has("ches"), has("shes"), has("zzes"):
		return cut(2), ""
	case has("ss"), has("us"), has("is"):
		return s, ""
	case has("s"):
		return cut(1), ""
	}
	return s, ""
}
