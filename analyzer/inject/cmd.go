package inject

// OS command injection. Evidence: a shell separator (; | || & && a line
// break), a back-quote or $( ) followed by a known command (optionally as
// /bin/x, /usr/bin/x, c:\windows\system32\x) and what a shell invocation
// looks like after it: the end of the value or another separator for a
// command that is used bare (id, whoami, uname), or a flag, a path, a
// variable, an address, a redirection. "dogs; cat food", "a=1; id=2"
// (cookies) and "fields=email|id" are not. Also ${IFS}, SSI exec and
// system('…') in PHP or Python.

type sepKind uint8

const (
	sepSemi sepKind = iota + 1
	sepPipe
	sepAmp
	sepNewline
	sepTick
	sepSubshell
	sepCall // the quoted argument of system(…)
	sepOr   // || or &&
)

// Command flags.
const (
	cmdBare  = 1 << iota // used alone: "; id", "|whoami"
	cmdWeak              // an everyday word or two letters: bare only when cut by a terminator
	cmdNet               // takes a host or an address
	cmdCount             // takes a number (sleep 5)
	cmdFile              // takes a file name (cat flag.txt)
)

// command returns the flags of a known command, 0 for other words.
func command(name string) int {
	switch name {
	case "id", "ls", "dir", "ps", "env", "ver", "who", "pwd", "set", "sh":
		return cmdBare | cmdWeak
	case "whoami", "uname", "ifconfig", "ipconfig", "netstat", "systeminfo", "tasklist", "hostname", "printenv",
		"uptime", "bash", "zsh", "ksh", "csh", "tcsh", "dash", "powershell", "pwsh", "getuid", "lsb_release", "arp":
		return cmdBare
	case "cat", "head", "tail", "less", "nl", "tac", "base64", "xxd", "od", "strings":
		return cmdFile
	case "type", "more", "echo", "date", "net", "find", "time", "kill", "exit":
		return cmdWeak
	case "wget", "curl", "nc", "ncat", "netcat", "telnet", "ping", "nslookup", "dig", "tftp", "ftp", "ssh", "socat", "traceroute", "tracert":
		return cmdNet
	case "sleep", "timeout":
		return cmdCount
	case "rm", "chmod", "chown", "cp", "mv", "touch", "mkdir", "grep", "awk", "sed", "python", "python2", "python3",
		"perl", "ruby", "php", "node", "lua", "cmd", "certutil", "bitsadmin", "reg", "wmic", "sudo", "crontab", "nohup",
		"useradd", "xterm", "killall", "mshta", "rundll32", "regsvr32", "cscript", "wscript", "start", "del", "copy":
		return 0x100 // known, needs arguments
	}
	return 0
}

var binDirs = [...]string{"/bin/", "/usr/bin/", "/usr/local/bin/", "/sbin/", "/usr/sbin/", "/system32/"}

// cmdAfterSep checks for a command after the separator at b[sep],
// starting at or after b[j].
func (s *Scanner) cmdAfterSep(sep, j int, kind sepKind) {
	b := s.b
	if kind == sepNewline && !injectedLine(b, sep) {
		return // most line breaks: text or indented JSON
	}
	k := skipSp(b, j)
	if k >= len(b) || !s.spend(16) {
		return
	}
	if c := b[k]; !(isAlpha(c) || c == '/' || c == '\\') {
		return
	}
	identBefore := sep > 0 && isIdent(b[sep-1])
	if cmdAt(b, k, kind, identBefore) && !inCodeFence(b, sep) {
		s.report(CommandInjection, sep, "cmd.separator")
	}
}

// injectedLine reports whether the line break at b[i] (a byte, or a
// "\n" escape) follows what an injected line follows: nothing, or one
// short token (127.0.0.1%0aid) — not a line of prose or a list.
func injectedLine(b []byte, i int) bool {
	for k := i - 1; k >= 0 && k >= i-64; k-- {
		c := b[k]
		switch {
		case c == '\n' || c == '\r':
			return true
		case c == '\\' && k+1 < len(b) && (b[k+1] == 'n' || b[k+1] == 'r') && k+1 != i:
			return true
		case c == ' ' || c == '`' || c == '\t':
			return false
		}
		if k == 0 {
			return true
		}
	}
	return i == 0
}

// inCodeFence reports whether b[i] follows a markdown code fence (```
// or ~~~) in the 1 KiB before it: documentation with shell examples, in
// an issue, a README or an API description, is not an injection.
func inCodeFence(b []byte, i int) bool {
	for k := i - 1; k >= 2 && k >= i-1024; k-- {
		if (b[k] == '`' || b[k] == '~') && b[k-1] == b[k] && b[k-2] == b[k] {
			return true
		}
	}
	return false
}

// cmdAt reports whether a command invocation starts at b[k].
func cmdAt(b []byte, k int, kind sepKind, identBefore bool) bool {
	n := len(b)
	pathed := false
	switch {
	case b[k] == '/':
		for _, d := range binDirs {
			if foldAt(b, k, d) {
				k += len(d)
				pathed = true
				break
			}
		}
		if !pathed {
			return false
		}
	case b[k] == '\\':
		return false
	case k+2 < n && b[k+1] == ':' && (b[k+2] == '\\' || b[k+2] == '/'):
		// c:\windows\system32\cmd.exe
		p := indexFold(b, k, k+40, "system32")
		if p < 0 || p+9 > n {
			return false
		}
		k = p + 9
		pathed = true
	}
	e := k
	for e < n && e-k < 16 && (isIdent(b[e]) || b[e] == '.' || b[e] == '-') {
		e++
	}
	ne := e
	if ne-k > 4 && foldAt(b, ne-4, ".exe") {
		ne -= 4
	}
	for ne > k && b[ne-1] == '.' {
		ne--
		e--
	}
	var buf [16]byte
	name := lowerInto(buf[:], b, k, ne)
	f := command(string(name))
	if f == 0 {
		return false
	}
	if pathed {
		f &^= cmdWeak
		f |= cmdBare
	}
	return cmdTail(b, e, f, kind, identBefore)
}

// cmdTail reports whether what follows a command name at b[e] is a shell
// invocation.
func cmdTail(b []byte, e, f int, kind sepKind, identBefore bool) bool {
	n := len(b)
	weak := f&cmdWeak != 0
	bareOK := f&cmdBare != 0
	if weak && identBefore && (kind == sepPipe || kind == sepAmp) {
		// "email|id", "a&id": a list, not a pipe.
		bareOK = false
	}
	if e >= n {
		return bareOK
	}
	c := b[e]
	switch c {
	case ';', '|', '&', '`', ')', '\n', '\r', 0, '#', '>', '<':
		if !bareOK {
			return !weak && f != 0 && (c == '>' || c == '<' || c == '|')
		}
		if weak && identBefore && kind == sepSemi {
			return false // "name;id;email": a list
		}
		if c == ')' && kind != sepSubshell && kind != sepCall {
			return false
		}
		return true
	case '\'', '"':
		return bareOK && (kind == sepCall || kind == sepTick)
	case '\\':
		// A JSON or shell "\n" after the command.
		return bareOK && e+1 < n && (b[e+1] == 'n' || b[e+1] == 'r') && !(weak && identBefore && kind == sepSemi)
	}
	if !isSpace(c) {
		return false
	}
	p := skipSp(b, e)
	if p >= n || endish(b, p) {
		return bareOK && !(weak && identBefore)
	}
	a := b[p]
	var a1 byte
	if p+1 < n {
		a1 = b[p+1]
	}
	switch {
	case a == '-' && (isIdent(a1) || a1 == '-'):
		return true // a flag: ls -la, ping -c, nc -e
	case a == '/' && (isAlpha(a1) || a1 == '.' || a1 == '/' || a1 == '?'):
		return true // a path, or a Windows switch (cmd /c)
	case a == '\\' || a == '~' || a == '$':
		return true
	case a == '.' && (a1 == '/' || a1 == '.' || a1 == '\\'):
		return true
	case isAlpha(a) && a1 == ':' && p+2 < n && (b[p+2] == '\\' || b[p+2] == '/'):
		return true // c:\
	case weak:
		return false
	case a == '>' || a == '<' || a == '|':
		return true
	case isDigit(a):
		// An address (ping 127.0.0.1, nc 10.0.0.1 4444) or a count
		// that ends the command (sleep 5;).
		d := digitsEnd(b, p)
		if f&(cmdNet|cmdCount) == 0 {
			return false
		}
		if d < n && b[d] == '.' && f&cmdNet != 0 {
			return true
		}
		return (f&cmdCount != 0 || f&cmdNet != 0) && (d >= n || sqlEnd(b, d) || b[d] == '|' || b[d] == '`')
	case a == '\'' || a == '"':
		return f&(cmdBare|cmdNet|cmdFile) != 0 || f == 0x100
	case isAlpha(a):
		// A host (wget evil.com, curl http://…) or a file name with an
		// extension (cat flag.txt); a plain word is prose.
		w := p
		dot := false
		for w < n && w-p < 64 && !isSpace(b[w]) && b[w] != ';' && b[w] != '|' && b[w] != '&' && b[w] != '`' && b[w] != ')' {
			if b[w] == '.' && w+1 < n && isAlpha(b[w+1]) {
				dot = true
			}
			if b[w] == ':' && f&cmdNet != 0 {
				dot = true
			}
			w++
		}
		return dot && f&(cmdNet|cmdFile) != 0
	}
	return false
}

// onBacktick checks `cmd …` at the back-quote b[i].
func (s *Scanner) onBacktick(i int) {
	b := s.b
	if i > 0 {
		switch p := b[i-1]; {
		case isSpace(p), isIdent(p), p == '`', p == '.', p == ',', p == '(', p == '*', p == '[':
			return // markdown code spans: "run `ls -la`"
		}
	}
	if !s.spend(32) {
		return
	}
	// The span must close.
	close := -1
	for k := i + 1; k < len(b) && k < i+96; k++ {
		if b[k] == '`' {
			close = k
			break
		}
		if b[k] == '\n' {
			break
		}
	}
	if close < 0 {
		return
	}
	k := skipSp(b, i+1)
	if k < close && (isAlpha(b[k]) || b[k] == '/') && cmdAt(b, k, sepTick, false) {
		s.report(CommandInjection, i, "cmd.substitution")
	}
}

// onSubshell checks $(cmd …), and bash's $'cmd' and $"cmd" quoting, at
// b[i] ('$').
func (s *Scanner) onSubshell(i int) {
	b := s.b
	k := skipSp(b, i+2)
	kind := sepSubshell
	if b[i+1] != '(' {
		kind = sepCall
	}
	if k < len(b) && (isAlpha(b[k]) || b[k] == '/') && cmdAt(b, k, kind, false) {
		s.report(CommandInjection, i, "cmd.substitution")
	}
}

// codeExecCall checks system('id')-style calls (PHP, Python, Ruby):
// a quoted argument that starts with a command.
func (s *Scanner) codeExecCall(prefix, last string, st, paren int) {
	switch last {
	case "system", "passthru", "shell_exec", "exec", "popen", "proc_open", "pcntl_exec", "spawn", "execsync", "check_output":
	default:
		return
	}
	switch prefix {
	case "", "os", "subprocess", "child_process", "kernel", "runtime", "io":
	default:
		return
	}
	b := s.b
	a := skipSp(b, paren+1)
	if a+1 >= len(b) || (b[a] != '\'' && b[a] != '"' && b[a] != '`') {
		return
	}
	k := skipSp(b, a+1)
	if k < len(b) && (isAlpha(b[k]) || b[k] == '/') && cmdAt(b, k, sepCall, false) {
		s.report(CommandInjection, st, "cmd.code_exec")
	}
}

// onSSI checks server-side include directives at b[i] ("<!--#").
func (s *Scanner) onSSI(i int) {
	b := s.b
	j := i + 5
	switch {
	case wordAt(b, j, "exec"):
		if s.need(CommandInjection) {
			s.report(CommandInjection, i, "cmd.ssi_exec")
		}
	case wordAt(b, j, "include"), wordAt(b, j, "echo"), wordAt(b, j, "config"), wordAt(b, j, "printenv"),
		wordAt(b, j, "fsize"), wordAt(b, j, "flastmod"), wordAt(b, j, "set"):
		if s.need(TemplateInjection) {
			s.report(TemplateInjection, i, "ssti.ssi")
		}
	}
}
