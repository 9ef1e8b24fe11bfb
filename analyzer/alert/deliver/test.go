package deliver

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/apitap/apitap/analyzer/alert"
)

// Test sends one synthetic alert (action "test") straight to the named
// destination, past the policy and the spool, and returns it with the
// receiver's answer: what `apitap alert test --destination NAME` runs to
// check a SIEM's address, trust and token before real alerts need them.
func Test(ctx context.Context, cfg Config, name, severity string, set Settings) (*alert.Alert, error) {
	var dc *DestinationConfig
	for i := range cfg.Destinations {
		if cfg.Destinations[i].Name == name {
			dc = &cfg.Destinations[i]
		}
	}
	if dc == nil {
		names := make([]string, 0, len(cfg.Destinations))
		for _, d := range cfg.Destinations {
			names = append(names, d.Name)
		}
		return nil, fmt.Errorf("no destination %q in the configuration (have %v)", name, names)
	}
	d := dc.withDefaults()
	if err := d.validate(); err != nil {
		return nil, fmt.Errorf("destination %s: %w", name, err)
	}
	if alert.SeverityLevel(severity) < 0 {
		return nil, fmt.Errorf("severity %q: want info, low, medium, high or critical", severity)
	}
	snd, err := newSender(d, set.Version)
	if err != nil {
		return nil, fmt.Errorf("destination %s: %w", name, err)
	}
	defer snd.close()
	if set.Observer == "" {
		set.Observer, _ = os.Hostname()
	}
	now := time.Now().UTC()
	a := &alert.Alert{ID: fmt.Sprintf("test-%d", now.UnixNano()), DedupKey: "test", Action: "test", Revision: 1, Time: now,
		FindingID: "test", Kind: "anomaly", Type: "test", Severity: severity, Confidence: "confirmed",
		Host: "apitap.test", Method: "GET", Endpoint: "/apitap/alert-test", ClientIP: "192.0.2.1", Count: 1,
		FirstSeen: now, LastSeen: now, Summary: "apitap alert test: if you read this, destination " + name + " works",
		Observer: set.Observer, Version: set.Version}
	if _, err := snd.send(ctx, []*alert.Alert{a}); err != nil {
		return a, fmt.Errorf("destination %s: %w", name, err)
	}
	return a, nil
}
