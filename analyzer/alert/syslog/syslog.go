// Package syslog sends alerts (CEF or LEEF lines) to a SIEM as syslog
// messages: RFC 5424 framing over UDP (RFC 5426, one datagram per
// message), TCP (RFC 6587 octet counting) or TLS (RFC 5425, octet
// counting). Standard library only. docs/syslog.md is the user's view.
//
// A Sender is for one destination. Its Send writes a batch in order and
// reports an error if any part of the batch may not have been written; the
// caller sends the whole batch again later, so a receiver can see a
// message twice (at least once), never a mangled one: a connection on
// which a write failed is closed, so a partly written TCP or TLS frame is
// never followed by another frame on the same connection, and the
// receiver drops the partial frame when the connection closes.
package syslog

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"
)

// DefaultFacility is 10, authpriv ("security/authorization messages,
// private"). Alerts are security messages, and they carry client
// addresses, principals and masked samples: on a stock rsyslog or
// syslog-ng (Debian, RHEL) authpriv goes to a root-only file
// (/var/log/auth.log, /var/log/secure) and is kept out of the
// world-readable catch-all (/var/log/syslog, /var/log/messages), so alerts
// relayed by a local daemon do not leak there. SIEM inputs match on the
// port, the app name or the CEF/LEEF payload, not on the facility; set
// facility 16-23 (local0-local7) to route apitap's alerts by facility.
const DefaultFacility = 10

// DefaultAppName is the APP-NAME of apitap's messages.
const DefaultAppName = "apitap"

// DefaultTimeout bounds a connect (with the TLS handshake) and a batch's
// writes.
const DefaultTimeout = 5 * time.Second

// Default frame caps (Config.MaxMessageBytes). RFC 5426 (syslog over UDP):
// receivers must accept 480-byte messages and should accept 2048; a
// datagram larger than the path MTU is fragmented, and any lost fragment
// loses the message. Stream receivers take more: 64 KiB is rsyslog's and
// syslog-ng's largest usual setting (their defaults are 8 KiB and 64 KiB).
const (
	DefaultUDPMaxMessageBytes    = 2048
	DefaultStreamMaxMessageBytes = 64 << 10
)

// Bounds of Config.MaxMessageBytes: RFC 5424's minimum every receiver
// takes, the largest UDP payload over IPv4, and a sanity cap for streams.
const (
	MinMaxMessageBytes       = 480
	maxUDPMessageBytes       = 65507
	maxStreamMaxMessageBytes = 16 << 20
)

// minPayloadRoom is the room a frame cap must leave for MSG after the
// longest header the configuration can produce.
const minPayloadRoom = 128

// Config is one syslog destination (alerts.destinations[].syslog).
type Config struct {
	// Network is udp, tcp (RFC 6587 octet counting) or tls (RFC 5425).
	// Default udp.
	Network string `yaml:"network"`
	// Address is host:port of the receiver. Required.
	Address string `yaml:"address"`
	// Facility is 1-23; 0 (kern, which only the kernel may use) means the
	// default, 10 (authpriv, see DefaultFacility).
	Facility int `yaml:"facility"`
	// AppName is the APP-NAME header field. Default "apitap".
	AppName string `yaml:"app_name"`
	// Hostname is the HOSTNAME header field. Default os.Hostname().
	Hostname string `yaml:"hostname"`
	// MaxMessageBytes caps a whole message (header and payload: the
	// datagram, or what the octet count counts, not the count itself).
	// A longer message's payload is cut at a UTF-8 boundary and counted in
	// Stats.Truncated. Default 2048 for udp, 64 KiB for tcp and tls;
	// 480 at least; 65507 at most for udp. Keep it at most the
	// receiver's limit (rsyslog's maxMessageSize, default 8096: rsyslog
	// splits a longer octet-counted frame into several messages, the
	// later ones without a header; syslog-ng's log-msg-size, 64 KiB).
	MaxMessageBytes int `yaml:"max_message_bytes"`
	// Timeout bounds a connect (with the TLS handshake) and the writes of
	// one Send. Default 5s.
	Timeout time.Duration `yaml:"timeout"`

	// TLS only. CAFile is a PEM bundle of the CAs trusted to sign the
	// receiver's certificate (default: the system's roots). CertFile and
	// KeyFile are a PEM client certificate and key, for receivers that
	// require one (both or neither).
	CAFile   string `yaml:"ca_file"`
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ServerName is the name the receiver's certificate must hold (and
	// the SNI sent). Default: the host of Address (an IP address is then
	// matched against the certificate's IP SANs).
	ServerName string `yaml:"server_name"`
	// InsecureSkipVerify accepts any server certificate. For tests only:
	// it lets anyone on the path read and forge alerts. Default false.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

// Defaults fills the zero values with the defaults stated on Config.
func (c *Config) Defaults() {
	if c.Network == "" {
		c.Network = "udp"
	}
	if c.Facility == 0 {
		c.Facility = DefaultFacility
	}
	if c.AppName == "" {
		c.AppName = DefaultAppName
	}
	if c.Hostname == "" {
		if h, err := os.Hostname(); err == nil {
			c.Hostname = h
		}
	}
	if c.MaxMessageBytes == 0 {
		if c.Network == "udp" {
			c.MaxMessageBytes = DefaultUDPMaxMessageBytes
		} else {
			c.MaxMessageBytes = DefaultStreamMaxMessageBytes
		}
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Network == "tls" && c.ServerName == "" {
		if host, _, err := net.SplitHostPort(c.Address); err == nil {
			c.ServerName = host
		}
	}
}

// Validate reports a configuration that cannot work, with defaults
// applied (fields left zero are taken as their defaults). For tls it also
// loads the CA and client certificate files, so that a typo fails at
// start, not at the first alert.
func (c Config) Validate() error {
	c.Defaults()
	var errs []error
	switch c.Network {
	case "udp", "tcp", "tls":
	default:
		errs = append(errs, fmt.Errorf("syslog.network %q: want udp, tcp or tls", c.Network))
	}
	if c.Address == "" {
		errs = append(errs, errors.New("syslog.address is required (host:port)"))
	} else if host, port, err := net.SplitHostPort(c.Address); err != nil || host == "" {
		errs = append(errs, fmt.Errorf("syslog.address %q: want host:port", c.Address))
	} else if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		errs = append(errs, fmt.Errorf("syslog.address %q: port must be 1-65535", c.Address))
	}
	if c.Facility < 0 || c.Facility > 23 {
		errs = append(errs, fmt.Errorf("syslog.facility %d: want 1-23 (0 for the default, %d)", c.Facility, DefaultFacility))
	}
	max := maxStreamMaxMessageBytes
	if c.Network == "udp" {
		max = maxUDPMessageBytes
	}
	if c.MaxMessageBytes < MinMaxMessageBytes || c.MaxMessageBytes > max {
		errs = append(errs, fmt.Errorf("syslog.max_message_bytes %d: want %d-%d for %s", c.MaxMessageBytes, MinMaxMessageBytes, max, c.Network))
	} else if h := maxHeaderLen(c.header()); c.MaxMessageBytes-h < minPayloadRoom {
		errs = append(errs, fmt.Errorf("syslog.max_message_bytes %d leaves %d bytes for the message after a header of up to %d bytes (hostname %d, app_name %d): want at least %d; raise it or shorten the names",
			c.MaxMessageBytes, c.MaxMessageBytes-h, h, len(sanitized(c.Hostname, maxHostname)), len(sanitized(c.AppName, maxAppName)), minPayloadRoom))
	}
	if c.Timeout < 0 {
		errs = append(errs, errors.New("syslog.timeout must be >= 0"))
	}
	if c.Network == "tls" {
		if _, err := c.tlsConfig(); err != nil {
			errs = append(errs, err)
		}
	} else if c.CAFile != "" || c.CertFile != "" || c.KeyFile != "" || c.ServerName != "" || c.InsecureSkipVerify {
		errs = append(errs, fmt.Errorf("syslog: ca_file, cert_file, key_file, server_name and insecure_skip_verify are for network tls, not %s", c.Network))
	}
	return errors.Join(errs...)
}

// header is the fixed part of this configuration's frames.
func (c Config) header() Header {
	return Header{Facility: c.Facility, Hostname: c.Hostname, AppName: c.AppName, ProcID: strconv.Itoa(os.Getpid())}
}

// tlsConfig loads the trust and client certificate of a tls destination.
func (c Config) tlsConfig() (*tls.Config, error) {
	tc := &tls.Config{
		// RFC 9662 (updating RFC 5425): TLS 1.2 or later.
		MinVersion:         tls.VersionTLS12,
		ServerName:         c.ServerName,
		InsecureSkipVerify: c.InsecureSkipVerify,
	}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("syslog.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("syslog.ca_file %s: no PEM certificate in it", c.CAFile)
		}
		tc.RootCAs = pool
	}
	switch {
	case c.CertFile != "" && c.KeyFile != "":
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("syslog.cert_file/key_file: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	case c.CertFile != "" || c.KeyFile != "":
		return nil, errors.New("syslog: cert_file and key_file go together")
	}
	if tc.ServerName == "" && !tc.InsecureSkipVerify {
		return nil, fmt.Errorf("syslog.server_name: none, and no host in address %q", c.Address)
	}
	return tc, nil
}

// SeverityOf maps an alert severity to its RFC 5424 severity: info → 6
// (informational), low → 5 (notice), medium → 4 (warning), high → 3
// (error), critical → 2 (critical). apitap never uses 0 (emergency: the
// system is unusable) or 1 (alert: act immediately, pages people on many
// setups); 7 (debug) is not an alert. An unknown name maps to 4, the
// middle, so that an alert of a newer severity is neither dropped by a
// receiver's "warning or worse" filter nor raised to the top.
func SeverityOf(alertSeverity string) int {
	switch alertSeverity {
	case "info":
		return 6
	case "low":
		return 5
	case "medium":
		return 4
	case "high":
		return 3
	case "critical":
		return 2
	}
	return 4
}

// Message is one syslog message.
type Message struct {
	// Severity is RFC 5424's 0 (emergency) to 7 (debug) (SeverityOf); a
	// value outside 0-7 is sent as 4 (warning).
	Severity int
	// MsgID is the MSGID field, e.g. "anomaly": up to 32 printable ASCII
	// characters (others are replaced with '_', see AppendFrame).
	MsgID string
	// Time is when the event happened; sent in UTC with microseconds. The
	// zero time is sent as the time of the Send.
	Time time.Time
	// Payload is the MSG: a CEF or LEEF line, UTF-8, one line. It is sent
	// as it is, without a BOM (see AppendFrame), cut to the frame cap.
	Payload []byte
}

// Stats are a Sender's counters since New.
type Stats struct {
	// Sent counts messages written to the connection (handed to the
	// kernel: TCP and TLS give no receipt). A batch sent again after an
	// error counts again.
	Sent uint64
	// Truncated counts messages whose payload was cut to the frame cap
	// (each time they were framed).
	Truncated uint64
	// Errors counts failed Sends: connect, handshake or write errors.
	Errors uint64
	// Reconnects counts connections opened after the first one (after a
	// write error or a receiver that closed the connection).
	Reconnects uint64
}
