package testutil

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// DefaultClickHouse is the server ClickHouse uses when $APITAP_CLICKHOUSE is
// unset.
const DefaultClickHouse = "clickhouse://127.0.0.1:9000"

// ClickHouse returns the DSN of a fresh, uniquely named database on the
// ClickHouse server of $APITAP_CLICKHOUSE (default
// clickhouse://127.0.0.1:9000, native protocol; a database in it is
// ignored), dropped when the test ends. When the server cannot be reached
// the test is skipped, or fails if APITAP_REQUIRE_INTEGRATION=1 (CI with a
// server).
func ClickHouse(t testing.TB) string {
	t.Helper()
	base := os.Getenv("APITAP_CLICKHOUSE")
	if base == "" {
		base = DefaultClickHouse
	}
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		t.Fatalf("APITAP_CLICKHOUSE=%q: want clickhouse://host:port", base)
	}
	opts, err := clickhouse.ParseDSN(base)
	if err != nil {
		t.Fatalf("APITAP_CLICKHOUSE=%q: %v", u.Redacted(), err)
	}
	opts.Auth.Database = "default"
	opts.DialTimeout = 3 * time.Second
	conn, err := clickhouse.Open(opts)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = conn.Exec(ctx, "SELECT 1")
		cancel()
	}
	if err != nil {
		if conn != nil {
			conn.Close()
		}
		msg := fmt.Sprintf("ClickHouse not reachable at %s (set APITAP_CLICKHOUSE to a native-protocol server): %v", u.Redacted(), err)
		if os.Getenv("APITAP_REQUIRE_INTEGRATION") == "1" {
			t.Fatal(msg + "; APITAP_REQUIRE_INTEGRATION=1")
		}
		t.Skip(msg)
	}
	name := testDatabaseName(t.Name())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		conn.Close()
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
		conn.Close()
	})
	u.Path = "/" + name
	return u.String()
}

// testDatabaseName is apitap_test_<test name>_<unique suffix>, letters,
// digits and '_' only.
func testDatabaseName(test string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(test) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
		if b.Len() >= 40 {
			break
		}
	}
	return fmt.Sprintf("apitap_test_%s_%x_%d", b.String(), time.Now().UnixNano(), os.Getpid())
}
