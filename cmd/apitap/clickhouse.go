package main

import (
	"context"
	"flag"

	"go.uber.org/zap"

	"github.com/apitap/apitap/analyzer/store"
)

// clickhouseConfig is the "clickhouse" section shared by analyzer, run and
// migrate (store.Config: docs/storage.md).
type clickhouseConfig struct {
	store.Config `yaml:",inline"`
}

// defaultClickHouse is store's defaults with no DSN: storage is off until a
// DSN is given (the analyzer's own default sets one).
func defaultClickHouse() clickhouseConfig {
	c := clickhouseConfig{store.DefaultConfig()}
	c.DSN = ""
	return c
}

func (c *clickhouseConfig) validate() error {
	if c.DSN == "" {
		return nil
	}
	return c.Config.Validate()
}

func bindClickHouseFlags(fs *flag.FlagSet, c *clickhouseConfig) {
	fs.StringVar(&c.DSN, "clickhouse", c.DSN, "ClickHouse DSN, native protocol: clickhouse://host:9000/database (created if missing)")
	fs.StringVar(&c.Cluster, "cluster", c.Cluster, "ClickHouse cluster name: replicated tables ON CLUSTER + Distributed (docs/storage.md)")
	fs.IntVar(&c.RetentionDays, "retention-days", c.RetentionDays, "days of exchanges, findings and loss kept (0: forever; needs ClickHouse >= 19.6)")
	fs.BoolVar(&c.MigrateOnStart, "migrate", c.MigrateOnStart, "apply pending schema migrations at start")
}

func openClickHouse(ctx context.Context, c clickhouseConfig, log *zap.Logger) (*store.Store, error) {
	return store.Open(ctx, c.Config, log)
}
