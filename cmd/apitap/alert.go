package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"go.uber.org/zap"

	"github.com/apitap/apitap/analyzer/alert/deliver"
)

// alertConfig is what `apitap alert test` reads: the alerts section of the
// analyzer's or run's configuration file (other sections are ignored).
type alertConfig struct {
	Log    logConfig      `yaml:"log"`
	Alerts deliver.Config `yaml:"alerts"`
	// Destination and Severity: flags only.
	Destination string        `yaml:"-"`
	Severity    string        `yaml:"-"`
	Timeout     time.Duration `yaml:"-"`
}

func defaultAlertConfig() alertConfig {
	return alertConfig{Log: logConfig{Level: "warn", Format: "auto"}, Alerts: deliver.DefaultConfig(), Severity: "high", Timeout: 30 * time.Second}
}

const alertUsage = `Usage: apitap alert test --config FILE --destination NAME [--severity S]

Sends one test alert (action "test", type "test") straight to the named
destination of the file's "alerts" section, past the policy and the spool,
and says whether the receiver accepted it: run it after configuring a SIEM
(docs/alerting.md).

Flags:
`

func bindAlertFlags(fs *flag.FlagSet, c *alertConfig, configPath *string) {
	fs.StringVar(configPath, "config", "", "YAML configuration file with an alerts section")
	fs.StringVar(&c.Destination, "destination", c.Destination, "name of the destination to test")
	fs.StringVar(&c.Severity, "severity", c.Severity, "severity of the test alert: info, low, medium, high, critical")
	fs.DurationVar(&c.Timeout, "timeout", c.Timeout, "give up after this long")
	fs.StringVar(&c.Log.Level, "log-level", c.Log.Level, "log level: debug, info, warn, error")
	fs.StringVar(&c.Log.Format, "log-format", c.Log.Format, "log format: auto, json, console")
}

func (c *alertConfig) validate() error {
	if c.Destination == "" {
		return errors.New("--destination: the name of a destination is required")
	}
	if c.Timeout <= 0 {
		return errors.New("--timeout must be > 0")
	}
	return nil
}

func (c *alertConfig) logging() logConfig { return c.Log }

func runAlert(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "test" {
		if len(args) > 0 && (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
			fmt.Fprint(stderr, alertUsage)
			return flag.ErrHelp
		}
		fmt.Fprint(stderr, alertUsage)
		return usageError{errors.New(`alert: the subcommand is "test"`)}
	}
	l := loader[alertConfig]{name: "alert test", defaults: defaultAlertConfig, bind: bindAlertFlags, lenient: true}
	cfg, log, err := setup(l, args[1:], stderr, alertUsage)
	if err != nil {
		return err
	}
	defer log.Sync()
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	a, err := deliver.Test(ctx, cfg.Alerts, cfg.Destination, cfg.Severity, deliver.Settings{Logger: log, Version: version})
	if err != nil {
		return err
	}
	log.Debug("test alert sent", zap.String("id", a.ID))
	fmt.Fprintf(stdout, "destination %s accepted test alert %s (severity %s)\n", cfg.Destination, a.ID, a.Severity)
	return nil
}

// alertSummary is the run's closing line on alerting: per destination, what
// was delivered and what was not.
func alertSummary(s deliver.Stats) string {
	line := fmt.Sprintf("alerts: %d raised (%d new, %d updates, %d repeats suppressed)", s.Policy.New+s.Policy.Updates,
		s.Policy.New, s.Policy.Updates, s.Policy.Suppressed)
	for _, d := range s.Destinations {
		line += fmt.Sprintf("; %s: %d sent", d.Name, d.Sent)
		if d.Pending > 0 {
			line += fmt.Sprintf(", %d still spooled", d.Pending)
		}
		if n := d.Rejected + d.Dropped; n > 0 {
			line += fmt.Sprintf(", %d rejected or dropped", n)
		}
		if d.LastError != "" && d.Pending > 0 {
			line += " (last error: " + d.LastError + ")"
		}
	}
	return line
}
