//go:build linux

package syslog

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apitap/apitap/internal/testutil"
)

// hostilePayloads are CEF/LEEF-like lines with everything a parser may
// trip on. None has a newline: rsyslog's files hold one message a line.
func hostilePayloads(tag string) [][]byte {
	return [][]byte{
		[]byte(`CEF:0|apitap|apitap|1.0|anomaly.bola|BOLA enumeration on GET /api/users/{id}|7|src=203.0.113.7 msg=` + tag + ` a\=b c\\d e\|f`),
		[]byte(`LEEF:2.0|apitap|apitap|1.0|pii.email|^|cat=pii^msg=` + tag + ` naïve café ✓ 日本語 😀 ^sev=7`),
		[]byte(`CEF:0|a\|b|c\\|1|id|name with = and | pipes|10|` + tag + ` cs1=<34>1 2003-10-11T22:14:15.003Z fake - - - header inside`),
		[]byte("123 " + tag + " starts like an octet count"),
		[]byte(" " + tag + " leading and trailing spaces  "),
		[]byte(tag + " tab\tand\x01control bytes"),
		[]byte(tag + ` ends in a backslash \`),
		nil, // no MSG at all
		[]byte(tag + " bytes that are not UTF-8: \xff\xfe\xc3"),
		[]byte(`CEF:0|apitap|apitap|1.0|x|long|5|msg=` + tag + " " + strings.Repeat(`é日😀\=|`, 3000)), // ~39 KB
	}
}

func messages(tag string) []Message {
	var msgs []Message
	for i, p := range hostilePayloads(tag) {
		msgs = append(msgs, Message{Severity: SeverityOf([]string{"info", "low", "medium", "high", "critical"}[i%5]),
			MsgID: "anomaly", Time: time.Now().Add(time.Duration(i) * time.Millisecond), Payload: p})
	}
	return msgs
}

// expect is what rsyslog must have written for msgs sent by s: each frame
// exactly (its %rawmsg%), in order.
func expect(t *testing.T, s *Sender, msgs []Message) []string {
	t.Helper()
	var want []string
	for _, m := range msgs {
		b, _ := AppendFrame(nil, s.hdr, m, s.cfg.MaxMessageBytes)
		want = append(want, string(b))
	}
	return want
}

// checkLines compares rsyslog's lines with the expected frames, and each
// line's MSG with its message's payload (an independent parse).
func checkLines(t *testing.T, got, want []string, msgs []Message) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d lines, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			g, w := got[i], want[i]
			if len(g) > 400 || len(w) > 400 {
				g, w = fmt.Sprintf("%.400q... (%d bytes)", g, len(g)), fmt.Sprintf("%.400q... (%d bytes)", w, len(w))
			}
			t.Fatalf("line %d:\n got %s\nwant %s", i, g, w)
		}
		p, err := parse5424([]byte(got[i]))
		if err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
		if !bytes.HasPrefix(msgs[i].Payload, p.Msg) {
			t.Fatalf("line %d: MSG %.200q is not the payload's start", i, p.Msg)
		}
	}
}

func newSender(t *testing.T, cfg Config) *Sender {
	t.Helper()
	cfg.Hostname = "apitap-test"
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestRsyslog(t *testing.T) {
	r := testutil.StartRsyslog(t)
	ctx := context.Background()
	for _, c := range []struct {
		input string
		cfg   Config
	}{
		{"udp", Config{Network: "udp", Address: r.UDPAddr}},
		{"tcp", Config{Network: "tcp", Address: r.TCPAddr}},
		{"tls", Config{Network: "tls", Address: r.TLSAddr, CAFile: r.CAFile}},
		{"mtls", Config{Network: "tls", Address: r.MTLSAddr, CAFile: r.CAFile, CertFile: r.ClientCertFile, KeyFile: r.ClientKeyFile, ServerName: "localhost"}},
	} {
		t.Run(c.input, func(t *testing.T) {
			s := newSender(t, c.cfg)
			var msgs []Message
			// Three batches, the last one after the receiver had time
			// to write: one connection throughout.
			for i := range 3 {
				batch := messages(fmt.Sprintf("%s-%d", c.input, i))
				if err := s.Send(ctx, batch); err != nil {
					t.Fatalf("batch %d: %v", i, err)
				}
				msgs = append(msgs, batch...)
				if c.input == "udp" {
					time.Sleep(20 * time.Millisecond) // no flow control
				}
			}
			want := expect(t, s, msgs)
			checkLines(t, r.Lines(t, c.input, len(want), 20*time.Second), want, msgs)
			st := s.Stats()
			truncated := uint64(0)
			if c.input == "udp" {
				truncated = 3 // the long payload, cut to 2048 bytes
			}
			if st != (Stats{Sent: uint64(len(msgs)), Truncated: truncated}) {
				t.Fatalf("stats %+v", st)
			}
		})
	}

	// The largest message rsyslog takes (maxMessageSize 65536, apitap's
	// default cap for streams) arrives whole; a longer one is cut by the
	// sender to exactly the cap.
	t.Run("max-size", func(t *testing.T) {
		s := newSender(t, Config{Network: "tcp", Address: r.TCPAddr})
		before := len(r.Lines(t, "tcp", 0, 0))
		hdr, _ := AppendFrame(nil, s.hdr, Message{Severity: 4, MsgID: "max", Time: testTime}, 0)
		room := 64<<10 - len(hdr) - 1
		exact := Message{Severity: 4, MsgID: "max", Time: testTime, Payload: bytes.Repeat([]byte("x"), room)}
		over := Message{Severity: 4, MsgID: "max", Time: testTime, Payload: bytes.Repeat([]byte("é"), room)}
		msgs := []Message{exact, over}
		if err := s.Send(ctx, msgs); err != nil {
			t.Fatal(err)
		}
		want := expect(t, s, msgs)
		// "é" is 2 bytes: the cut one is 1 short when the cap falls inside one.
		if len(want[0]) != 64<<10 || len(want[1]) < 64<<10-1 || len(want[1]) > 64<<10 {
			t.Fatalf("frames of %d and %d bytes, want 65536 and 65535-65536", len(want[0]), len(want[1]))
		}
		checkLines(t, r.Lines(t, "tcp", before+2, 20*time.Second)[before:], want, msgs)
		if st := s.Stats(); st.Truncated != 1 {
			t.Fatalf("stats %+v", st)
		}
	})

	t.Run("tls-wrong-ca", func(t *testing.T) {
		s := newSender(t, Config{Network: "tls", Address: r.TLSAddr, CAFile: r.OtherCAFile})
		err := s.Send(ctx, messages("wrong-ca"))
		if err == nil || !strings.Contains(err.Error(), "certificate signed by unknown authority") || !strings.Contains(err.Error(), "not signed by a CA in ca_file "+r.OtherCAFile) {
			t.Fatalf("wrong CA: %v", err)
		}
		t.Log(err)
		if st := s.Stats(); st.Errors != 1 || st.Sent != 0 {
			t.Fatalf("stats %+v", st)
		}
	})
	t.Run("tls-wrong-name", func(t *testing.T) {
		s := newSender(t, Config{Network: "tls", Address: r.TLSAddr, CAFile: r.CAFile, ServerName: "siem.example.com"})
		err := s.Send(ctx, messages("wrong-name"))
		if err == nil || !strings.Contains(err.Error(), "set server_name") {
			t.Fatalf("wrong name: %v", err)
		}
		t.Log(err)
	})
	t.Run("mtls-no-client-cert", func(t *testing.T) {
		s := newSender(t, Config{Network: "tls", Address: r.MTLSAddr, CAFile: r.CAFile})
		err := s.Send(ctx, messages("no-client-cert"))
		if err == nil || !strings.Contains(err.Error(), "cert_file") {
			t.Fatalf("no client certificate: %v", err)
		}
		t.Log(err)
	})
	t.Run("mtls-untrusted-client-cert", func(t *testing.T) {
		s := newSender(t, Config{Network: "tls", Address: r.MTLSAddr, CAFile: r.CAFile,
			CertFile: r.OtherClientCertFile, KeyFile: r.OtherClientKeyFile})
		err := s.Send(ctx, messages("untrusted-client-cert"))
		if err == nil || !strings.Contains(err.Error(), "refused the client certificate") {
			t.Fatalf("untrusted client certificate: %v", err)
		}
		t.Log(err)
	})
	// Nothing of the failed connections reached the files.
	for _, input := range []string{"tls", "mtls"} {
		for _, l := range r.Lines(t, input, 0, 0) {
			if strings.Contains(l, "wrong-") || strings.Contains(l, "client-cert") {
				t.Errorf("%s: %.100q arrived", input, l)
			}
		}
	}
}

// A receiver that stops and starts again on the same port: Send fails
// while it is down (TCP and TLS notice, UDP cannot), then reconnects.
func TestRsyslogRestart(t *testing.T) {
	r := testutil.StartRsyslog(t)
	ctx := context.Background()
	senders := map[string]*Sender{
		"tcp": newSender(t, Config{Network: "tcp", Address: r.TCPAddr, Timeout: 2 * time.Second}),
		"tls": newSender(t, Config{Network: "tls", Address: r.TLSAddr, CAFile: r.CAFile, Timeout: 2 * time.Second}),
	}
	sent := map[string][]Message{}
	send := func(input, tag string) error {
		msgs := messages(tag)[:3]
		err := senders[input].Send(ctx, msgs)
		if err == nil {
			sent[input] = append(sent[input], msgs...)
		}
		return err
	}
	for input := range senders {
		if err := send(input, input+"-before"); err != nil {
			t.Fatal(err)
		}
		r.Lines(t, input, 3, 20*time.Second)
	}
	r.Stop(t)
	for input := range senders {
		err := send(input, input+"-down")
		if err == nil {
			t.Fatalf("%s: send while rsyslog is down succeeded", input)
		}
		if !strings.Contains(err.Error(), "connection refused") {
			t.Fatalf("%s: send while down: %v", input, err)
		}
		t.Logf("%s down: %v", input, err)
	}
	r.Start(t)
	for input, s := range senders {
		if err := send(input, input+"-after"); err != nil {
			t.Fatalf("%s after restart: %v", input, err)
		}
		want := expect(t, s, sent[input])
		checkLines(t, r.Lines(t, input, len(want), 20*time.Second), want, sent[input])
		if st := s.Stats(); st.Reconnects != 1 || st.Errors != 1 || st.Sent != 6 {
			t.Fatalf("%s: stats %+v", input, st)
		}
	}
}
