package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/apitap/apitap/analyzer/store"
	"github.com/apitap/apitap/schema/migrations"
)

// migrateConfig is the whole configuration of `apitap migrate`; its YAML
// form (keys log and clickhouse) is documented in docs/config.md.
type migrateConfig struct {
	Log logConfig `yaml:"log"`
	// ClickHouse is the store: server, database, cluster, retention
	// (docs/storage.md). migrate_on_start is ignored: migrating is the
	// command's job.
	ClickHouse clickhouseConfig `yaml:"clickhouse"`
}

func defaultMigrateConfig() migrateConfig {
	return migrateConfig{
		Log:        logConfig{Level: "info", Format: "auto"},
		ClickHouse: clickhouseConfig{store.DefaultConfig()},
	}
}

const migrateUsage = `Usage: apitap migrate [--clickhouse DSN] [--cluster NAME] [--retention-days N] [flags]

Creates the ClickHouse database and tables of the analyzer (docs/storage.md):
applies the numbered migrations not yet recorded in apitap_migrations, in
order, rendered for the server's version. Safe to run again: a current
schema is left as it is.

Flags:
`

// bindMigrateFlags binds the ClickHouse knobs that shape the schema (the
// analyzer's --migrate has no meaning here); the rest are set in the YAML
// file (docs/config.md).
func bindMigrateFlags(fs *flag.FlagSet, c *migrateConfig, configPath *string) {
	ch := &c.ClickHouse
	fs.StringVar(configPath, "config", "", "YAML configuration file")
	fs.StringVar(&ch.DSN, "clickhouse", ch.DSN, "ClickHouse DSN, native protocol: clickhouse://[user[:password]@]host:9000/database (created if missing)")
	fs.StringVar(&ch.Cluster, "cluster", ch.Cluster, "create the tables ON CLUSTER: replicated tables behind Distributed tables (docs/storage.md)")
	fs.IntVar(&ch.RetentionDays, "retention-days", ch.RetentionDays, "days of exchanges, findings and loss kept (0: forever; needs ClickHouse >= 19.6; applies when tables are created)")
	fs.StringVar(&c.Log.Level, "log-level", c.Log.Level, "log level: debug, info, warn, error")
	fs.StringVar(&c.Log.Format, "log-format", c.Log.Format, "log format: auto, json, console")
}

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	l := loader[migrateConfig]{name: "migrate", defaults: defaultMigrateConfig, bind: bindMigrateFlags}
	cfg, log, err := setup(l, args, stderr, migrateUsage)
	if err != nil {
		return err
	}
	defer log.Sync()
	sc := cfg.ClickHouse.Config
	sc.MigrateOnStart = false // applied below, to report what was done
	s, err := store.Open(ctx, sc, log)
	if err != nil {
		return err
	}
	defer s.Close()
	applied, err := s.Migrate(ctx)
	files, ferr := migrations.Files()
	names := map[int]string{}
	for _, f := range files {
		names[f.Version] = f.Name
	}
	for _, v := range applied {
		fmt.Fprintf(stdout, "applied %s\n", names[v])
	}
	if err := errors.Join(err, ferr); err != nil {
		return err
	}
	where := fmt.Sprintf("database %s on ClickHouse %s", s.Database(), s.Version())
	if cfg.ClickHouse.Cluster != "" {
		where += ", cluster " + cfg.ClickHouse.Cluster
	}
	latest := len(files)
	if len(applied) == 0 {
		fmt.Fprintf(stdout, "%s: already current (schema version %d)\n", where, latest)
	} else {
		fmt.Fprintf(stdout, "%s: %d migration(s) applied, schema version %d\n", where, len(applied), latest)
	}
	return nil
}
