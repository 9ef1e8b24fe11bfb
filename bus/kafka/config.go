package kafka

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/compress"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"
)

// Config is the user configuration of the Kafka publisher (YAML key
// "kafka"). Every field's comment states its default; DefaultConfig returns
// them. docs/kafka.md documents each knob.
type Config struct {
	// Brokers are the bootstrap brokers, host:port. Required, no default.
	Brokers []string `yaml:"brokers"`
	// Topic receives exchanges and loss records. Default "apitap.exchanges".
	Topic string `yaml:"topic"`
	// ClientID is the Kafka client id sent to the brokers (quotas, broker
	// logs). Default "apitap-sensor".
	ClientID string `yaml:"client_id"`

	// BatchSize is the largest number of messages in one produce batch per
	// partition. Default 1000.
	BatchSize int `yaml:"batch_size"`
	// BatchBytes is the largest produce batch per partition, in bytes before
	// compression; it is also the largest single record: a record that does
	// not fit is dropped and counted ("too_large"). Keep it at or below the
	// topic's max.message.bytes. Default 1 MiB.
	BatchBytes int64 `yaml:"batch_bytes"`
	// BatchTimeout is how long a partition's batch may wait to fill before
	// it is sent. Default 50ms.
	BatchTimeout time.Duration `yaml:"batch_timeout"`
	// Compression is the record-batch codec: "zstd", "lz4", "snappy",
	// "gzip" or "none". Default "zstd".
	Compression string `yaml:"compression"`
	// CompressionLevel trades the sensor's CPU for bytes on the wire, for
	// zstd and gzip: "fastest" (zstd level 1, gzip 1), "default" (zstd 3,
	// gzip 6) or "better" (zstd ~7, gzip 9). lz4, snappy and none take
	// only "default". Default "default" (docs/kafka.md, "Performance").
	CompressionLevel string `yaml:"compression_level"`
	// RequiredAcks is "all" (every in-sync replica), "one" (the leader) or
	// "none" (fire and forget: failures are invisible). Default "all".
	RequiredAcks string `yaml:"required_acks"`
	// WriteTimeout bounds one produce request (the broker is given half of
	// it), and one read of the topic's metadata. Default 10s.
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// MaxAttempts is how many times a batch is tried (temporary and network
	// errors only) before its records are counted as lost
	// ("write_failed"). Default 3.
	MaxAttempts int `yaml:"max_attempts"`
	// DialTimeout bounds connecting (and the TLS and SASL handshakes) to a
	// broker. Default 5s.
	DialTimeout time.Duration `yaml:"dial_timeout"`
	// MetadataTTL is how often the cluster layout (brokers, partitions,
	// leaders) is refreshed; a cluster unreachable since start is noticed
	// within it once it comes up. A produce that fails because the layout
	// is stale (a moved leader, a broker gone) refreshes it at once.
	// Default 6s.
	MetadataTTL time.Duration `yaml:"metadata_ttl"`

	// QueueRecords bounds the records held by the publisher: queued in
	// front of the Kafka client plus in flight inside it. A record that
	// would exceed it is dropped and counted ("queue_full"). Default 100000.
	QueueRecords int `yaml:"queue_records"`
	// QueueBytes bounds the encoded bytes (keys and values) of the same
	// records. Default 64 MiB.
	QueueBytes int64 `yaml:"queue_bytes"`
	// LossInterval is the shortest time between two reports of the
	// publisher's own losses (one flow.Loss record per cause). Losses are
	// reported only once Kafka accepts writes again. Default 1s.
	LossInterval time.Duration `yaml:"loss_interval"`

	// TLS configures encryption to the brokers. Default: disabled.
	TLS TLSConfig `yaml:"tls"`
	// SASL configures authentication. Default: disabled.
	SASL SASLConfig `yaml:"sasl"`

	_ struct{} // prevent unkeyed literals
}

// TLSConfig configures TLS to the brokers.
type TLSConfig struct {
	// Enable turns TLS on. Default false. The other fields imply nothing
	// without it.
	Enable bool `yaml:"enable"`
	// CAFile is a PEM bundle of the CAs that sign the brokers'
	// certificates. Default: the system roots.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are the PEM client certificate and key for
	// mutual TLS; both or neither. Default: none.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ServerName overrides the name checked in the brokers' certificates.
	// Default: the host of the address dialled.
	ServerName string `yaml:"server_name"`
	// InsecureSkipVerify accepts any broker certificate. Tests only.
	// Default false.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

// SASLConfig configures SASL authentication. The password is never a plain
// value: it is read from a file or from an environment variable, so it
// does not appear in a config file, the command line or the process list.
type SASLConfig struct {
	// Mechanism is "PLAIN", "SCRAM-SHA-256" or "SCRAM-SHA-512"; empty
	// disables SASL. Default empty. PLAIN sends the password in clear:
	// use it only with TLS.
	Mechanism string `yaml:"mechanism"`
	// Username is the SASL user. Required with a mechanism.
	Username string `yaml:"username"`
	// PasswordFile is a file holding the password (one trailing newline is
	// ignored). Exactly one of PasswordFile and PasswordEnv is required.
	PasswordFile string `yaml:"password_file"`
	// PasswordEnv names the environment variable holding the password.
	PasswordEnv string `yaml:"password_env"`
}

// Default values, also documented on the fields.
const (
	DefaultTopic        = "apitap.exchanges"
	DefaultClientID     = "apitap-sensor"
	DefaultBatchSize    = 1000
	DefaultBatchBytes   = 1 << 20
	DefaultBatchTimeout = 50 * time.Millisecond
	DefaultCompression  = "zstd"
	DefaultLevel        = "default"
	DefaultRequiredAcks = "all"
	DefaultWriteTimeout = 10 * time.Second
	DefaultMaxAttempts  = 3
	DefaultDialTimeout  = 5 * time.Second
	DefaultMetadataTTL  = 6 * time.Second
	DefaultQueueRecords = 100_000
	DefaultQueueBytes   = 64 << 20
	DefaultLossInterval = time.Second
)

// DefaultConfig returns the documented defaults. Brokers stays empty.
func DefaultConfig() Config {
	return Config{
		Topic:            DefaultTopic,
		ClientID:         DefaultClientID,
		BatchSize:        DefaultBatchSize,
		BatchBytes:       DefaultBatchBytes,
		BatchTimeout:     DefaultBatchTimeout,
		Compression:      DefaultCompression,
		CompressionLevel: DefaultLevel,
		RequiredAcks:     DefaultRequiredAcks,
		WriteTimeout:     DefaultWriteTimeout,
		MaxAttempts:      DefaultMaxAttempts,
		DialTimeout:      DefaultDialTimeout,
		MetadataTTL:      DefaultMetadataTTL,
		QueueRecords:     DefaultQueueRecords,
		QueueBytes:       DefaultQueueBytes,
		LossInterval:     DefaultLossInterval,
	}
}

var compressions = map[string]compress.Compression{
	"none":   compress.None,
	"gzip":   compress.Gzip,
	"snappy": compress.Snappy,
	"lz4":    compress.Lz4,
	"zstd":   compress.Zstd,
}

var acks = map[string]kafkago.RequiredAcks{
	"all":  kafkago.RequireAll,
	"one":  kafkago.RequireOne,
	"none": kafkago.RequireNone,
}

// Validate reports every problem at once. It does not read files or the
// environment; NewPublisher does, and fails on what it cannot load.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf("kafka: "+format, a...)) }
	if len(c.Brokers) == 0 {
		add("no brokers")
	}
	for _, b := range c.Brokers {
		if _, port, err := net.SplitHostPort(b); err != nil || port == "" {
			add("broker %q is not host:port", b)
		}
	}
	if c.Topic == "" || len(c.Topic) > 249 || strings.Trim(c.Topic, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != "" {
		add("topic %q is not a valid Kafka topic name", c.Topic)
	}
	if c.BatchSize < 1 {
		add("batch_size %d must be >= 1", c.BatchSize)
	}
	if c.BatchBytes < 1024 || c.BatchBytes > 1<<30 {
		add("batch_bytes %d out of range [1 KiB, 1 GiB]", c.BatchBytes)
	}
	if c.BatchTimeout <= 0 {
		add("batch_timeout must be positive")
	}
	if _, ok := compressions[c.Compression]; !ok {
		add("compression %q: want none, gzip, snappy, lz4 or zstd", c.Compression)
	}
	switch c.CompressionLevel {
	case "default":
	case "fastest", "better":
		if c.Compression != "zstd" && c.Compression != "gzip" {
			add("compression_level %q: only zstd and gzip have levels (compression %q)", c.CompressionLevel, c.Compression)
		}
	default:
		add("compression_level %q: want fastest, default or better", c.CompressionLevel)
	}
	if _, ok := acks[c.RequiredAcks]; !ok {
		add("required_acks %q: want all, one or none", c.RequiredAcks)
	}
	if c.WriteTimeout <= 0 || c.DialTimeout <= 0 || c.MetadataTTL <= 0 || c.LossInterval <= 0 {
		add("write_timeout, dial_timeout, metadata_ttl and loss_interval must be positive")
	}
	if c.MaxAttempts < 1 {
		add("max_attempts %d must be >= 1", c.MaxAttempts)
	}
	if c.QueueRecords < 1 {
		add("queue_records %d must be >= 1", c.QueueRecords)
	}
	if c.QueueBytes < c.BatchBytes {
		add("queue_bytes %d must be >= batch_bytes %d (the largest record)", c.QueueBytes, c.BatchBytes)
	}
	if err := c.TLS.validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.SASL.validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (t *TLSConfig) validate() error {
	if !t.Enable {
		return nil
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		return errors.New("kafka: tls cert_file and key_file go together")
	}
	return nil
}

func (s *SASLConfig) validate() error {
	var errs []error
	switch s.Mechanism {
	case "":
		return nil
	case "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
	default:
		errs = append(errs, fmt.Errorf("kafka: sasl mechanism %q: want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", s.Mechanism))
	}
	if s.Username == "" {
		errs = append(errs, errors.New("kafka: sasl username is required"))
	}
	if (s.PasswordFile == "") == (s.PasswordEnv == "") {
		errs = append(errs, errors.New("kafka: sasl needs exactly one of password_file and password_env"))
	}
	return errors.Join(errs...)
}

// tlsConfig loads the certificates.
func (t *TLSConfig) tlsConfig() (*tls.Config, error) {
	if !t.Enable {
		return nil, nil
	}
	tc := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         t.ServerName,
		InsecureSkipVerify: t.InsecureSkipVerify, //nolint:gosec // explicit opt-in, documented as tests only
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("kafka: tls ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("kafka: tls ca_file %s: no PEM certificates", t.CAFile)
		}
		tc.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("kafka: tls client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// mechanism resolves the password and builds the SASL mechanism.
func (s *SASLConfig) mechanism() (sasl.Mechanism, error) {
	if s.Mechanism == "" {
		return nil, nil
	}
	var pass string
	if s.PasswordFile != "" {
		b, err := os.ReadFile(s.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("kafka: sasl password_file: %w", err)
		}
		pass = strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	} else {
		v, ok := os.LookupEnv(s.PasswordEnv)
		if !ok {
			return nil, fmt.Errorf("kafka: sasl password_env: %s is not set", s.PasswordEnv)
		}
		pass = v
	}
	if pass == "" {
		return nil, errors.New("kafka: sasl password is empty")
	}
	switch s.Mechanism {
	case "PLAIN":
		return plain.Mechanism{Username: s.Username, Password: pass}, nil
	case "SCRAM-SHA-256":
		return scram.Mechanism(scram.SHA256, s.Username, pass)
	case "SCRAM-SHA-512":
		return scram.Mechanism(scram.SHA512, s.Username, pass)
	}
	return nil, fmt.Errorf("kafka: sasl mechanism %q unsupported", s.Mechanism)
}

// Load builds the TLS client configuration (nil when TLS is off), for
// other Kafka clients of apitap (the alerts topic) that share these knobs.
func (t *TLSConfig) Load() (*tls.Config, error) { return t.tlsConfig() }

// Validate checks the TLS knobs.
func (t *TLSConfig) Validate() error { return t.validate() }

// Load resolves the password and builds the SASL mechanism (nil when SASL
// is off).
func (s *SASLConfig) Load() (sasl.Mechanism, error) { return s.mechanism() }

// Validate checks the SASL knobs.
func (s *SASLConfig) Validate() error { return s.validate() }
