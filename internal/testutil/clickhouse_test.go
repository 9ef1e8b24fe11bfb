package testutil

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// ClickHouse gives each test its own database and drops it afterwards.
func TestClickHouseFreshDatabase(t *testing.T) {
	var dsn string
	t.Run("inner", func(t *testing.T) {
		dsn = ClickHouse(t)
		opts, err := clickhouse.ParseDSN(dsn)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(opts.Auth.Database, "apitap_test_testclickhousefreshdatabase_inner_") {
			t.Fatalf("database %q", opts.Auth.Database)
		}
		conn, err := clickhouse.Open(opts)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if err := conn.Exec(context.Background(), "CREATE TABLE t (x UInt8) ENGINE = Memory"); err != nil {
			t.Fatalf("the database is not usable: %v", err)
		}
	})
	if dsn == "" {
		t.Skip("no ClickHouse")
	}
	u, _ := url.Parse(dsn)
	name := strings.TrimPrefix(u.Path, "/")
	opts, _ := clickhouse.ParseDSN(dsn)
	opts.Auth.Database = "default"
	conn, err := clickhouse.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var n uint64
	if err := conn.QueryRow(context.Background(), "SELECT count() FROM system.databases WHERE name = ?", name).Scan(&n); err != nil || n != 0 {
		t.Fatalf("database %s still exists after the test (%d, %v)", name, n, err)
	}
}

// An unreachable server skips the test (unless integration is required).
func TestClickHouseUnreachableSkips(t *testing.T) {
	t.Setenv("APITAP_CLICKHOUSE", "clickhouse://127.0.0.1:1")
	t.Setenv("APITAP_REQUIRE_INTEGRATION", "")
	skipped := false
	t.Run("inner", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		ClickHouse(t)
	})
	if !skipped {
		t.Fatal("an unreachable server must skip the test")
	}
}
