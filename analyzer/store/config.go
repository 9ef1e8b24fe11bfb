// Package store writes the analyzer's results to ClickHouse: the schema
// (schema/migrations, rendered for the server's version and for cluster
// mode), the migrations, and the analyzer.Sink that inserts each Result with
// one columnar batch per table and retries until ClickHouse takes it.
// docs/storage.md describes the tables and the failure behaviour.
package store

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// Config is the user configuration of the ClickHouse store (YAML key
// "clickhouse"). Every field's comment states its default; DefaultConfig
// returns them. docs/config.md and docs/storage.md document each knob.
type Config struct {
	// DSN locates the server and the database, native protocol only:
	// clickhouse://[user[:password]@]host:port[,host:port...]/database[?param=value].
	// The database is created when missing. Parameters are those of
	// clickhouse-go (dial_timeout, secure, ...); unknown ones are passed
	// to the server as settings. Default "clickhouse://127.0.0.1:9000/apitap".
	DSN string `yaml:"dsn"`
	// Cluster, when set, creates every table ON CLUSTER as a
	// ReplicatedReplacingMergeTree "<table>_local" with a Distributed table
	// "<table>" in front of it, and inserts synchronously through the
	// Distributed table. Default "" (a single server).
	Cluster string `yaml:"cluster"`
	// ReplicaPath is the ZooKeeper path of each replicated table (cluster
	// mode only). {database} and {table} are replaced by apitap; other
	// macros ({shard}, ...) are the server's. Default
	// "/clickhouse/tables/{shard}/{database}/{table}".
	ReplicaPath string `yaml:"replica_path"`
	// ReplicaName is the replica name of each replicated table (cluster
	// mode only), usually a server macro. Default "{replica}".
	ReplicaName string `yaml:"replica_name"`
	// RetentionDays is how long exchanges, findings and loss records are
	// kept (a table TTL, set when the tables are created; servers before
	// 19.6 have no TTL and keep everything). 0 keeps everything. Default 30.
	RetentionDays int `yaml:"retention_days"`
	// MigrateOnStart applies the pending migrations when the store opens.
	// Default true.
	MigrateOnStart bool `yaml:"migrate_on_start"`

	// RetryMin is the first wait after a failed insert; each further
	// failure doubles it up to RetryMax. Writes are retried until their
	// context ends, never dropped. Default 200ms.
	RetryMin time.Duration `yaml:"retry_min"`
	// RetryMax caps the wait between two insert attempts. Default 15s.
	RetryMax time.Duration `yaml:"retry_max"`
	// DialTimeout bounds connecting to the server. Default 5s.
	DialTimeout time.Duration `yaml:"dial_timeout"`
	// WriteTimeout bounds one insert attempt (one table of one Result);
	// past it the attempt counts as failed and is retried. Default 60s.
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// Compression is the native protocol's block compression: "lz4",
	// "zstd", "none", or "auto": none when every server of the DSN is on
	// a loopback address (compressing for a local socket only costs CPU on
	// both ends), lz4 otherwise. Default "auto".
	Compression string `yaml:"compression"`

	_ struct{} // prevent unkeyed literals
}

// Default values, also documented on the fields.
const (
	DefaultDSN           = "clickhouse://127.0.0.1:9000/apitap"
	DefaultReplicaPath   = "/clickhouse/tables/{shard}/{database}/{table}"
	DefaultReplicaName   = "{replica}"
	DefaultRetentionDays = 30
	DefaultRetryMin      = 200 * time.Millisecond
	DefaultRetryMax      = 15 * time.Second
	DefaultDialTimeout   = 5 * time.Second
	DefaultWriteTimeout  = 60 * time.Second
	DefaultCompression   = "auto"
)

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{
		DSN:            DefaultDSN,
		ReplicaPath:    DefaultReplicaPath,
		ReplicaName:    DefaultReplicaName,
		RetentionDays:  DefaultRetentionDays,
		MigrateOnStart: true,
		RetryMin:       DefaultRetryMin,
		RetryMax:       DefaultRetryMax,
		DialTimeout:    DefaultDialTimeout,
		WriteTimeout:   DefaultWriteTimeout,
		Compression:    DefaultCompression,
	}
}

var compressions = map[string]clickhouse.CompressionMethod{
	"none": clickhouse.CompressionNone,
	"lz4":  clickhouse.CompressionLZ4,
	"zstd": clickhouse.CompressionZSTD,
	"auto": clickhouse.CompressionLZ4, // or none: see compression
}

// Validate reports every problem at once. It does not connect.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf("clickhouse: "+format, a...)) }
	if opts, err := c.options(); err != nil {
		add("dsn: %v", err)
	} else {
		if !validName(opts.Auth.Database) {
			add("dsn: database %q: want a name of letters, digits, '_' and '-'", opts.Auth.Database)
		}
		if opts.Protocol != clickhouse.Native {
			add("dsn: only the native protocol (clickhouse://) is supported")
		}
	}
	if c.Cluster != "" && !validName(c.Cluster) {
		add("cluster %q: want a name of letters, digits, '_' and '-'", c.Cluster)
	}
	if c.Cluster != "" {
		if c.ReplicaPath == "" || strings.ContainsAny(c.ReplicaPath, `'\`) {
			add("replica_path %q: want a non-empty path without quotes", c.ReplicaPath)
		}
		if c.ReplicaName == "" || strings.ContainsAny(c.ReplicaName, `'\`) {
			add("replica_name %q: want a non-empty name without quotes", c.ReplicaName)
		}
	}
	if c.RetentionDays < 0 {
		add("retention_days %d must be >= 0", c.RetentionDays)
	}
	if c.RetryMin <= 0 || c.RetryMax < c.RetryMin {
		add("retry_min (%v) must be positive and <= retry_max (%v)", c.RetryMin, c.RetryMax)
	}
	if c.DialTimeout <= 0 || c.WriteTimeout <= 0 {
		add("dial_timeout and write_timeout must be positive")
	}
	if _, ok := compressions[c.Compression]; !ok {
		add("compression %q: want auto, lz4, zstd or none", c.Compression)
	}
	return errors.Join(errs...)
}

// options turns the DSN and the knobs into clickhouse-go options.
func (c *Config) options() (*clickhouse.Options, error) {
	if !strings.HasPrefix(c.DSN, "clickhouse://") && !strings.HasPrefix(c.DSN, "tcp://") {
		return nil, errors.New("want clickhouse://host:port/database")
	}
	opts, err := clickhouse.ParseDSN(c.DSN)
	if err != nil {
		return nil, err
	}
	if opts.Auth.Database == "" {
		opts.Auth.Database = "apitap"
	}
	if c.DialTimeout > 0 {
		opts.DialTimeout = c.DialTimeout
	}
	if m := c.compression(opts.Addr); m != clickhouse.CompressionNone {
		opts.Compression = &clickhouse.Compression{Method: m}
	}
	return opts, nil
}

// compression is the block compression for the servers at addrs
// (host:port): Compression, with "auto" resolved.
func (c *Config) compression(addrs []string) clickhouse.CompressionMethod {
	m, ok := compressions[c.Compression]
	if !ok {
		return clickhouse.CompressionNone
	}
	if c.Compression != "auto" {
		return m
	}
	for _, a := range addrs {
		host, _, err := net.SplitHostPort(a)
		if err != nil {
			host = a
		}
		if ip, err := netip.ParseAddr(host); !(err == nil && ip.IsLoopback() || host == "localhost") {
			return clickhouse.CompressionLZ4
		}
	}
	return clickhouse.CompressionNone
}

// validName accepts the identifiers apitap puts in DDL unquoted-safe: the
// database and cluster names are backquoted, and this keeps them free of
// quotes.
func validName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}
