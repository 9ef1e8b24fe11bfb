//go:build linux

package testutil

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Rsyslog is a private rsyslogd (Debian's rsyslog, with rsyslog-gnutls for
// TLS) on loopback, run by scripts/rsyslog.sh with its config, pid file,
// work directory and logs in a temporary directory. It never touches the
// system's syslog: no /etc/rsyslog.conf, no /dev/log, no kernel log. Every
// message an input receives is written exactly as received (rsyslog's
// %rawmsg%) as one line of Dir/<input>.log.
type Rsyslog struct {
	Dir string
	// Inputs: UDP; TCP (octet-counted or LF-delimited); TLS (RFC 5425,
	// any client); MTLS (TLS, a client certificate signed by the CA
	// required). Free ports picked at start, kept across Stop and Start.
	UDPAddr, TCPAddr, TLSAddr, MTLSAddr string
	// CAFile is the PEM of the test CA that signed the server certificate
	// (for "localhost", 127.0.0.1 and ::1) and the client certificate.
	CAFile string
	// ClientCertFile and ClientKeyFile are a client certificate and key
	// signed by the CA, for MTLSAddr.
	ClientCertFile, ClientKeyFile string
	// OtherCAFile is a CA rsyslogd does not trust, and OtherClientCertFile
	// and OtherClientKeyFile a client certificate it signed: to test trust
	// failures both ways.
	OtherCAFile                             string
	OtherClientCertFile, OtherClientKeyFile string

	ports  [4]int // udp, tcp, tls, mtls
	cmd    *exec.Cmd
	exited chan struct{}
}

// Rsyslog input names (the log files' names).
var rsyslogInputs = [4]string{"udp", "tcp", "tls", "mtls"}

// StartRsyslog starts a private rsyslogd, stopped when the test ends. When
// rsyslogd or its TLS driver is not installed the test is skipped, or
// fails if APITAP_REQUIRE_INTEGRATION=1 (CI).
func StartRsyslog(t testing.TB) *Rsyslog {
	t.Helper()
	if _, err := rsyslogd(); err != nil {
		msg := err.Error()
		if os.Getenv("APITAP_REQUIRE_INTEGRATION") == "1" {
			t.Fatal(msg + "; APITAP_REQUIRE_INTEGRATION=1")
		}
		t.Skip(msg)
	}
	r := &Rsyslog{Dir: t.TempDir()}
	r.writeCerts(t)
	t.Cleanup(func() { r.Stop(t) })
	var err error
	for try := 0; try < 5; try++ {
		r.pickPorts(t)
		if err = r.start(t); err == nil {
			return r
		}
		if !errors.Is(err, errPortInUse) {
			break
		}
	}
	t.Fatal(err)
	return nil
}

// Stop stops rsyslogd (SIGTERM, SIGKILL after 10 s); a no-op when it is
// not running. Only the process this Rsyslog started is signalled.
func (r *Rsyslog) Stop(t testing.TB) {
	t.Helper()
	if r.cmd == nil {
		return
	}
	r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.exited:
	case <-time.After(10 * time.Second):
		r.cmd.Process.Kill()
		<-r.exited
		t.Errorf("rsyslogd (pid %d) did not stop in 10 s on SIGTERM; killed", r.cmd.Process.Pid)
	}
	r.cmd = nil
}

// Start starts rsyslogd again after Stop, on the same ports and with the
// same log files (appended to).
func (r *Rsyslog) Start(t testing.TB) {
	t.Helper()
	if r.cmd != nil {
		t.Fatal("rsyslog: already running")
	}
	var err error
	for try := 0; try < 20; try++ { // a port may be held for a moment
		if err = r.start(t); err == nil || !errors.Is(err, errPortInUse) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// Pid is rsyslogd's process id (0 when stopped).
func (r *Rsyslog) Pid() int {
	if r.cmd == nil {
		return 0
	}
	return r.cmd.Process.Pid
}

// Lines waits until the log of input (udp, tcp, tls or mtls) has at least
// want complete lines and returns all of them, without their newlines. It
// fails the test after timeout, showing what arrived and rsyslogd's own
// messages.
func (r *Rsyslog) Lines(t testing.TB, input string, want int, timeout time.Duration) []string {
	t.Helper()
	name := filepath.Join(r.Dir, input+".log")
	end := time.Now().Add(timeout)
	for {
		lines := readLines(name)
		if len(lines) >= want {
			return lines
		}
		if time.Now().After(end) {
			last := lines
			if len(last) > 3 {
				last = last[len(last)-3:]
			}
			for i, l := range last {
				if len(l) > 300 {
					last[i] = l[:300] + fmt.Sprintf("...(%d bytes)", len(l))
				}
			}
			t.Fatalf("rsyslog %s: %d lines after %v, want %d; last: %q\n%s", input, len(lines), timeout, want, last, r.logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// readLines returns the complete lines of a file (none when it is absent).
func readLines(name string) []string {
	b, err := os.ReadFile(name)
	if err != nil || len(b) == 0 {
		return nil
	}
	i := bytes.LastIndexByte(b, '\n')
	if i < 0 {
		return nil
	}
	return strings.Split(string(b[:i]), "\n")
}

var errPortInUse = errors.New("rsyslog: a port is in use")

// rsyslogd returns the path of rsyslogd, or why it cannot run here.
func rsyslogd() (string, error) {
	path, err := exec.LookPath("rsyslogd")
	if err != nil {
		path = "/usr/sbin/rsyslogd"
		if _, err := os.Stat(path); err != nil {
			return "", errors.New("rsyslogd not installed (apt-get install rsyslog rsyslog-gnutls)")
		}
	}
	drivers, _ := filepath.Glob("/usr/lib/*/rsyslog/lmnsd_gtls.so")
	more, _ := filepath.Glob("/usr/lib/rsyslog/lmnsd_gtls.so")
	if len(drivers)+len(more) == 0 {
		return "", errors.New("rsyslog's TLS driver not installed (apt-get install rsyslog-gnutls)")
	}
	return path, nil
}

// pickPorts picks free loopback ports: held all at once so that they
// differ, then released for rsyslogd (which may lose one to another
// process: start reports errPortInUse, and StartRsyslog picks again).
func (r *Rsyslog) pickPorts(t testing.TB) {
	t.Helper()
	var closers []func() error
	defer func() {
		for _, c := range closers {
			c()
		}
	}()
	for i := range r.ports {
		if i == 0 {
			pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
			if err != nil {
				t.Fatalf("rsyslog: pick a udp port: %v", err)
			}
			closers = append(closers, pc.Close)
			r.ports[i] = pc.LocalAddr().(*net.UDPAddr).Port
			continue
		}
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("rsyslog: pick a tcp port: %v", err)
		}
		closers = append(closers, ln.Close)
		r.ports[i] = ln.Addr().(*net.TCPAddr).Port
	}
	addr := func(i int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(r.ports[i])) }
	r.UDPAddr, r.TCPAddr, r.TLSAddr, r.MTLSAddr = addr(0), addr(1), addr(2), addr(3)
}

// start runs scripts/rsyslog.sh run DIR (which checks the config and execs
// rsyslogd -n: the process started is rsyslogd itself) and waits until
// every input's socket is bound by it.
func (r *Rsyslog) start(t testing.TB) error {
	t.Helper()
	out, err := os.OpenFile(filepath.Join(r.Dir, "rsyslogd.out"), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer out.Close()
	cmd := exec.Command("bash", filepath.Join(RepoRoot(t), "scripts", "rsyslog.sh"), "run", r.Dir)
	cmd.Env = append(os.Environ(),
		"PATH="+os.Getenv("PATH")+":/usr/sbin:/sbin",
		"RSYSLOG_UDP_PORT="+strconv.Itoa(r.ports[0]), "RSYSLOG_TCP_PORT="+strconv.Itoa(r.ports[1]),
		"RSYSLOG_TLS_PORT="+strconv.Itoa(r.ports[2]), "RSYSLOG_MTLS_PORT="+strconv.Itoa(r.ports[3]))
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group (a terminal's ^C is the test's to handle),
	// and SIGKILL if the test process dies without its cleanup.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("rsyslog: start: %w", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	r.cmd, r.exited = cmd, exited
	end := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-exited:
			r.cmd = nil
			return fmt.Errorf("rsyslog: rsyslogd exited at start (%v)\n%s", cmd.ProcessState, r.logs())
		default:
		}
		logs := r.logs()
		if strings.Contains(logs, "Could not create") || strings.Contains(logs, "Error while binding") {
			r.Stop(t)
			return fmt.Errorf("%w\n%s", errPortInUse, logs)
		}
		if r.bound() {
			return nil
		}
		if time.Now().After(end) {
			r.Stop(t)
			return fmt.Errorf("rsyslog: inputs not bound after 30 s\n%s", logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// bound reports whether every input's socket (127.0.0.1:port, a UDP socket
// or a listening TCP socket) is one of rsyslogd's open files.
func (r *Rsyslog) bound() bool {
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", r.cmd.Process.Pid))
	if err != nil {
		return false
	}
	mine := map[string]bool{}
	for _, fd := range fds {
		l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", r.cmd.Process.Pid, fd.Name()))
		if err == nil && strings.HasPrefix(l, "socket:[") {
			mine[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
		}
	}
	has := func(table, state string, port int) bool {
		b, err := os.ReadFile(table)
		if err != nil {
			return false
		}
		local := fmt.Sprintf("0100007F:%04X", port)
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) > 9 && f[1] == local && f[3] == state && mine[f[9]] {
				return true
			}
		}
		return false
	}
	return has("/proc/net/udp", "07", r.ports[0]) && has("/proc/net/tcp", "0A", r.ports[1]) &&
		has("/proc/net/tcp", "0A", r.ports[2]) && has("/proc/net/tcp", "0A", r.ports[3])
}

// logs is rsyslogd's output and own messages, for failure reports.
func (r *Rsyslog) logs() string {
	var b strings.Builder
	for _, n := range []string{"rsyslogd.out", "rsyslogd.log"} {
		data, err := os.ReadFile(filepath.Join(r.Dir, n))
		if err != nil || len(bytes.TrimSpace(data)) == 0 {
			continue
		}
		if len(data) > 8<<10 {
			data = data[len(data)-8<<10:]
		}
		fmt.Fprintf(&b, "--- %s:\n%s\n", n, bytes.TrimRight(data, "\n"))
	}
	return b.String()
}

// writeCerts writes a test CA, a server certificate and a client
// certificate (ECDSA P-256, valid for a day), and a second CA with a
// client certificate, as PEM files in Dir: ca.pem, server.pem,
// server-key.pem, client.pem, client-key.pem, other-ca.pem,
// other-client.pem, other-client-key.pem.
func (r *Rsyslog) writeCerts(t testing.TB) {
	t.Helper()
	now := time.Now()
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	serial := int64(1)
	issue := func(tmpl *x509.Certificate, key *ecdsa.PrivateKey, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) *x509.Certificate {
		serial++
		tmpl.SerialNumber = big.NewInt(serial)
		tmpl.NotBefore, tmpl.NotAfter = now.Add(-time.Hour), now.Add(24*time.Hour)
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
		return c
	}
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(r.Dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	writeKey := func(name string, k *ecdsa.PrivateKey) string {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return write(name, "PRIVATE KEY", der)
	}
	ca := func(cn string) (*x509.Certificate, *ecdsa.PrivateKey) {
		k := newKey()
		return issue(&x509.Certificate{Subject: pkix.Name{CommonName: cn}, IsCA: true, BasicConstraintsValid: true,
			KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature}, k, nil, nil), k
	}
	caCert, caKey := ca("apitap test CA")
	r.CAFile = write("ca.pem", "CERTIFICATE", caCert.Raw)
	other, otherKey := ca("apitap other test CA")
	r.OtherCAFile = write("other-ca.pem", "CERTIFICATE", other.Raw)

	sk := newKey()
	sc := issue(&x509.Certificate{Subject: pkix.Name{CommonName: "localhost"}, DNSNames: []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}, sk, caCert, caKey)
	write("server.pem", "CERTIFICATE", sc.Raw)
	writeKey("server-key.pem", sk)

	ck := newKey()
	cc := issue(&x509.Certificate{Subject: pkix.Name{CommonName: "apitap test client"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, ck, caCert, caKey)
	r.ClientCertFile = write("client.pem", "CERTIFICATE", cc.Raw)
	r.ClientKeyFile = writeKey("client-key.pem", ck)

	ok := newKey()
	oc := issue(&x509.Certificate{Subject: pkix.Name{CommonName: "apitap untrusted client"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, ok, other, otherKey)
	r.OtherClientCertFile = write("other-client.pem", "CERTIFICATE", oc.Raw)
	r.OtherClientKeyFile = writeKey("other-client-key.pem", ok)
}
