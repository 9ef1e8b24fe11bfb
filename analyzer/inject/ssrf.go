package inject

// SSRF. Evidence: a URL-typed value — the URL starts the value, or follows
// '=', a quote, '(', '[', '<', '>', ',', ';', '|', '{' or '?' — whose host
// is loopback (127/8, 0.0.0.0, ::1, localhost, *.localhost, lvh.me,
// localtest.me), a private or link-local range (10/8, 172.16/12,
// 192.168/16, 169.254/16, fc00::/7, fe80::/10), a cloud metadata service
// (169.254.169.254, 169.254.170.2, 100.100.100.200, fd00:ec2::254,
// metadata.google.internal), in any IPv4 spelling inet_aton accepts
// (2130706433, 0x7f.1, 0177.0.0.1, 127.1) or behind a wildcard-DNS name
// (10.0.0.1.nip.io); or a URL with a scheme servers should never fetch
// from a client's value (file, gopher, dict, ldap, tftp, netdoc, jar).
// URLs in prose ("see http://localhost:3000") and public hosts in
// redirect_uri/callback values are not.

// onColon dispatches a ':'.
func (s *Scanner) onColon(i int) {
	b := s.b
	n := len(b)
	if i+2 < n && b[i+1] == '/' && b[i+2] == '/' {
		s.onURL(i)
		return
	}
	if i > 0 && isAlpha(b[i-1]) || i > 1 && (b[i-1] == '\t' || b[i-1] == '\n' || b[i-1] == '\r') {
		s.schemeColon(i)
	}
}

// urlTyped reports whether a URL whose scheme starts at b[st] starts a
// value.
func urlTyped(b []byte, st int) bool {
	if st == 0 {
		return true
	}
	switch b[st-1] {
	case '=', '"', '\'', '`', '(', '[', '<', '>', ',', ';', '|', '{', '?', 0:
		return true
	}
	return false
}

// onURL checks the URL whose "://" starts at b[i].
func (s *Scanner) onURL(i int) {
	b := s.b
	st := i
	for st > 0 && i-st < 8 && isAlpha(b[st-1]) {
		st--
	}
	if st == i || st > 0 && isIdent(b[st-1]) {
		return
	}
	var buf [8]byte
	scheme := lowerInto(buf[:], b, st, i)
	switch string(scheme) {
	case "php":
		if s.need(PathTraversal) && (foldAt(b, i+3, "filter") || foldAt(b, i+3, "input") || foldAt(b, i+3, "fd")) {
			s.report(PathTraversal, st, "traversal.php_wrapper")
		}
		return
	case "expect":
		if s.need(CommandInjection) {
			s.report(CommandInjection, st, "cmd.expect_wrapper")
		}
		return
	}
	if s.need(JNDI) && st >= 5 && foldAt(b, st-5, "jndi:") {
		switch string(scheme) {
		case "ldap", "ldaps", "rmi", "dns", "iiop", "corba", "nds", "nis", "http", "https":
			s.report(JNDI, st-5, "jndi.marker") // a lookup's body without ${ }, as logged or cut
		}
	}
	if !s.need(SSRF) || !urlTyped(b, st) {
		return
	}
	switch string(scheme) {
	case "file":
		// file:///etc/passwd, file://localhost/c:/windows/win.ini; not
		// the file:// URIs of workspaces and SARIF logs.
		h := i + 3
		if foldAt(b, h, "localhost") || foldAt(b, h, "127.0.0.1") {
			h += alphaEnd(b, h, 9) - h
			for h < len(b) && (isDigit(b[h]) || b[h] == '.') {
				h++
			}
		}
		if h < len(b) && b[h] == '/' && sensitiveAt(b, h+1, true) > 0 {
			s.report(SSRF, st, "ssrf.scheme")
		}
		return
	case "gopher", "dict", "ldap", "ldaps", "tftp", "netdoc", "jar":
		s.report(SSRF, st, "ssrf.scheme")
		return
	case "http", "https", "ftp", "ws", "wss", "sftp":
	default:
		return
	}
	if !s.spend(64) {
		return
	}
	if rule := hostRule(b, i+3); rule != "" {
		s.report(SSRF, st, rule)
	}
}

// hostRule classifies the host of the authority at b[h]: "ssrf.metadata",
// "ssrf.loopback", "ssrf.private" or "".
func hostRule(b []byte, h int) string {
	n := len(b)
	ae := h
	lim := min(n, h+256)
	for ae < lim && !authStop[b[ae]] {
		ae++
	}
	hs := h
	for k := ae - 1; k >= h; k-- {
		if b[k] == '@' {
			hs = k + 1
			break
		}
	}
	if hs >= ae {
		return ""
	}
	if b[hs] == '[' {
		e := hs + 1
		for e < ae && b[e] != ']' {
			e++
		}
		var ip [16]byte
		if !parseIPv6(b[hs+1:e], &ip) {
			return ""
		}
		return ip6Rule(&ip)
	}
	he := hs
	for he < ae && b[he] != ':' {
		he++
	}
	host := b[hs:he]
	for len(host) > 0 && host[len(host)-1] == '.' {
		host = host[:len(host)-1]
	}
	if len(host) == 0 {
		return ""
	}
	if isDigit(host[0]) {
		if ip, ok := parseIPv4Loose(host); ok {
			return ip4Rule(ip)
		}
	}
	return nameRule(host)
}

// authStop marks the bytes that end a URL's authority.
var authStop = func() (t [256]bool) {
	for _, c := range []byte("/?#\\\"'<>&` \t\n\r\v\f+") {
		t[c] = true
	}
	t[0] = true
	return
}()

// nameEnds marks the last letters of the names nameRule knows
// (localhost, *.nip.io, metadata.google.internal, lvh.me, …).
var nameEnds = func() (t [256]bool) {
	for _, c := range []byte("tnkeolagTNKEOLAG") {
		t[c] = true
	}
	return
}()

// nameRule classifies a host name.
func nameRule(host []byte) string {
	var buf [64]byte
	if len(host) > len(buf) || !nameEnds[host[len(host)-1]] {
		return ""
	}
	h := lowerInto(buf[:], host, 0, len(host))
	switch string(h) {
	case "localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback", "lvh.me", "localtest.me", "vcap.me":
		return "ssrf.loopback"
	case "metadata.google.internal", "metadata", "metadata.goog", "instance-data", "instance-data.ec2.internal":
		return "ssrf.metadata"
	}
	for _, suf := range [...]string{".localhost", ".lvh.me", ".localtest.me"} {
		if len(h) > len(suf) && string(h[len(h)-len(suf):]) == suf {
			return "ssrf.loopback"
		}
	}
	// Wildcard DNS that answers with the address in the name:
	// 10.0.0.1.nip.io, app-127-0-0-1.sslip.io.
	for _, suf := range [...]string{".nip.io", ".sslip.io", ".xip.io", ".nip.direct"} {
		if len(h) > len(suf) && string(h[len(h)-len(suf):]) == suf {
			pre := h[:len(h)-len(suf)]
			// The last four labels, dotted or dashed.
			var q [4]uint32
			k := len(pre)
			for part := 3; part >= 0; part-- {
				e := k
				for k > 0 && isDigit(pre[k-1]) {
					k--
				}
				if k == e || e-k > 3 {
					return ""
				}
				v := uint32(0)
				for _, c := range pre[k:e] {
					v = v*10 + uint32(c-'0')
				}
				if v > 255 {
					return ""
				}
				q[part] = v
				if part > 0 {
					if k == 0 || (pre[k-1] != '.' && pre[k-1] != '-') {
						return ""
					}
					k--
				}
			}
			return ip4Rule(q[0]<<24 | q[1]<<16 | q[2]<<8 | q[3])
		}
	}
	return ""
}

// parseIPv4Loose parses an IPv4 address as inet_aton does: one to four
// parts, each decimal, octal (leading 0) or hex (0x).
func parseIPv4Loose(h []byte) (uint32, bool) {
	var parts [4]uint64
	np := 0
	i := 0
	for {
		if np == 4 || i >= len(h) {
			return 0, false
		}
		base := uint64(10)
		if h[i] == '0' && i+1 < len(h) && h[i+1]|0x20 == 'x' {
			base = 16
			i += 2
		} else if h[i] == '0' && i+1 < len(h) && isDigit(h[i+1]) {
			base = 8
			i++
		}
		v := uint64(0)
		d := 0
		for i < len(h) && h[i] != '.' {
			c := h[i]
			var x uint64
			switch {
			case isDigit(c):
				x = uint64(c - '0')
			case base == 16 && isHex(c):
				x = uint64(unhex(c))
			default:
				return 0, false
			}
			if x >= base {
				return 0, false
			}
			v = v*base + x
			if v > 0xFFFFFFFF {
				return 0, false
			}
			d++
			i++
		}
		if d == 0 && base != 16 && !(base == 8) {
			return 0, false
		}
		parts[np] = v
		np++
		if i >= len(h) {
			break
		}
		i++ // '.'
	}
	var ip uint64
	switch np {
	case 1:
		ip = parts[0]
	case 2:
		if parts[0] > 255 || parts[1] > 0xFFFFFF {
			return 0, false
		}
		ip = parts[0]<<24 | parts[1]
	case 3:
		if parts[0] > 255 || parts[1] > 255 || parts[2] > 0xFFFF {
			return 0, false
		}
		ip = parts[0]<<24 | parts[1]<<16 | parts[2]
	case 4:
		for _, p := range parts {
			if p > 255 {
				return 0, false
			}
		}
		ip = parts[0]<<24 | parts[1]<<16 | parts[2]<<8 | parts[3]
	}
	return uint32(ip), true
}

// ip4Rule classifies an IPv4 address.
func ip4Rule(ip uint32) string {
	switch {
	case ip == 0xA9FEA9FE, ip == 0xA9FEAA02, ip == 0x646464C8: // 169.254.169.254, 169.254.170.2, 100.100.100.200
		return "ssrf.metadata"
	case ip>>24 == 127, ip>>24 == 0:
		return "ssrf.loopback"
	case ip>>24 == 10, ip>>20 == 0xAC1, ip>>16 == 0xC0A8, ip>>16 == 0xA9FE:
		return "ssrf.private"
	}
	return ""
}

// parseIPv6 parses an IPv6 address (zone dropped, an IPv4 tail allowed).
func parseIPv6(h []byte, ip *[16]byte) bool {
	for k, c := range h {
		if c == '%' {
			h = h[:k]
			break
		}
	}
	if len(h) < 2 || len(h) > 64 {
		return false
	}
	var groups [8]uint16
	ng := 0
	gap := -1
	i := 0
	if h[0] == ':' {
		if h[1] != ':' {
			return false
		}
		gap = 0
		i = 2
	}
	for i < len(h) {
		if ng == 8 {
			return false
		}
		// An IPv4 tail.
		j := i
		for j < len(h) && h[j] != ':' && h[j] != '.' {
			j++
		}
		if j < len(h) && h[j] == '.' {
			if ng > 6 {
				return false
			}
			v4, ok := parseIPv4Loose(h[i:])
			if !ok {
				return false
			}
			groups[ng] = uint16(v4 >> 16)
			groups[ng+1] = uint16(v4)
			ng += 2
			i = len(h)
			break
		}
		if j == i || j-i > 4 {
			return false
		}
		v := uint16(0)
		for _, c := range h[i:j] {
			if !isHex(c) {
				return false
			}
			v = v<<4 | uint16(unhex(c))
		}
		groups[ng] = v
		ng++
		i = j
		if i < len(h) {
			i++ // ':'
			if i < len(h) && h[i] == ':' {
				if gap >= 0 {
					return false
				}
				gap = ng
				i++
			} else if i == len(h) {
				return false
			}
		}
	}
	if gap < 0 && ng != 8 || gap >= 0 && ng > 7 {
		return false
	}
	var full [8]uint16
	if gap < 0 {
		full = groups
	} else {
		copy(full[:gap], groups[:gap])
		copy(full[8-(ng-gap):], groups[gap:ng])
	}
	for k, g := range full {
		ip[2*k] = byte(g >> 8)
		ip[2*k+1] = byte(g)
	}
	return true
}

// ip6Rule classifies an IPv6 address.
func ip6Rule(ip *[16]byte) string {
	zero10 := true
	for _, x := range ip[:10] {
		if x != 0 {
			zero10 = false
		}
	}
	if zero10 && (ip[10] == 0xFF && ip[11] == 0xFF || ip[10] == 0 && ip[11] == 0 && (ip[12] != 0 || ip[13] != 0)) {
		// IPv4-mapped (::ffff:a.b.c.d) or -compatible (::a.b.c.d).
		return ip4Rule(uint32(ip[12])<<24 | uint32(ip[13])<<16 | uint32(ip[14])<<8 | uint32(ip[15]))
	}
	if zero10 && ip[10] == 0 && ip[11] == 0 && ip[12] == 0 && ip[13] == 0 && ip[14] == 0 && ip[15] <= 1 {
		return "ssrf.loopback" // ::1, ::
	}
	if ip[0] == 0xFD && ip[1] == 0x00 && ip[2] == 0x0E && ip[3] == 0xC2 && ip[15] == 0x54 && ip[14] == 0x02 {
		return "ssrf.metadata" // fd00:ec2::254
	}
	if ip[0]&0xFE == 0xFC || ip[0] == 0xFE && ip[1]&0xC0 == 0x80 {
		return "ssrf.private"
	}
	return ""
}
