//go:build unix

package syslog

import (
	"crypto/tls"
	"errors"
	"net"
	"syscall"
	"time"
)

// peerClosed reports whether the receiver has closed conn (or reset it),
// without blocking: a syslog receiver never sends on the connection, so
// anything readable is its FIN, a reset, or over TLS a close_notify, an
// alert or a session ticket.
//
// Without this check, the first batch after a receiver restarts would be
// written into the dead connection with no error (the kernel accepts it;
// the reset comes back later) and be lost.
func peerClosed(conn net.Conn) bool {
	if tc, ok := conn.(*tls.Conn); ok {
		switch peek(tc.NetConn()) {
		case idle:
			return false
		case gone:
			return true
		}
		return tlsClosed(tc)
	}
	for {
		switch peek(conn) {
		case idle:
			return false
		case gone:
			return true
		}
		// Data from a plain receiver: discarded, then look again (a FIN
		// may follow it).
		if discard(conn) {
			return true
		}
	}
}

type peekResult int

const (
	idle    peekResult = iota // nothing to read
	gone                      // EOF, reset or any other error
	pending                   // bytes to read
)

// peek looks at conn's socket with a non-blocking MSG_PEEK.
func peek(conn net.Conn) peekResult {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return idle
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return gone
	}
	var b [1]byte
	var n int
	var rerr error
	if err := rc.Read(func(fd uintptr) bool {
		n, _, rerr = syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return true // never wait
	}); err != nil {
		return gone
	}
	switch {
	case rerr == syscall.EAGAIN || rerr == syscall.EWOULDBLOCK || rerr == syscall.EINTR:
		return idle
	case rerr != nil || n == 0:
		return gone
	}
	return pending
}

// discard reads what is readable on a plain connection without blocking;
// true when the read failed.
func discard(conn net.Conn) bool {
	rc, err := conn.(syscall.Conn).SyscallConn()
	if err != nil {
		return true
	}
	var b [512]byte
	var rerr error
	if err := rc.Read(func(fd uintptr) bool {
		_, _, rerr = syscall.Recvfrom(int(fd), b[:], syscall.MSG_DONTWAIT)
		return true
	}); err != nil {
		return true
	}
	return rerr != nil && rerr != syscall.EAGAIN && rerr != syscall.EWOULDBLOCK && rerr != syscall.EINTR
}

// tlsClosed reads the TLS records waiting on tc: a session ticket is
// taken in (crypto/tls handles it inside Read), application data is
// ignored, a close_notify or an alert means closed. The short deadline
// only ends the wait for more once the waiting records are read (Read
// does not return after a ticket).
func tlsClosed(tc *tls.Conn) bool {
	if err := tc.SetReadDeadline(time.Now().Add(10 * time.Millisecond)); err != nil {
		return true
	}
	defer tc.SetReadDeadline(time.Time{})
	var b [512]byte
	for {
		_, err := tc.Read(b[:])
		if err == nil {
			continue
		}
		var ne net.Error
		return !(errors.As(err, &ne) && ne.Timeout())
	}
}
