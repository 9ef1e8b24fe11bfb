package migrations_test

import (
	"strings"
	"testing"

	"github.com/apitap/apitap/analyzer/store"
	"github.com/apitap/apitap/schema/migrations"
)

func TestFilesNumberedAndIdempotent(t *testing.T) {
	files, err := migrations.Files()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"0001_exchanges.sql", "0002_endpoints.sql", "0003_findings.sql", "0004_loss.sql", "0005_sensitive.sql", "0006_grpc.sql"}
	if len(files) != len(want) {
		t.Fatalf("%d migrations, want %d", len(files), len(want))
	}
	for i, f := range files {
		if f.Name != want[i] || f.Version != i+1 {
			t.Fatalf("migration %d: %s v%d, want %s", i, f.Name, f.Version, want[i])
		}
	}
	// Every rendering (old and new servers, single and cluster) is made of
	// idempotent statements only.
	for _, version := range []string{"18.16.1", "19.6.2.11", "20.1.2.4", "24.8.1.1"} {
		caps, err := store.CapabilitiesOf(version)
		if err != nil {
			t.Fatal(err)
		}
		for _, cluster := range []string{"", "c1"} {
			cfg := store.DefaultConfig()
			cfg.Cluster = cluster
			for _, f := range files {
				stmts, err := store.Statements(f, cfg, caps)
				if err != nil {
					t.Fatalf("%s for %s: %v", f.Name, version, err)
				}
				n := 1 // the table
				switch f.Version {
				case 5:
					n = 4 // four added columns
				case 6:
					n = 2 // two added columns
				}
				if cluster != "" {
					n *= 2 // the local table and the Distributed table
				}
				if len(stmts) != n {
					t.Fatalf("%s for %s cluster %q: %d statements, want %d", f.Name, version, cluster, len(stmts), n)
				}
				for _, st := range stmts {
					// CREATE ... IF NOT EXISTS, or ADD COLUMN: IF NOT EXISTS
					// where the server has it, else the store takes "column
					// exists" as applied.
					ok := strings.HasPrefix(st, "CREATE TABLE IF NOT EXISTS ") ||
						strings.HasPrefix(st, "ALTER TABLE ") && strings.Count(st, " ADD COLUMN ") == 1 &&
							strings.Contains(st, "IF NOT EXISTS") == caps.AddColumnIfNotExists
					if !ok || strings.Contains(st, ";") {
						t.Errorf("%s for %s: not one idempotent statement:\n%s", f.Name, version, st)
					}
				}
			}
		}
	}
}
