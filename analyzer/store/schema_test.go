package store

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apitap/apitap/internal/testutil"
	"github.com/apitap/apitap/schema/migrations"
)

var update = flag.Bool("update", false, "rewrite the golden DDL files in testdata/")

// render returns every statement of every migration.
func render(t *testing.T, cfg Config, version string) []string {
	t.Helper()
	caps, err := CapabilitiesOf(version)
	if err != nil {
		t.Fatal(err)
	}
	files, err := migrations.Files()
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 6 {
		t.Fatalf("migrations: %d files, want 6", len(files))
	}
	var out []string
	for _, f := range files {
		st, err := Statements(f, cfg, caps)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, st...)
	}
	return out
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("rendered DDL differs from %s (go test -update rewrites it after review):\n%s", path, got)
	}
}

// The same templates render version-gated features for a modern server
// and plain types for 18.16.
func TestRenderVersionGates(t *testing.T) {
	cfg := DefaultConfig()
	cfg.RetentionDays = 30
	modern := strings.Join(render(t, cfg, "24.8.1.1"), ";\n\n") + ";\n"
	golden(t, "ddl-24.8.sql", modern)
	for _, want := range []string{
		"LowCardinality(String)", "CODEC(Delta, ZSTD(1))", "CODEC(DoubleDelta, ZSTD(1))", "DateTime64(3, 'UTC')",
		"TTL toDateTime(time) + INTERVAL 30 DAY", "TTL toDateTime(window_end) + INTERVAL 30 DAY",
		"ENGINE = ReplacingMergeTree\n", "ENGINE = ReplacingMergeTree(version)",
		"PARTITION BY toYYYYMMDD(time)", "ORDER BY (host, time, sensor_id, sequence)",
		"ORDER BY (host, method, endpoint, operation, port)", "ORDER BY (kind, type, host, id)", "ORDER BY (sensor_id, window_end, sequence)",
		"CREATE TABLE IF NOT EXISTS `apitap`.`exchanges`", "ingested_at     DateTime DEFAULT now()",
	} {
		if !strings.Contains(modern, want) {
			t.Errorf("24.8 DDL lacks %q", want)
		}
	}
	old := strings.Join(render(t, cfg, "18.16.1"), ";\n\n") + ";\n"
	golden(t, "ddl-18.16.sql", old)
	for _, absent := range []string{"LowCardinality", "CODEC", "DateTime64", "TTL", "ON CLUSTER", "Replicated", "Distributed"} {
		if strings.Contains(old, absent) {
			t.Errorf("18.16 DDL contains %q", absent)
		}
	}
	if !strings.Contains(old, "DateTime('UTC')") {
		t.Error("18.16 DDL lacks DateTime('UTC')")
	}
	cfg.RetentionDays = 0
	if s := strings.Join(render(t, cfg, "24.8.1.1"), "\n"); strings.Contains(s, "TTL") {
		t.Error("retention_days 0 must render no TTL")
	}
}

func TestRenderCluster(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Cluster = "analytics"
	stmts := render(t, cfg, "24.8.1.1")
	if len(stmts) != 20 {
		t.Fatalf("cluster mode: %d statements, want 20 (local + Distributed per table and per added column)", len(stmts))
	}
	all := strings.Join(stmts, ";\n\n") + ";\n"
	golden(t, "ddl-24.8-cluster.sql", all)
	for _, want := range []string{
		"CREATE TABLE IF NOT EXISTS `apitap`.`exchanges_local` ON CLUSTER `analytics`",
		"ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/apitap/exchanges_local', '{replica}')",
		"ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/apitap/endpoints_local', '{replica}', version)",
		"CREATE TABLE IF NOT EXISTS `apitap`.`exchanges` ON CLUSTER `analytics` AS `apitap`.`exchanges_local`",
		"ENGINE = Distributed('analytics', 'apitap', 'exchanges_local', cityHash64(sensor_id, sequence))",
		"ENGINE = Distributed('analytics', 'apitap', 'findings_local', cityHash64(id))",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("cluster DDL lacks %q", want)
		}
	}
}

func openTest(t testing.TB, mutate func(*Config)) *Store {
	t.Helper()
	cfg := DefaultConfig()
	cfg.DSN = testutil.ClickHouse(t)
	cfg.RetryMin = 20 * time.Millisecond
	cfg.RetryMax = 200 * time.Millisecond
	if mutate != nil {
		mutate(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := Open(ctx, cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestMigrationReappliedAfterInterruption: a migration whose statements
// ran but whose record was not written (a crash in between) is applied
// again without error, also where the server has no ADD COLUMN IF NOT
// EXISTS (18.16: the "column exists" error means applied).
func TestMigrationReappliedAfterInterruption(t *testing.T) {
	s := openTest(t, nil)
	ctx := context.Background()
	book := quoteIdent(s.Database()) + "." + MigrationsTable
	// A pooled connection the server dropped fails once (seen under load,
	// "use of closed network connection"); the store's own writes retry,
	// and so does this statement.
	var err error
	for range 3 {
		if err = s.Conn().Exec(ctx, "ALTER TABLE "+book+" DELETE WHERE version = 6"); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n uint64
		if err := s.Conn().QueryRow(ctx, "SELECT count() FROM "+book+" WHERE version = 6").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the mutation did not remove the record")
		}
		time.Sleep(50 * time.Millisecond)
	}
	applied, err := s.Migrate(ctx)
	if err != nil || !slices.Equal(applied, []int{6}) {
		t.Fatalf("re-applied %v, %v; want [6]", applied, err)
	}
}

func TestMigrateTwiceIsNoOp(t *testing.T) {
	s := openTest(t, func(c *Config) { c.MigrateOnStart = false })
	ctx := context.Background()
	applied, err := s.Migrate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(applied, []int{1, 2, 3, 4, 5, 6}) {
		t.Fatalf("first Migrate applied %v, want [1 2 3 4 5 6]", applied)
	}
	again, err := s.Migrate(ctx)
	if err != nil || len(again) != 0 {
		t.Fatalf("second Migrate applied %v, %v; want nothing", again, err)
	}
	recorded, err := s.AppliedMigrations(ctx)
	if err != nil || !slices.Equal(recorded, []int{1, 2, 3, 4, 5, 6}) {
		t.Fatalf("recorded %v, %v", recorded, err)
	}
	var names, sums uint64
	if err := s.Conn().QueryRow(ctx, "SELECT countIf(name LIKE '000%.sql'), countIf(length(checksum) = 64) FROM "+
		quoteIdent(s.Database())+"."+MigrationsTable).Scan(&names, &sums); err != nil || names != 6 || sums != 6 {
		t.Fatalf("bookkeeping rows: names %d checksums %d, %v", names, sums, err)
	}
	// Every column the INSERTs name exists, plus ingested_at where promised.
	for tb := range numTables {
		rows, err := s.Conn().Query(ctx, "SELECT name, engine FROM system.tables WHERE database = ? AND name = ?", s.Database(), tableNames[tb])
		if err != nil {
			t.Fatal(err)
		}
		var name, engine string
		if !rows.Next() {
			t.Fatalf("table %s missing", tableNames[tb])
		}
		rows.Scan(&name, &engine)
		rows.Close()
		if engine != "ReplacingMergeTree" {
			t.Errorf("%s engine %s", name, engine)
		}
		var cols []string
		crs, err := s.Conn().Query(ctx, "SELECT name FROM system.columns WHERE database = ? AND table = ?", s.Database(), tableNames[tb])
		if err != nil {
			t.Fatal(err)
		}
		for crs.Next() {
			var c string
			crs.Scan(&c)
			cols = append(cols, c)
		}
		crs.Close()
		want := slices.Clone(tableColumns[tb])
		switch tb {
		case tExchanges: // created with the table (0001), before the columns added since
			i := slices.Index(want, "flags") + 1
			want = slices.Insert(want, i, "ingested_at")
		case tLoss:
			want = append(want, "ingested_at")
		}
		if !slices.Equal(cols, want) {
			t.Errorf("%s columns %v, want %v", tableNames[tb], cols, want)
		}
	}
	// A second store on the same database (MigrateOnStart) finds it current.
	cfg := s.cfg
	cfg.MigrateOnStart = true
	s2, err := Open(ctx, cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	s2.Close()
	if recorded, _ := s.AppliedMigrations(ctx); len(recorded) != 6 {
		t.Fatalf("after a second Open: %v", recorded)
	}
}

// The cluster DDL (ReplicatedReplacingMergeTree, ON CLUSTER, Distributed)
// cannot run on a single server without ZooKeeper and distributed DDL, but
// the server parses each statement first: any error but a syntax error
// (code 62) means the statement is valid SQL for this version.
func TestClusterDDLParses(t *testing.T) {
	s := openTest(t, func(c *Config) { c.MigrateOnStart = false })
	cfg := s.cfg
	cfg.Cluster = "test_shard_localhost"
	ctx := context.Background()
	const syntaxError = 62
	// control: a real syntax error in an ON CLUSTER statement is code 62
	err := s.Conn().Exec(ctx, "CREATE TABLE IF NOT EXISTS "+quoteIdent(s.Database())+".x ON CLUSTER test_shard_localhost (a UInt8) ENGINE = ReplacingMergeTree ORDER BY a ORDER BY a")
	if exceptionCode(err) != syntaxError {
		t.Fatalf("control statement: %v, want a syntax error (62)", err)
	}
	files, _ := migrations.Files()
	n := 0
	for _, f := range files {
		stmts, err := Statements(f, cfg, s.Capabilities())
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range stmts {
			n++
			err := s.Conn().Exec(ctx, st)
			if err == nil {
				continue // a server with distributed DDL
			}
			if exceptionCode(err) == syntaxError || exceptionCode(err) == 0 {
				t.Errorf("%s: %v\n%s", f.Name, err, st)
			} else {
				t.Logf("%s: not a syntax error (code %d): %v", f.Name, exceptionCode(err), err)
			}
		}
	}
	if n != 20 {
		t.Fatalf("%d statements, want 20", n)
	}
}

var replicatedEngine = regexp.MustCompile(`ReplicatedReplacingMergeTree\('[^']*', '[^']*'(, version)?\)`)

// The cluster write path without ZooKeeper: the cluster DDL with plain
// ReplacingMergeTree local tables and without ON CLUSTER, so the
// Distributed tables over the server's built-in one-shard cluster
// (test_shard_localhost) are real. A store in cluster mode inserts through
// them (insert_distributed_sync) and a replay still collapses under FINAL.
func TestClusterWritePathSingleShard(t *testing.T) {
	s := openTest(t, func(c *Config) { c.MigrateOnStart = false })
	cfg := s.cfg
	cfg.Cluster = "test_shard_localhost"
	ctx := context.Background()
	files, _ := migrations.Files()
	for _, f := range files {
		stmts, err := Statements(f, cfg, s.Capabilities())
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range stmts {
			st = strings.Replace(st, " ON CLUSTER `test_shard_localhost`", "", 1)
			st = replicatedEngine.ReplaceAllStringFunc(st, func(m string) string {
				if strings.HasSuffix(m, ", version)") {
					return "ReplacingMergeTree(version)"
				}
				return "ReplacingMergeTree"
			})
			if err := s.Conn().Exec(ctx, st); err != nil {
				t.Fatalf("%s: %v\n%s", f.Name, err, st)
			}
		}
	}
	// Open tolerates the failed CREATE DATABASE ... ON CLUSTER (no
	// distributed DDL here) because the database exists.
	cs, err := Open(ctx, cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	r := fullResult()
	for range 2 {
		if err := cs.Write(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	for table, want := range map[string]int{"exchanges": len(r.Exchanges), "endpoints": len(r.Endpoints), "findings": len(r.Findings), "loss": len(r.Losses)} {
		if got := finalCount(t, cs, table); got != uint64(want) {
			t.Errorf("%s (Distributed) FINAL: %d rows, want %d", table, got, want)
		}
		if got := finalCount(t, cs, table+"_local"); got != uint64(want) {
			t.Errorf("%s_local FINAL: %d rows, want %d", table, got, want)
		}
	}
}
