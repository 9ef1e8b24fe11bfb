//go:build linux

package deliver

import (
	"strings"
	"testing"
	"time"

	"github.com/apitap/apitap/analyzer"
	"github.com/apitap/apitap/analyzer/alert/syslog"
	"github.com/apitap/apitap/internal/testutil"
)

// The syslog destination through a real rsyslogd over TCP, with an outage:
// rsyslog is stopped while episodes are raised and escalated, then started
// again on the same port; every dedup key arrives exactly once, as its
// latest revision, in order, as a CEF line.
func TestSyslogOutageOncePerKey(t *testing.T) {
	rs := testutil.StartRsyslog(t)
	cfg := DefaultConfig()
	cfg.SpoolDir = t.TempDir()
	cfg.Destinations = []DestinationConfig{{Name: "siem", Type: "syslog", Format: "cef",
		RetryMin: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond,
		Syslog: syslog.Config{Network: "tcp", Address: rs.TCPAddr, Timeout: time.Second}}}
	d := open(t, cfg)
	write(t, d, finding("recon", "high", "10.9.0.1", 1, t0))
	lines := rs.Lines(t, "tcp", 1, 10*time.Second)
	if !strings.Contains(lines[0], "|anomaly:recon|") || !strings.Contains(lines[0], "src=10.9.0.1") {
		t.Fatalf("first alert: %q", lines[0])
	}

	rs.Stop(t)
	clients := []string{"10.9.0.2", "10.9.0.3", "10.9.0.4"}
	for round, sev := range []string{"medium", "high", "critical"} {
		var fs []analyzer.FindingRow
		for _, c := range clients {
			fs = append(fs, finding("bola_enumeration", sev, c, uint64(round+1), t0.Add(time.Duration(round)*time.Minute)))
		}
		write(t, d, fs...)
		time.Sleep(50 * time.Millisecond)
	}
	waitFor(t, "a failed delivery", func() bool { return d.Stats().Destinations[0].Failures > 0 })
	rs.Start(t)
	lines = rs.Lines(t, "tcp", 4, 15*time.Second)
	time.Sleep(300 * time.Millisecond) // nothing more may come
	closeD(t, d, 5*time.Second)
	lines = rs.Lines(t, "tcp", 4, time.Second)
	if len(lines) != 4 {
		t.Fatalf("%d lines after the outage, want 1 + one per dedup key (3):\n%s", len(lines), strings.Join(lines, "\n"))
	}
	for i, c := range clients {
		l := lines[i+1]
		if !strings.Contains(l, "src="+c+" ") || !strings.Contains(l, "|anomaly:bola_enumeration|") || !strings.Contains(l, "|10|") ||
			!strings.Contains(l, "cn1=3 ") {
			t.Errorf("line %d is not %s's latest revision (critical, revision 3): %q", i+1, c, l)
		}
	}
	if s := d.Stats().Destinations[0]; s.Sent != 4 || s.Superseded != 6 || s.Pending != 0 {
		t.Fatalf("stats: %+v", s)
	}
}
