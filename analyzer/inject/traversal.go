package inject

// Path traversal. Evidence: "../" or "..\" sequences (also "....//",
// "..;/", ".../") of at least two levels where a path value starts (the
// start, after '=', '/', '\', ':'), three after a quote, five anywhere; any
// number of levels that reaches a sensitive file; a sensitive system file
// itself (/etc/passwd, win.ini, /proc/self/); a NUL byte that cuts a file
// name (x.php%00.jpg); php:// wrappers. Relative links in content
// ("../img/a.png", markdown "](../../guide.md)") are not.

// sensitiveFirst marks the first letters of sensitiveAt's names.
var sensitiveFirst = func() (t [256]bool) {
	for _, c := range "epbwsc." {
		t[c] = true
	}
	return
}()

// The sensitive files, by first letter.
var (
	sensE   = [4]string{"etc/passwd", "etc/shadow", "etc/master.passwd", "etc/security/passwd"}
	sensP   = [4]string{"proc/self/"}
	sensB   = [4]string{"boot.ini"}
	sensW   = [4]string{"win.ini", "windows/win.ini", "winnt/win.ini", "web-inf/web.xml"}
	sensS   = [4]string{"system.ini"}
	sensDot = [4]string{".htpasswd", ".ssh/id_rsa", ".ssh/authorized_keys"}
	// looseNames are suspicious only at the end of a traversal.
	looseNames = [...]string{
		"etc/", "windows/", "winnt/", "proc/", "var/log/", "root/", "web-inf/", ".htaccess", ".ssh/", ".git/", ".env",
		"wp-config", "inetpub/", "boot/", "usr/local/", "bin/", "system32/", "apache", "httpd", "logs/", "log/",
		"config.", "_config.", ".passwd", ".pass", "php.ini", "my.cnf", "passwd", "shadow", "install.php",
	}
)

// sensitiveAt returns the length of a sensitive file name at b[j] (after
// a '/' or '\'), 0 when there is none. loose adds directories that are
// only suspicious at the end of a traversal.
func sensitiveAt(b []byte, j int, loose bool) int {
	if j >= len(b) {
		return 0
	}
	// One optional drive: c:\boot.ini, /c:/boot.ini.
	if j+2 < len(b) && isAlpha(b[j]) && b[j+1] == ':' && (b[j+2] == '/' || b[j+2] == '\\') {
		if n := sensitiveAt(b, j+3, loose); n > 0 {
			return n + 3
		}
		return 0
	}
	var list *[4]string
	switch lowerTab[b[j]] {
	case 'e':
		list = &sensE
	case 'p':
		list = &sensP
	case 'b':
		list = &sensB
	case 'w':
		list = &sensW
	case 's':
		list = &sensS
	case '.':
		list = &sensDot
	}
	if list != nil {
		for _, s := range list {
			if s != "" && pathFoldAt(b, j, s) && (s[len(s)-1] == '/' || j+len(s) >= len(b) || !isIdent(b[j+len(s)])) {
				return len(s)
			}
		}
	}
	if loose {
		for _, s := range looseNames {
			if pathFoldAt(b, j, s) {
				return len(s)
			}
		}
	}
	return 0
}

// pathFoldAt is foldAt where '/' in s also matches '\'.
func pathFoldAt(b []byte, i int, s string) bool {
	if len(b)-i < len(s) {
		return false
	}
	for k := 0; k < len(s); k++ {
		c := lowerTab[b[i+k]]
		if c != s[k] && !(s[k] == '/' && c == '\\') {
			return false
		}
	}
	return true
}

// onSensitive checks a sensitive file name at b[j], right after the '/'
// or '\' b[sep].
func (s *Scanner) onSensitive(sep, j int) {
	b := s.b
	if sensitiveAt(b, j, false) > 0 {
		s.report(PathTraversal, sep, "traversal.sensitive_file")
		return
	}
	// "etc/passwd" where a value starts, without the leading slash.
	if b[sep] == '/' && sep >= 3 && foldAt(b, sep-3, "etc") && (sep == 3 || !isIdent(b[sep-4]) && b[sep-4] != '.') &&
		sensitiveAt(b, sep-3, false) > 0 {
		s.report(PathTraversal, sep-3, "traversal.sensitive_file")
	}
}

// onDotDot checks a traversal that starts with the dots at b[i].
func (s *Scanner) onDotDot(i int) {
	if !s.need(PathTraversal) {
		return
	}
	b := s.b
	n := len(b)
	if i < s.travEnd {
		return
	}
	levels := 0
	j := i
	for j < n && levels < 64 {
		d := j
		for d < n && d-j < 64 && b[d] == '.' {
			d++
		}
		if d-j < 2 {
			break
		}
		k := d
		if k < n && b[k] == ';' { // Tomcat: ..;/
			k++
		}
		sep := k
		for k < n && (b[k] == '/' || b[k] == '\\') {
			k++
		}
		if k == sep {
			if d >= n || b[d] == 0 {
				levels++ // "../.." at the end
				j = d
			}
			break
		}
		levels++
		j = k
		// "./" segments between levels.
		for j+1 < n && b[j] == '.' && (b[j+1] == '/' || b[j+1] == '\\') {
			j += 2
			for j < n && (b[j] == '/' || b[j] == '\\') {
				j++
			}
		}
	}
	s.travEnd = j
	s.spend(j - i)
	if levels == 0 {
		return
	}
	need := 5
	if i == 0 {
		need = 2
	} else {
		switch p := b[i-1]; p {
		case '/', '\\', '=', ':', 0, '|', ';', '?', '&':
			need = 2
		case '"', '\'', '`':
			need = 3
		}
	}
	// A sensitive file after any traversal; a directory or file that is
	// only suspicious (etc/, logs/, config.php) after two levels or where
	// a path value starts.
	if sensitiveAt(b, j, false) > 0 || (levels >= 2 || need == 2) && sensitiveAt(b, j, true) > 0 {
		s.report(PathTraversal, i, "traversal.sensitive_file")
		return
	}
	if levels >= need {
		s.report(PathTraversal, i, "traversal.dotdot")
	}
}

// onNul checks a NUL byte that cuts a file name: "x.php\0.jpg",
// "../../etc/passwd\0", "boot.ini\0".
func (s *Scanner) onNul(i int) {
	b := s.b
	n := len(b)
	// NUL then ".ext" and the end of the value or parameter.
	if i+2 < n && b[i+1] == '.' {
		e := i + 2
		for e < n && e-i < 7 && (isIdent(b[e])) {
			e++
		}
		if e-i >= 3 && (e >= n || !isIdent(b[e]) && b[e] != '.') {
			s.report(PathTraversal, i, "traversal.null_byte")
			return
		}
	}
	// "name.ext" then NUL at the end of the value.
	if i > 2 && (i+1 >= n || b[i+1] == '&' || b[i+1] == 0 || b[i+1] == '/' || b[i+1] == '?' || isSpace(b[i+1])) {
		k := i - 1
		for k > 0 && i-k < 6 && isIdent(b[k]) {
			k--
		}
		if k < i-1 && b[k] == '.' && k > 0 && (isIdent(b[k-1]) || b[k-1] == '/') {
			s.report(PathTraversal, i, "traversal.null_byte")
		}
	}
}
