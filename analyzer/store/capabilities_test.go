package store

import (
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2"
)

func TestCapabilitiesOf(t *testing.T) {
	all := Capabilities{LowCardinality: true, Codecs: true, DateTime64: true, TTL: true, AddColumnIfNotExists: true}
	cases := []struct {
		version string
		want    Capabilities
	}{
		{"18.16.1", Capabilities{}},
		{"19.5.4.22", Capabilities{}},
		{"19.6.2.11", Capabilities{TTL: true}},
		{"19.17.9.60", Capabilities{TTL: true}},
		{"20.1.2.4", all},
		{"20.3.21.2-lts", all},
		{"21.8-lts", all},
		{"23.3.1.2823", all},
		{"24.8.1.1", all},
		{" 25.10.1.3832 ", all},
	}
	for _, c := range cases {
		got, err := CapabilitiesOf(c.version)
		if err != nil || got != c.want {
			t.Errorf("CapabilitiesOf(%q) = %+v, %v; want %+v", c.version, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "24", "x.y.z", "24.x", "-1.2"} {
		if _, err := CapabilitiesOf(bad); err == nil {
			t.Errorf("CapabilitiesOf(%q): want an error", bad)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	bad := []func(*Config){
		func(c *Config) { c.DSN = "http://127.0.0.1:8123/apitap" },
		func(c *Config) { c.DSN = "127.0.0.1:9000" },
		func(c *Config) { c.DSN = "clickhouse://127.0.0.1:9000/ap'itap" },
		func(c *Config) { c.Cluster = "a b" },
		func(c *Config) { c.Cluster = "c"; c.ReplicaPath = "/x/'y" },
		func(c *Config) { c.RetentionDays = -1 },
		func(c *Config) { c.RetryMin = 0 },
		func(c *Config) { c.RetryMax = c.RetryMin / 2 },
		func(c *Config) { c.WriteTimeout = 0 },
		func(c *Config) { c.Compression = "snappy" },
	}
	for i, f := range bad {
		c := DefaultConfig()
		f(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("case %d: %+v accepted", i, c)
		}
	}
	c = DefaultConfig()
	c.DSN = "clickhouse://u:p@h1:9000,h2:9000/metrics?dial_timeout=1s"
	if err := c.Validate(); err != nil {
		t.Fatalf("multi-host DSN: %v", err)
	}
}

// compression "auto" (the default) is none when every server is on a
// loopback address, lz4 otherwise; the other values are taken as given.
func TestCompressionAuto(t *testing.T) {
	for _, tc := range []struct {
		compression, dsn string
		want             clickhouse.CompressionMethod
	}{
		{"auto", "clickhouse://127.0.0.1:9000/apitap", clickhouse.CompressionNone},
		{"auto", "clickhouse://localhost:9000,[::1]:9001,127.0.0.2:9000/apitap", clickhouse.CompressionNone},
		{"auto", "clickhouse://127.0.0.1:9000,ch2:9000/apitap", clickhouse.CompressionLZ4},
		{"auto", "clickhouse://10.1.2.3:9000/apitap", clickhouse.CompressionLZ4},
		{"lz4", "clickhouse://127.0.0.1:9000/apitap", clickhouse.CompressionLZ4},
		{"zstd", "clickhouse://10.1.2.3:9000/apitap", clickhouse.CompressionZSTD},
		{"none", "clickhouse://10.1.2.3:9000/apitap", clickhouse.CompressionNone},
	} {
		c := DefaultConfig()
		c.DSN, c.Compression = tc.dsn, tc.compression
		opts, err := c.options()
		if err != nil {
			t.Fatal(err)
		}
		got := clickhouse.CompressionNone
		if opts.Compression != nil {
			got = opts.Compression.Method
		}
		if got != tc.want {
			t.Errorf("%s %s: %v, want %v", tc.compression, tc.dsn, got, tc.want)
		}
	}
}
