package syslog

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// ErrClosed is returned by Send after Close.
var ErrClosed = errors.New("syslog: sender closed")

// flushBytes is how much of a batch a stream Sender gathers per write.
const flushBytes = 64 << 10

// Sender sends messages to one receiver. Its methods are safe for
// concurrent use; Sends are serialized.
type Sender struct {
	cfg Config
	hdr Header
	tls *tls.Config

	sendMu sync.Mutex // serializes Send
	buf    []byte     // under sendMu
	dialed bool       // under sendMu: a connection was opened before

	mu     sync.Mutex // guards conn and closed
	conn   net.Conn
	closed bool

	sent, truncated, errs, reconnects atomic.Uint64
}

// New returns a Sender for cfg (defaults applied, then validated). It does
// not connect: the first Send does.
func New(cfg Config) (*Sender, error) {
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	h := cfg.header()
	// Sanitized once here; AppendFrame leaves clean fields as they are.
	h.Hostname, h.AppName, h.ProcID = sanitized(h.Hostname, maxHostname), sanitized(h.AppName, maxAppName), sanitized(h.ProcID, maxProcID)
	s := &Sender{cfg: cfg, hdr: h}
	if cfg.Network == "tls" {
		tc, err := cfg.tlsConfig()
		if err != nil {
			return nil, err
		}
		s.tls = tc
	}
	return s, nil
}

// Send writes msgs in order: over UDP one datagram each; over TCP and TLS
// octet-counted frames, gathered into writes of about 64 KiB. It connects
// when there is no connection, or when the receiver has closed the one it
// has (checked before each batch, without blocking). The connect and the
// writes end by Config.Timeout or ctx's deadline, whichever is first, and
// when ctx is cancelled.
//
// On any error the connection is closed, so a frame that was written in
// part is never followed by another frame on that connection (the receiver
// sees the connection end inside the frame and drops it), and the error is
// returned: the caller sends the whole batch again later, so the receiver
// may get the messages written before the error twice.
//
// A nil error means the messages were handed to the kernel, not that they
// arrived: syslog over TCP and TLS has no receipts (RELP has), and UDP may
// drop datagrams. A receiver that dies while a batch is in flight loses it
// without an error; one that is down or has closed the connection is
// noticed at the next Send.
func (s *Sender) Send(ctx context.Context, msgs []Message) error {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	if len(msgs) == 0 {
		return s.closedErr()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	deadline := time.Now().Add(s.cfg.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	conn, err := s.connection(ctx, deadline)
	if err != nil {
		if !errors.Is(err, ErrClosed) {
			s.errs.Add(1)
		}
		return err
	}
	if err := s.write(ctx, conn, msgs, deadline); err != nil {
		s.drop(conn)
		if s.closedErr() != nil { // Close broke the write
			return fmt.Errorf("%w (%v)", ErrClosed, err)
		}
		s.errs.Add(1)
		return err
	}
	return nil
}

// Close closes the connection (over TLS after a close_notify); a Send in
// progress fails. Send returns ErrClosed afterwards.
func (s *Sender) Close() error {
	s.mu.Lock()
	c := s.conn
	s.conn, s.closed = nil, true
	s.mu.Unlock()
	if c == nil {
		return nil
	}
	return c.Close()
}

// Stats returns the counters.
func (s *Sender) Stats() Stats {
	return Stats{Sent: s.sent.Load(), Truncated: s.truncated.Load(), Errors: s.errs.Load(), Reconnects: s.reconnects.Load()}
}

func (s *Sender) closedErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	return nil
}

// connection returns the open connection, or opens one.
func (s *Sender) connection(ctx context.Context, deadline time.Time) (net.Conn, error) {
	s.mu.Lock()
	conn, closed := s.conn, s.closed
	s.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	if conn != nil {
		if s.cfg.Network == "udp" || !peerClosed(conn) {
			return conn, nil
		}
		s.drop(conn)
	}
	conn, err := s.dial(ctx, deadline)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		conn.Close()
		return nil, ErrClosed
	}
	s.conn = conn
	s.mu.Unlock()
	if s.dialed {
		s.reconnects.Add(1)
	}
	s.dialed = true
	return conn, nil
}

// drop forgets conn and closes it without a TLS close_notify (the
// connection is broken or closed by the peer: an alert could only block).
func (s *Sender) drop(conn net.Conn) {
	s.mu.Lock()
	if s.conn == conn {
		s.conn = nil
	}
	s.mu.Unlock()
	if tc, ok := conn.(*tls.Conn); ok {
		tc.NetConn().Close()
		return
	}
	conn.Close()
}

func (s *Sender) dial(ctx context.Context, deadline time.Time) (net.Conn, error) {
	d := &net.Dialer{Deadline: deadline}
	if s.cfg.Network != "tls" {
		conn, err := d.DialContext(ctx, s.cfg.Network, s.cfg.Address)
		if err != nil {
			return nil, fmt.Errorf("syslog: connect to %s %s: %w", s.cfg.Network, s.cfg.Address, err)
		}
		return conn, nil
	}
	// Per connection: whether the receiver asked for a client
	// certificate, and a session cache whose Put (a TLS 1.3 ticket
	// arriving) ends the wait for the receiver's verdict on it.
	tc := s.tls.Clone()
	var asked, ticket bool
	var conn *tls.Conn
	tc.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		asked = true
		if len(s.tls.Certificates) > 0 {
			return &s.tls.Certificates[0], nil
		}
		return &tls.Certificate{}, nil // none: the receiver decides
	}
	tc.ClientSessionCache = ticketSignal(func() {
		ticket = true
		if conn != nil {
			conn.NetConn().SetReadDeadline(time.Now())
		}
	})
	c, err := (&tls.Dialer{NetDialer: d, Config: tc}).DialContext(ctx, "tcp", s.cfg.Address)
	if err != nil {
		return nil, fmt.Errorf("syslog: connect to tls %s: %w%s", s.cfg.Address, err, s.hint(err, asked))
	}
	conn = c.(*tls.Conn)
	if asked && conn.ConnectionState().Version >= tls.VersionTLS13 {
		if err := awaitVerdict(conn, deadline, &ticket); err != nil {
			conn.NetConn().Close()
			return nil, fmt.Errorf("syslog: connect to tls %s: %w%s", s.cfg.Address, err, s.hint(err, asked))
		}
	}
	return conn, nil
}

// verdictWait bounds the wait for a TLS 1.3 receiver's answer to the
// client certificate (see awaitVerdict).
const verdictWait = 500 * time.Millisecond

// awaitVerdict waits for the receiver's verdict on the client certificate
// in TLS 1.3, where the client's handshake is over before the server has
// seen the certificate: a receiver that refuses it (or requires one and
// got none) only says so afterwards, with an alert, and closes. Without
// this wait the first batch would be written into that connection with no
// error and lost, and so would every batch after a reconnect (rsyslog
// closes such a connection without an alert). The server accepted when it
// sends a session ticket (sent once it has checked the client's Finished;
// OpenSSL-based receivers such as syslog-ng do by default) or application
// data; when nothing comes within verdictWait the certificate is taken as
// accepted. rsyslog's GnuTLS driver sends no ticket: there a connection
// with a client certificate takes verdictWait longer to open.
func awaitVerdict(conn *tls.Conn, deadline time.Time, ticket *bool) error {
	end := time.Now().Add(verdictWait)
	if deadline.Before(end) {
		end = deadline
	}
	if err := conn.SetReadDeadline(end); err != nil {
		return err
	}
	var b [512]byte
	_, err := conn.Read(b[:])
	if err == nil || *ticket {
		conn.SetReadDeadline(time.Time{})
		return nil
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		// No verdict: crypto/tls keeps a connection usable after a read
		// timeout.
		conn.SetReadDeadline(time.Time{})
		return nil
	}
	if errors.Is(err, io.EOF) {
		return errors.New("the receiver closed the connection after the handshake")
	}
	return err
}

// ticketSignal is a tls.ClientSessionCache that stores nothing (so every
// connection does a full handshake, with the client certificate) and
// calls itself when a ticket arrives.
type ticketSignal func()

func (ticketSignal) Get(string) (*tls.ClientSessionState, bool) { return nil, false }
func (f ticketSignal) Put(string, *tls.ClientSessionState)      { f() }

// hint explains a TLS failure in the configuration's terms.
func (s *Sender) hint(err error, asked bool) string {
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	switch {
	case errors.As(err, &ua):
		if s.cfg.CAFile == "" {
			return " (the receiver's certificate is not signed by a CA the system trusts: set ca_file to the CA that signed it)"
		}
		return fmt.Sprintf(" (the receiver's certificate is not signed by a CA in ca_file %s)", s.cfg.CAFile)
	case errors.As(err, &he):
		return fmt.Sprintf(" (the receiver's certificate is not for %q: set server_name to a name it holds)", s.tls.ServerName)
	case asked && s.cfg.CertFile == "":
		return " (the receiver asked for a client certificate and got none: set cert_file and key_file)"
	case asked:
		return fmt.Sprintf(" (the receiver may have refused the client certificate of cert_file %s: is it signed by a CA the receiver trusts?)", s.cfg.CertFile)
	}
	return ""
}

// write frames and writes msgs on conn.
func (s *Sender) write(ctx context.Context, conn net.Conn, msgs []Message, deadline time.Time) error {
	if err := conn.SetWriteDeadline(deadline); err != nil {
		return fmt.Errorf("syslog: %s %s: %w", s.cfg.Network, s.cfg.Address, err)
	}
	// Cancelling ctx ends a blocked write at once.
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		conn.SetWriteDeadline(time.Unix(1, 0))
		close(fired)
	})
	defer func() {
		if !stop() {
			<-fired
		}
	}()
	now := time.Now()
	udp := s.cfg.Network == "udp"
	buf := s.buf[:0]
	pending := 0
	for i := range msgs {
		m := msgs[i]
		if m.Time.IsZero() {
			m.Time = now
		}
		var cut bool
		if udp {
			buf, cut = AppendFrame(buf[:0], s.hdr, m, s.cfg.MaxMessageBytes)
		} else {
			buf, cut = AppendOctetCounted(buf, s.hdr, m, s.cfg.MaxMessageBytes)
		}
		if cut {
			s.truncated.Add(1)
		}
		pending++
		if udp || len(buf) >= flushBytes || i == len(msgs)-1 {
			if _, err := conn.Write(buf); err != nil {
				if cerr := context.Cause(ctx); cerr != nil {
					err = cerr
				}
				return fmt.Errorf("syslog: write to %s %s: %w", s.cfg.Network, s.cfg.Address, err)
			}
			s.sent.Add(uint64(pending))
			pending = 0
			buf = buf[:0]
		}
	}
	if cap(buf) <= 4*flushBytes { // keep a usual buffer, not a huge one
		s.buf = buf
	}
	return nil
}
