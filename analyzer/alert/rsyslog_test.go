//go:build linux

package alert_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apitap/apitap/analyzer/alert"
	"github.com/apitap/apitap/analyzer/alert/syslog"
	"github.com/apitap/apitap/internal/testutil"
)

// TestRsyslogReceivesCEFAndLEEF sends alerts, hostile ones included, as CEF
// and LEEF over UDP, TCP and TLS to a real rsyslogd (Debian's, started on
// loopback with a test CA), then parses what rsyslog wrote: the syslog
// header (PRI from the alert's severity, APP-NAME, MSGID the kind) and,
// with independent CEF/LEEF parsers, every field of every alert and each
// format's escaping.
func TestRsyslogReceivesCEFAndLEEF(t *testing.T) {
	rs := testutil.StartRsyslog(t)
	alerts := []*alert.Alert{alert.SampleAlert()}
	for _, v := range alert.HostileValues {
		alerts = append(alerts, alert.HostileAlert(v))
	}
	sevs := []string{"info", "low", "medium", "high", "critical"}
	for i, a := range alerts {
		a.Severity = sevs[i%len(sevs)]
	}
	for _, c := range []struct {
		input, network, addr string
		format               alert.Format
	}{
		{"udp", "udp", rs.UDPAddr, alert.CEF},
		{"tcp", "tcp", rs.TCPAddr, alert.LEEF},
		{"tls", "tls", rs.TLSAddr, alert.CEF},
		{"tls", "tls", rs.TLSAddr, alert.LEEF},
	} {
		cfg := syslog.Config{Network: c.network, Address: c.addr, Hostname: "analyzer-1", MaxMessageBytes: 60000}
		if c.network == "tls" {
			cfg.CAFile, cfg.ServerName = rs.CAFile, "localhost"
		}
		cfg.Defaults()
		s, err := syslog.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		before := len(rs.Lines(t, c.input, 0, time.Second))
		var msgs []syslog.Message
		for _, a := range alerts {
			p, err := alert.Append(nil, c.format, a)
			if err != nil {
				t.Fatal(err)
			}
			msgs = append(msgs, syslog.Message{Severity: syslog.SeverityOf(a.Severity), MsgID: a.Kind, Time: a.Time, Payload: p})
		}
		if err := s.Send(context.Background(), msgs); err != nil {
			t.Fatalf("%s: %v", c.input, err)
		}
		s.Close()
		lines := rs.Lines(t, c.input, before+len(alerts), 10*time.Second)[before:]
		for i, line := range lines {
			a := alerts[i]
			hdr := strings.SplitN(line, " ", 8)
			if len(hdr) != 8 {
				t.Fatalf("%s %s line %d: no RFC 5424 header: %q", c.input, c.format, i, line)
			}
			pri := fmt.Sprintf("<%d>1", cfg.Facility*8+syslog.SeverityOf(a.Severity))
			if hdr[0] != pri || hdr[2] != "analyzer-1" || hdr[3] != "apitap" || hdr[6] != "-" {
				t.Errorf("%s %s line %d header %q, want %s ... analyzer-1 apitap", c.input, c.format, i, hdr[:7], pri)
			}
			if i == 0 && hdr[5] != "anomaly" {
				t.Errorf("MSGID %q, want the kind", hdr[5])
			}
			switch c.format {
			case alert.CEF:
				alert.CheckCEF(t, a, []byte(hdr[7]))
			case alert.LEEF:
				alert.CheckLEEF(t, a, []byte(hdr[7]))
			}
		}
		t.Logf("%s %s: %d alerts through rsyslog, every field read back", c.input, c.format, len(lines))
	}
}
