package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/apitap/apitap/internal/testutil"
)

func TestMigrateCommand(t *testing.T) {
	dsn := testutil.ClickHouse(t)
	var out, errb bytes.Buffer
	args := []string{"migrate", "--clickhouse", dsn, "--retention-days", "7", "--log-level", "warn"}
	if err := run(context.Background(), args, &out, &errb); err != nil {
		t.Fatalf("migrate: %v\n%s", err, errb.String())
	}
	for _, want := range []string{"applied 0001_exchanges.sql", "applied 0004_loss.sql", "applied 0005_sensitive.sql", "applied 0006_grpc.sql", "6 migration(s) applied, schema version 6"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("first run lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if err := run(context.Background(), args, &out, &errb); err != nil {
		t.Fatalf("migrate again: %v\n%s", err, errb.String())
	}
	if !strings.Contains(out.String(), "already current (schema version 6)") || strings.Contains(out.String(), "applied 0") {
		t.Fatalf("second run:\n%s", out.String())
	}
}

func TestMigrateUsage(t *testing.T) {
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"migrate", "--help"}, &out, &errb)
	if !errors.Is(err, flag.ErrHelp) || !strings.Contains(errb.String(), "--clickhouse") || !strings.Contains(errb.String(), "APITAP_RETENTION_DAYS") {
		t.Fatalf("migrate --help: %v\n%s", err, errb.String())
	}
	var ue usageError
	if err := run(context.Background(), []string{"migrate", "--clickhouse", "http://127.0.0.1:8123/x"}, &out, &errb); !errors.As(err, &ue) {
		t.Fatalf("an HTTP DSN must be a usage error: %v", err)
	}
	if err := run(context.Background(), []string{"migrate", "--retention-days", "-1"}, &out, &errb); !errors.As(err, &ue) {
		t.Fatalf("negative retention must be a usage error: %v", err)
	}
}

// yamlKeys lists the dotted YAML keys of a config struct (inline structs
// add their fields to the parent's level).
func yamlKeys(prefix string, v reflect.Type) []string {
	var keys []string
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		parts := strings.Split(f.Tag.Get("yaml"), ",")
		tag := parts[0]
		if tag == "-" || !f.IsExported() {
			continue
		}
		if len(parts) > 1 && parts[1] == "inline" {
			keys = append(keys, yamlKeys(prefix, f.Type)...)
			continue
		}
		if tag == "" {
			tag = strings.ToLower(f.Name)
		}
		key := tag
		if prefix != "" {
			key = prefix + "." + tag
		}
		if f.Type.Kind() == reflect.Struct && f.Type.PkgPath() != "time" {
			keys = append(keys, yamlKeys(key, f.Type)...)
			continue
		}
		keys = append(keys, key)
	}
	return keys
}

// Every key and flag of `apitap migrate` is in docs/config.md.
func TestMigrateKnobsDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "docs", "config.md"))
	if err != nil {
		t.Fatal(err)
	}
	keys := yamlKeys("", reflect.TypeOf(migrateConfig{}))
	if len(keys) < 10 {
		t.Fatalf("only %d keys found: %v", len(keys), keys)
	}
	for _, k := range keys {
		if !bytes.Contains(doc, []byte("`"+k+"`")) {
			t.Errorf("docs/config.md does not document `%s`", k)
		}
	}
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	c := defaultMigrateConfig()
	var p string
	bindMigrateFlags(fs, &c, &p)
	fs.VisitAll(func(f *flag.Flag) {
		if !bytes.Contains(doc, []byte("--"+f.Name)) {
			t.Errorf("docs/config.md does not document --%s", f.Name)
		}
	})
}
