// Package deliver sends alerts to SIEMs: a Dispatcher (an analyzer.Sink)
// runs the alert policy over the findings of every batch, appends the
// alerts to one on-disk spool per destination before the batch is
// acknowledged, and one goroutine per destination delivers them in order
// (syslog CEF/LEEF, Splunk HEC, webhook, Kafka), rate-limited, retried with
// backoff, an unsent update of an episode replacing the older one.
package deliver

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/apitap/apitap/analyzer/alert"
	"github.com/apitap/apitap/analyzer/alert/syslog"
	"github.com/apitap/apitap/bus/kafka"
)

// Config is the whole alerting configuration (YAML key "alerts").
type Config struct {
	// Policy: which findings are alerts and how often an episode repeats.
	alert.PolicyConfig `yaml:",inline"`
	// SpoolDir holds one spool per destination (SpoolDir/NAME) and the
	// dedup state (SpoolDir/policy.json). Default "apitap-spool" (relative
	// to the working directory; use an absolute path in production).
	SpoolDir string `yaml:"spool_dir"`
	// SpoolMaxBytes caps each destination's spool on disk; alerts that do
	// not fit are dropped and counted. Default 64 MiB.
	SpoolMaxBytes int64 `yaml:"spool_max_bytes"`
	// DrainTimeout is how long a stopping analyzer keeps delivering what is
	// spooled before it leaves the rest for its next start. Default 10s.
	DrainTimeout time.Duration `yaml:"drain_timeout"`
	// Destinations receive the alerts, each with its own filter. Default
	// none: alerting is off.
	Destinations []DestinationConfig `yaml:"destinations"`
}

// DestinationConfig is one receiver of alerts.
type DestinationConfig struct {
	// Name identifies the destination (its spool folder, its counters,
	// `apitap alert test --destination NAME`). Required, unique.
	Name string `yaml:"name"`
	// Type is syslog, hec, webhook or kafka. Required.
	Type string `yaml:"type"`
	// Format is cef or leef for syslog (default cef); json, ocsf or ecs for
	// the others (default json).
	Format string `yaml:"format"`
	// MinSeverity is this destination's floor, on top of the policy's.
	// Default: the policy's.
	MinSeverity string `yaml:"min_severity"`
	// Kinds and Types, when set, are the only finding kinds and types sent
	// here. Default: all.
	Kinds []string `yaml:"kinds"`
	Types []string `yaml:"types"`
	// Rate is the most alerts per second sent here, with bursts of Burst;
	// the rest waits in the spool. Defaults 50 and 200.
	Rate  float64 `yaml:"rate"`
	Burst int     `yaml:"burst"`
	// BatchSize is the most alerts per delivery (one HEC request, one Kafka
	// write, a run of syslog messages); webhooks send one per request.
	// Default 100.
	BatchSize int `yaml:"batch_size"`
	// RetryMin and RetryMax bound the backoff between failed deliveries
	// (doubling, with jitter). Defaults 1s and 1m.
	RetryMin time.Duration `yaml:"retry_min"`
	RetryMax time.Duration `yaml:"retry_max"`

	Syslog  syslog.Config `yaml:"syslog"`
	HEC     HECConfig     `yaml:"hec"`
	Webhook WebhookConfig `yaml:"webhook"`
	Kafka   KafkaConfig   `yaml:"kafka"`
}

// HECConfig is a Splunk HTTP Event Collector.
type HECConfig struct {
	// URL of the collector: https://splunk:8088 (the event endpoint
	// /services/collector/event is added when the URL has no path).
	// Required.
	URL string `yaml:"url"`
	// TokenFile or TokenEnv holds the HEC token (exactly one). The token is
	// never read from the config or the command line.
	TokenFile string `yaml:"token_file"`
	TokenEnv  string `yaml:"token_env"`
	// Index, Source and Sourcetype of the events. Defaults: the token's
	// default index, "apitap", "apitap:alert".
	Index      string `yaml:"index"`
	Source     string `yaml:"source"`
	Sourcetype string `yaml:"sourcetype"`
	// Channel is the X-Splunk-Request-Channel GUID, needed when indexer
	// acknowledgement is on. Default none.
	Channel string `yaml:"channel"`
	// Timeout of one request. Default 10s.
	Timeout time.Duration `yaml:"timeout"`
	TLS     TLSConfig     `yaml:"tls"`
}

// WebhookConfig is a generic JSON webhook, signed with HMAC-SHA256.
type WebhookConfig struct {
	// URL receives one POST per alert. Required.
	URL string `yaml:"url"`
	// SecretFile or SecretEnv holds the signing key (at most one; none:
	// unsigned, which is allowed only for http://127.0.0.1 test receivers
	// and otherwise refused).
	SecretFile string `yaml:"secret_file"`
	SecretEnv  string `yaml:"secret_env"`
	// Timeout of one request. Default 10s.
	Timeout time.Duration `yaml:"timeout"`
	TLS     TLSConfig     `yaml:"tls"`
}

// TLSConfig is the HTTP destinations' TLS trust.
type TLSConfig struct {
	// CAFile is a PEM bundle to trust instead of the system's. Default
	// none.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile: an optional client certificate.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// InsecureSkipVerify turns verification off: tests only. Default false.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

// KafkaConfig is a Kafka topic of alerts.
type KafkaConfig struct {
	// Brokers (host:port). Required.
	Brokers []string `yaml:"brokers"`
	// Topic. Default apitap.alerts.
	Topic string `yaml:"topic"`
	// WriteTimeout of one write. Default 10s.
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// TLS and SASL as for the exchanges topic (docs/config.md, kafka.tls.*
	// and kafka.sasl.*).
	TLS  kafka.TLSConfig  `yaml:"tls"`
	SASL kafka.SASLConfig `yaml:"sasl"`
}

// Default values, also documented on the fields.
const (
	DefaultSpoolDir      = "apitap-spool"
	DefaultSpoolMaxBytes = 64 << 20
	DefaultDrainTimeout  = 10 * time.Second
	DefaultRate          = 50
	DefaultBurst         = 200
	DefaultBatchSize     = 100
	DefaultRetryMin      = time.Second
	DefaultRetryMax      = time.Minute
	DefaultTimeout       = 10 * time.Second
	DefaultAlertsTopic   = "apitap.alerts"
)

// DefaultConfig returns the documented defaults: no destinations.
func DefaultConfig() Config {
	return Config{PolicyConfig: alert.DefaultPolicy(), SpoolDir: DefaultSpoolDir, SpoolMaxBytes: DefaultSpoolMaxBytes,
		DrainTimeout: DefaultDrainTimeout}
}

// Enabled reports whether any destination is configured.
func (c *Config) Enabled() bool { return len(c.Destinations) > 0 }

// withDefaults fills a destination's zero values.
func (d DestinationConfig) withDefaults() DestinationConfig {
	if d.Format == "" {
		d.Format = "json"
		if d.Type == "syslog" {
			d.Format = "cef"
		}
	}
	if d.Rate == 0 {
		d.Rate = DefaultRate
	}
	if d.Burst == 0 {
		d.Burst = DefaultBurst
	}
	if d.BatchSize == 0 {
		d.BatchSize = DefaultBatchSize
	}
	if d.RetryMin == 0 {
		d.RetryMin = DefaultRetryMin
	}
	if d.RetryMax == 0 {
		d.RetryMax = DefaultRetryMax
	}
	if d.HEC.Timeout == 0 {
		d.HEC.Timeout = DefaultTimeout
	}
	if d.HEC.Source == "" {
		d.HEC.Source = "apitap"
	}
	if d.HEC.Sourcetype == "" {
		d.HEC.Sourcetype = "apitap:alert"
	}
	if d.Webhook.Timeout == 0 {
		d.Webhook.Timeout = DefaultTimeout
	}
	if d.Kafka.Topic == "" {
		d.Kafka.Topic = DefaultAlertsTopic
	}
	if d.Kafka.WriteTimeout == 0 {
		d.Kafka.WriteTimeout = DefaultTimeout
	}
	if d.Type == "syslog" {
		d.Syslog.Defaults()
	}
	return d
}

// Validate checks the knobs (and that secrets are readable, so a typo
// fails at start, not at the first alert).
func (c *Config) Validate() error {
	var errs []error
	if err := c.PolicyConfig.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.Enabled() && c.SpoolDir == "" {
		errs = append(errs, errors.New("alerts.spool_dir is required"))
	}
	if c.SpoolMaxBytes < 1<<20 {
		errs = append(errs, errors.New("alerts.spool_max_bytes must be >= 1 MiB"))
	}
	if c.DrainTimeout < 0 {
		errs = append(errs, errors.New("alerts.drain_timeout must be >= 0"))
	}
	seen := map[string]bool{}
	for i, d := range c.Destinations {
		if d.Name == "" || strings.ContainsAny(d.Name, `/\. `) {
			errs = append(errs, fmt.Errorf("alerts.destinations[%d].name %q: required, without '/', '\\', '.' or spaces (it names a folder)", i, d.Name))
		} else if seen[d.Name] {
			errs = append(errs, fmt.Errorf("alerts.destinations: name %q twice", d.Name))
		}
		seen[d.Name] = true
		if err := d.withDefaults().validate(); err != nil {
			errs = append(errs, fmt.Errorf("alerts.destinations[%s]: %w", d.Name, err))
		}
	}
	return errors.Join(errs...)
}

func (d DestinationConfig) validate() error {
	var errs []error
	f, err := alert.ParseFormat(d.Format)
	if err != nil {
		errs = append(errs, err)
	}
	textual := f == alert.CEF || f == alert.LEEF
	switch d.Type {
	case "syslog":
		if err == nil && !textual {
			errs = append(errs, fmt.Errorf("format %q: syslog takes cef or leef", d.Format))
		}
		if err := d.Syslog.Validate(); err != nil {
			errs = append(errs, err)
		}
	case "hec", "webhook", "kafka":
		if err == nil && textual {
			errs = append(errs, fmt.Errorf("format %q: %s takes json, ocsf or ecs", d.Format, d.Type))
		}
	default:
		errs = append(errs, fmt.Errorf("type %q: want syslog, hec, webhook or kafka", d.Type))
	}
	switch d.Type {
	case "hec":
		if u, err := url.Parse(d.HEC.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("hec.url %q: want http(s)://host:port", d.HEC.URL))
		}
		if _, err := secret("hec token", d.HEC.TokenFile, d.HEC.TokenEnv, true); err != nil {
			errs = append(errs, err)
		}
	case "webhook":
		u, err := url.Parse(d.Webhook.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("webhook.url %q: want http(s)://host[:port]/path", d.Webhook.URL))
		}
		key, serr := secret("webhook secret", d.Webhook.SecretFile, d.Webhook.SecretEnv, false)
		if serr != nil {
			errs = append(errs, serr)
		} else if key == "" && err == nil && !loopback(u.Hostname()) {
			errs = append(errs, errors.New("webhook: a secret_file or secret_env is required (unsigned webhooks only to a loopback receiver)"))
		}
	case "kafka":
		if len(d.Kafka.Brokers) == 0 {
			errs = append(errs, errors.New("kafka.brokers are required"))
		}
		if err := d.Kafka.TLS.Validate(); err != nil {
			errs = append(errs, err)
		}
		if err := d.Kafka.SASL.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if d.MinSeverity != "" && alert.SeverityLevel(d.MinSeverity) < 0 {
		errs = append(errs, fmt.Errorf("min_severity %q: want info, low, medium, high or critical", d.MinSeverity))
	}
	for _, k := range d.Kinds {
		if !slices.Contains(alert.Kinds, k) {
			errs = append(errs, fmt.Errorf("kinds: %q is not one of %v", k, alert.Kinds))
		}
	}
	if d.Rate <= 0 || d.Burst <= 0 || d.BatchSize <= 0 || d.RetryMin <= 0 || d.RetryMax < d.RetryMin {
		errs = append(errs, errors.New("rate, burst, batch_size, retry_min must be > 0 and retry_max >= retry_min"))
	}
	return errors.Join(errs...)
}

func loopback(host string) bool {
	return host == "localhost" || strings.HasPrefix(host, "127.") || host == "::1"
}

// secret reads a secret from a file (one trailing newline dropped) or an
// environment variable: never from the config itself, so it stays out of
// config repositories, the process list and logs.
func secret(what, file, env string, required bool) (string, error) {
	switch {
	case file != "" && env != "":
		return "", fmt.Errorf("%s: set one of the file and the environment variable, not both", what)
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("%s: %w", what, err)
		}
		s := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
		if s == "" {
			return "", fmt.Errorf("%s: %s is empty", what, file)
		}
		return s, nil
	case env != "":
		v, ok := os.LookupEnv(env)
		if !ok || v == "" {
			return "", fmt.Errorf("%s: environment variable %s is not set", what, env)
		}
		return v, nil
	case required:
		return "", fmt.Errorf("%s: a file or an environment variable is required", what)
	}
	return "", nil
}
