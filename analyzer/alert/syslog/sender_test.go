package syslog

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// tcpReceiver is an in-process octet-counted TCP receiver.
type tcpReceiver struct {
	ln     net.Listener
	mu     sync.Mutex
	data   []byte // everything received, all connections in order of arrival
	conns  []net.Conn
	accept int
	read   bool // false: accept and never read
	wg     sync.WaitGroup
}

func newTCPReceiver(t *testing.T, read bool) *tcpReceiver {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &tcpReceiver{ln: ln, read: read}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			r.mu.Lock()
			r.conns = append(r.conns, c)
			r.accept++
			r.mu.Unlock()
			if !r.read {
				continue
			}
			r.wg.Add(1)
			go func() {
				defer r.wg.Done()
				buf := make([]byte, 64<<10)
				for {
					n, err := c.Read(buf)
					r.mu.Lock()
					r.data = append(r.data, buf[:n]...)
					r.mu.Unlock()
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() { r.close(); r.wg.Wait() })
	return r
}

// closeConns closes the accepted connections (the receiver "restarts"
// without losing its port).
func (r *tcpReceiver) closeConns() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.conns {
		c.Close()
	}
	r.conns = nil
}

func (r *tcpReceiver) close() { r.ln.Close(); r.closeConns() }

func (r *tcpReceiver) frames(t *testing.T, want int) [][]byte {
	t.Helper()
	end := time.Now().Add(10 * time.Second)
	for {
		r.mu.Lock()
		data := append([]byte(nil), r.data...)
		r.mu.Unlock()
		frames, err := parseOctetCounted(data)
		if err == nil && len(frames) >= want {
			return frames
		}
		if time.Now().After(end) {
			t.Fatalf("%d frames (%v), want %d", len(frames), err, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func testMessages(n int, tag string) []Message {
	msgs := make([]Message, n)
	for i := range msgs {
		msgs[i] = Message{Severity: i % 8, MsgID: tag, Time: testTime.Add(time.Duration(i) * time.Microsecond),
			Payload: fmt.Appendf(nil, `CEF:0|apitap|apitap|1.0|t|%s %d|5|msg=a\=b é`, tag, i)}
	}
	return msgs
}

// checkFrames checks frames against msgs framed with s's header.
func checkFrames(t *testing.T, s *Sender, frames [][]byte, msgs []Message) {
	t.Helper()
	if len(frames) != len(msgs) {
		t.Fatalf("%d frames, want %d", len(frames), len(msgs))
	}
	for i, m := range msgs {
		want, _ := AppendFrame(nil, s.hdr, m, s.cfg.MaxMessageBytes)
		if !bytes.Equal(frames[i], want) {
			t.Fatalf("frame %d:\n got %q\nwant %q", i, frames[i], want)
		}
	}
}

func TestSendTCP(t *testing.T) {
	r := newTCPReceiver(t, true)
	s, err := New(Config{Network: "tcp", Address: r.ln.Addr().String(), Hostname: "h"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// 3000 messages: several 64 KiB writes.
	a, b := testMessages(3000, "a"), testMessages(3, "b")
	if err := s.Send(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	checkFrames(t, s, r.frames(t, 3003), append(a, b...))
	if st := s.Stats(); st != (Stats{Sent: 3003}) || r.accept != 1 {
		t.Fatalf("stats %+v, %d connections", st, r.accept)
	}
}

func TestSendUDP(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	s, err := New(Config{Address: pc.LocalAddr().String(), Hostname: "h"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	msgs := testMessages(5, "u")
	msgs[4].Payload = bytes.Repeat([]byte("日"), 1000) // cut to 2048
	if err := s.Send(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
	var frames [][]byte
	buf := make([]byte, 65536)
	pc.SetReadDeadline(time.Now().Add(5 * time.Second))
	for range msgs {
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			t.Fatal(err)
		}
		frames = append(frames, append([]byte(nil), buf[:n]...))
	}
	checkFrames(t, s, frames, msgs)
	if len(frames[4]) > 2048 || len(frames[4]) < 2045 {
		t.Fatalf("cut datagram: %d bytes", len(frames[4]))
	}
	if st := s.Stats(); st != (Stats{Sent: 5, Truncated: 1}) {
		t.Fatalf("stats %+v", st)
	}
}

// A receiver that closed the connection (a restart) is noticed before the
// next batch: the batch goes on a new connection instead of into the dead
// one, where the kernel would take it without an error.
func TestSendReconnectsAfterPeerClose(t *testing.T) {
	r := newTCPReceiver(t, true)
	s, err := New(Config{Network: "tcp", Address: r.ln.Addr().String(), Hostname: "h"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var all []Message
	for round := range 5 {
		msgs := testMessages(10, fmt.Sprint("r", round))
		if err := s.Send(context.Background(), msgs); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		all = append(all, msgs...)
		r.frames(t, len(all))
		r.closeConns()
		time.Sleep(20 * time.Millisecond) // the FIN arrives
	}
	checkFrames(t, s, r.frames(t, len(all)), all)
	if st := s.Stats(); st.Reconnects != 4 || st.Errors != 0 || st.Sent != 50 {
		t.Fatalf("stats %+v", st)
	}
}

func TestSendReceiverDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s, err := New(Config{Network: "tcp", Address: addr, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.Send(context.Background(), testMessages(1, "x"))
	if err == nil || !strings.Contains(err.Error(), "connect to tcp "+addr) {
		t.Fatalf("send to a closed port: %v", err)
	}
	if st := s.Stats(); st.Errors != 1 || st.Sent != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// A receiver that stops reading: the write blocks until the timeout, or
// until ctx is cancelled; either way the connection is dropped.
func TestSendBlockedWrite(t *testing.T) {
	r := newTCPReceiver(t, false)
	big := []Message{{Payload: bytes.Repeat([]byte("x"), 60<<10)}}
	for range 9 {
		big = append(big, big[0])
	}
	t.Run("timeout", func(t *testing.T) {
		s, err := New(Config{Network: "tcp", Address: r.ln.Addr().String(), Timeout: 300 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		start := time.Now()
		for err == nil && time.Since(start) < 20*time.Second {
			err = s.Send(context.Background(), big) // until the socket buffers are full
		}
		if err == nil || !strings.Contains(err.Error(), "i/o timeout") {
			t.Fatalf("blocked write: %v", err)
		}
		if s.conn != nil {
			t.Fatal("connection kept after a failed write")
		}
	})
	t.Run("cancel", func(t *testing.T) {
		s, err := New(Config{Network: "tcp", Address: r.ln.Addr().String(), Timeout: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(500*time.Millisecond, cancel)
		start := time.Now()
		for err == nil && time.Since(start) < 20*time.Second {
			err = s.Send(ctx, big)
		}
		if !errors.Is(err, context.Canceled) || time.Since(start) > 10*time.Second {
			t.Fatalf("cancelled write: %v after %v", err, time.Since(start))
		}
	})
}

func TestSendClosed(t *testing.T) {
	r := newTCPReceiver(t, true)
	s, err := New(Config{Network: "tcp", Address: r.ln.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), testMessages(1, "x")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), testMessages(1, "x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("send after close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	r.frames(t, 1)
}

// testPKI is a CA with a server certificate for 127.0.0.1 and a client
// certificate, as files (for Config) and tls.Certificates (for a server).
type testPKI struct {
	caFile, clientCert, clientKey string
	pool                          *x509.CertPool
	server                        tls.Certificate
}

func newTestPKI(t *testing.T) testPKI {
	dir := t.TempDir()
	now := time.Now()
	issue := func(tmpl *x509.Certificate, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl.SerialNumber = big.NewInt(now.UnixNano())
		tmpl.NotBefore, tmpl.NotAfter = now.Add(-time.Hour), now.Add(time.Hour)
		if parent == nil {
			parent, parentKey = tmpl, key
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return c, key
	}
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ca, caKey := issue(&x509.Certificate{Subject: pkix.Name{CommonName: "test CA"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}, nil, nil)
	srv, srvKey := issue(&x509.Certificate{Subject: pkix.Name{CommonName: "server"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}, ca, caKey)
	cli, cliKey := issue(&x509.Certificate{Subject: pkix.Name{CommonName: "client"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, ca, caKey)
	p := testPKI{pool: x509.NewCertPool(), server: tls.Certificate{Certificate: [][]byte{srv.Raw}, PrivateKey: srvKey}}
	p.pool.AddCert(ca)
	p.caFile = write("ca.pem", "CERTIFICATE", ca.Raw)
	p.clientCert = write("client.pem", "CERTIFICATE", cli.Raw)
	der, err := x509.MarshalPKCS8PrivateKey(cliKey)
	if err != nil {
		t.Fatal(err)
	}
	p.clientKey = write("client-key.pem", "PRIVATE KEY", der)
	return p
}

// A Go TLS 1.3 receiver that requires a client certificate, and sends
// session tickets (as OpenSSL-based receivers do): the verdict on the
// certificate comes with the ticket, without waiting verdictWait; a
// receiver that closes with close_notify is noticed before the next batch.
func TestSendTLSClientCertificate(t *testing.T) {
	pki := newTestPKI(t)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pki.server},
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pki.pool, MinVersion: tls.VersionTLS13})
	if err != nil {
		t.Fatal(err)
	}
	r := &tcpReceiver{ln: ln, read: true}
	r.wg.Add(1)
	go func() { // newTCPReceiver's loop, on the TLS listener
		defer r.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			r.mu.Lock()
			r.conns = append(r.conns, c)
			r.accept++
			r.mu.Unlock()
			r.wg.Add(1)
			go func() {
				defer r.wg.Done()
				buf := make([]byte, 64<<10)
				for {
					n, err := c.Read(buf)
					r.mu.Lock()
					r.data = append(r.data, buf[:n]...)
					r.mu.Unlock()
					if err != nil {
						c.Close()
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() { r.close(); r.wg.Wait() })

	s, err := New(Config{Network: "tls", Address: ln.Addr().String(), CAFile: pki.caFile, CertFile: pki.clientCert, KeyFile: pki.clientKey})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var all []Message
	for round := range 3 {
		msgs := testMessages(5, fmt.Sprint("tls", round))
		start := time.Now()
		if err := s.Send(context.Background(), msgs); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if d := time.Since(start); d >= verdictWait {
			t.Errorf("round %d: Send took %v: the session ticket did not end the wait for the verdict", round, d)
		}
		all = append(all, msgs...)
		r.frames(t, len(all))
		r.closeConns() // tls.Conn.Close: close_notify, then FIN
		time.Sleep(20 * time.Millisecond)
	}
	checkFrames(t, s, r.frames(t, len(all)), all)
	if st := s.Stats(); st.Reconnects != 2 || st.Errors != 0 {
		t.Fatalf("stats %+v", st)
	}

	// Without a client certificate: Go's server sends an alert.
	s2, err := New(Config{Network: "tls", Address: ln.Addr().String(), CAFile: pki.caFile})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	err = s2.Send(context.Background(), testMessages(1, "nocert"))
	if err == nil || !strings.Contains(err.Error(), "certificate required") || !strings.Contains(err.Error(), "set cert_file") {
		t.Fatalf("no client certificate: %v", err)
	}
}

// BenchmarkSendTCP: batches of 100 CEF lines to an in-process loopback
// receiver that reads and drops.
func BenchmarkSendTCP(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go io.Copy(io.Discard, c)
		}
	}()
	s, err := New(Config{Network: "tcp", Address: ln.Addr().String()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	msgs := testMessages(100, "bench")
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Send(context.Background(), msgs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(msgs))/b.Elapsed().Seconds(), "msgs/s")
}
