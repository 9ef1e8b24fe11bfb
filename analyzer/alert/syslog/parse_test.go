package syslog

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// rfc5424 is a message parsed by parse5424: an independent reading of RFC
// 5424's ABNF (section 6), strict where apitap's frames are: no
// STRUCTURED-DATA but "-", TIMESTAMP as "-" or UTC with 6 fractional
// digits.
type rfc5424 struct {
	PRI                                  int
	Time                                 time.Time // zero for "-"
	Hostname, AppName, ProcID, MsgID, SD string
	Msg                                  []byte
	HasMsg                               bool // "SP MSG" present
}

func parse5424(b []byte) (rfc5424, error) {
	var m rfc5424
	// PRI = "<" PRIVAL ">", PRIVAL = 1*3DIGIT ; range 0 .. 191
	if len(b) < 3 || b[0] != '<' {
		return m, errors.New("no '<'")
	}
	end := bytes.IndexByte(b, '>')
	if end < 2 || end > 4 {
		return m, errors.New("PRI: want 1-3 digits")
	}
	digits := string(b[1:end])
	for _, c := range digits {
		if c < '0' || c > '9' {
			return m, fmt.Errorf("PRI %q: not digits", digits)
		}
	}
	if len(digits) > 1 && digits[0] == '0' {
		return m, fmt.Errorf("PRI %q: leading zero", digits)
	}
	m.PRI, _ = strconv.Atoi(digits)
	if m.PRI > 191 {
		return m, fmt.Errorf("PRI %d > 191", m.PRI)
	}
	rest := b[end+1:]
	// VERSION = NONZERO-DIGIT 0*2DIGIT; apitap writes 1.
	if !bytes.HasPrefix(rest, []byte("1 ")) {
		return m, errors.New("VERSION: want \"1 \"")
	}
	rest = rest[2:]
	field := func(name string, max int) (string, error) {
		i := bytes.IndexByte(rest, ' ')
		if i < 0 {
			return "", fmt.Errorf("%s: no SP after it", name)
		}
		f := rest[:i]
		if len(f) == 0 || len(f) > max {
			return "", fmt.Errorf("%s: length %d, want 1-%d", name, len(f), max)
		}
		for _, c := range f {
			if c < 33 || c > 126 {
				return "", fmt.Errorf("%s %q: byte %#x is not PRINTUSASCII", name, f, c)
			}
		}
		rest = rest[i+1:]
		return string(f), nil
	}
	ts, err := field("TIMESTAMP", 32)
	if err != nil {
		return m, err
	}
	if ts != "-" {
		if len(ts) != len(timeLayout) || ts[len(ts)-1] != 'Z' {
			return m, fmt.Errorf("TIMESTAMP %q: want UTC with microseconds", ts)
		}
		if m.Time, err = time.Parse(time.RFC3339Nano, ts); err != nil {
			return m, fmt.Errorf("TIMESTAMP %q: %v", ts, err)
		}
	}
	if m.Hostname, err = field("HOSTNAME", 255); err != nil {
		return m, err
	}
	if m.AppName, err = field("APP-NAME", 48); err != nil {
		return m, err
	}
	if m.ProcID, err = field("PROCID", 128); err != nil {
		return m, err
	}
	if m.MsgID, err = field("MSGID", 32); err != nil {
		return m, err
	}
	// STRUCTURED-DATA: apitap writes NILVALUE only.
	if len(rest) == 0 || rest[0] != '-' {
		return m, errors.New("STRUCTURED-DATA: want \"-\"")
	}
	m.SD, rest = "-", rest[1:]
	if len(rest) == 0 {
		return m, nil
	}
	if rest[0] != ' ' {
		return m, errors.New("no SP after STRUCTURED-DATA")
	}
	m.Msg, m.HasMsg = rest[1:], true
	return m, nil
}

// parseOctetCounted splits RFC 6587 octet-counted frames
// (MSG-LEN SP SYSLOG-MSG, MSG-LEN = NONZERO-DIGIT *DIGIT).
func parseOctetCounted(b []byte) ([][]byte, error) {
	var out [][]byte
	for len(b) > 0 {
		sp := bytes.IndexByte(b, ' ')
		if sp < 1 || sp > 9 {
			return out, fmt.Errorf("frame %d: no MSG-LEN", len(out))
		}
		if b[0] < '1' || b[0] > '9' {
			return out, fmt.Errorf("frame %d: MSG-LEN %q starts with %q", len(out), b[:sp], b[0])
		}
		n, err := strconv.Atoi(string(b[:sp]))
		if err != nil {
			return out, fmt.Errorf("frame %d: MSG-LEN %q: %v", len(out), b[:sp], err)
		}
		b = b[sp+1:]
		if n > len(b) {
			return out, fmt.Errorf("frame %d: MSG-LEN %d, %d bytes left", len(out), n, len(b))
		}
		out = append(out, b[:n])
		b = b[n:]
	}
	return out, nil
}
