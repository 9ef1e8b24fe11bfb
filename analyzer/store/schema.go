package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"text/template"
	"time"

	"go.uber.org/zap"

	"github.com/apitap/apitap/schema/migrations"
)

// MigrationsTable records the applied migrations in the store's database:
// version, file name, checksum of the file (its template source) and when
// it was applied.
const MigrationsTable = "apitap_migrations"

// schemaParams is what the DDL templates see.
type schemaParams struct {
	Database      string
	Cluster       string
	ReplicaPath   string
	ReplicaName   string
	RetentionDays int
	Caps          Capabilities
}

func quoteIdent(s string) string { return "`" + s + "`" }

// templateFuncs are the helpers the migration files use:
//
//	{{table "t"}}              `db`.`t` (`db`.`t_local` in cluster mode)
//	{{onCluster}}              " ON CLUSTER `c`" in cluster mode
//	{{lc "String"}}            LowCardinality(String) where supported
//	{{codec "Delta, ZSTD(1)"}} " CODEC(Delta, ZSTD(1))" where supported
//	{{datetime}}               DateTime64(3, 'UTC') or DateTime('UTC')
//	{{ttl "col"}}              the retention TTL on col, or nothing
//	{{engine "t" "version"}}   (Replicated)ReplacingMergeTree[(version)]
//	{{distributed "t" "key"}}  the Distributed table in cluster mode
//	{{addColumn "t" "c" "T"}}  ALTER TABLE … ADD COLUMN [IF NOT EXISTS] c T,
//	                           on the Distributed table too in cluster mode
func templateFuncs(p schemaParams) template.FuncMap {
	local := func(t string) string {
		if p.Cluster != "" {
			return t + "_local"
		}
		return t
	}
	onCluster := func() string {
		if p.Cluster == "" {
			return ""
		}
		return " ON CLUSTER " + quoteIdent(p.Cluster)
	}
	return template.FuncMap{
		"table":     func(t string) string { return quoteIdent(p.Database) + "." + quoteIdent(local(t)) },
		"onCluster": onCluster,
		"lc": func(t string) string {
			if p.Caps.LowCardinality {
				return "LowCardinality(" + t + ")"
			}
			return t
		},
		"codec": func(c string) string {
			if p.Caps.Codecs {
				return " CODEC(" + c + ")"
			}
			return ""
		},
		"datetime": func() string {
			if p.Caps.DateTime64 {
				return "DateTime64(3, 'UTC')"
			}
			return "DateTime('UTC')"
		},
		"ttl": func(col string) string {
			if !p.Caps.TTL || p.RetentionDays <= 0 {
				return ""
			}
			return fmt.Sprintf("TTL toDateTime(%s) + INTERVAL %d DAY", col, p.RetentionDays)
		},
		"engine": func(t, version string) string {
			args := []string{}
			name := "ReplacingMergeTree"
			if p.Cluster != "" {
				name = "ReplicatedReplacingMergeTree"
				path := strings.NewReplacer("{database}", p.Database, "{table}", local(t)).Replace(p.ReplicaPath)
				args = append(args, "'"+path+"'", "'"+p.ReplicaName+"'")
			}
			if version != "" {
				args = append(args, version)
			}
			if len(args) == 0 {
				return name
			}
			return name + "(" + strings.Join(args, ", ") + ")"
		},
		"addColumn": func(t, col, typ string) string {
			add := " ADD COLUMN "
			if p.Caps.AddColumnIfNotExists {
				add += "IF NOT EXISTS "
			}
			add += quoteIdent(col) + " " + typ
			out := "ALTER TABLE " + quoteIdent(p.Database) + "." + quoteIdent(local(t)) + onCluster() + add + ";"
			if p.Cluster != "" {
				// The Distributed table stores nothing: no codec.
				if i := strings.Index(add, " CODEC("); i >= 0 {
					add = add[:i]
				}
				out += "\nALTER TABLE " + quoteIdent(p.Database) + "." + quoteIdent(t) + onCluster() + add + ";"
			}
			return out
		},
		"distributed": func(t, key string) string {
			if p.Cluster == "" {
				return ""
			}
			return fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s.%s%s AS %s.%s\nENGINE = Distributed('%s', '%s', '%s', %s);",
				quoteIdent(p.Database), quoteIdent(t), onCluster(), quoteIdent(p.Database), quoteIdent(local(t)),
				p.Cluster, p.Database, local(t), key)
		},
	}
}

// Statements renders migration f for a server with capabilities caps and
// the store configuration cfg (database from the DSN, cluster, retention),
// and splits it into statements. Whole-line comments are dropped.
func Statements(f migrations.File, cfg Config, caps Capabilities) ([]string, error) {
	opts, err := cfg.options()
	if err != nil {
		return nil, fmt.Errorf("clickhouse: dsn: %w", err)
	}
	p := schemaParams{
		Database:      opts.Auth.Database,
		Cluster:       cfg.Cluster,
		ReplicaPath:   cfg.ReplicaPath,
		ReplicaName:   cfg.ReplicaName,
		RetentionDays: cfg.RetentionDays,
		Caps:          caps,
	}
	tmpl, err := template.New(f.Name).Funcs(templateFuncs(p)).Option("missingkey=error").Parse(f.Source)
	if err != nil {
		return nil, fmt.Errorf("migration %s: %w", f.Name, err)
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, p); err != nil {
		return nil, fmt.Errorf("migration %s: %w", f.Name, err)
	}
	return splitStatements(buf.String()), nil
}

// splitStatements splits SQL on a ';' that ends a line, dropping blank
// lines and whole-line "--" comments.
func splitStatements(sql string) []string {
	var out []string
	var cur []string
	flush := func() {
		if s := strings.TrimSpace(strings.Join(cur, "\n")); s != "" {
			out = append(out, s)
		}
		cur = cur[:0]
	}
	for _, line := range strings.Split(sql, "\n") {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "--") {
			continue
		}
		if strings.HasSuffix(t, ";") {
			cur = append(cur, strings.TrimRight(strings.TrimRight(line, " \t\r"), ";"))
			flush()
			continue
		}
		cur = append(cur, strings.TrimRight(line, " \t\r"))
	}
	flush()
	return out
}

func checksum(src string) string {
	sum := sha256.Sum256([]byte(src))
	return hex.EncodeToString(sum[:])
}

type appliedMigration struct {
	name     string
	checksum string
}

// Migrate applies the migrations not yet recorded in apitap_migrations, in
// order, and returns the versions it applied (none: the schema is
// current). Every statement is idempotent, so a migration interrupted
// half-way, or run concurrently by two processes, is simply applied again.
// codeColumnExists is ClickHouse's ILLEGAL_COLUMN, which ADD COLUMN of an
// existing column raises.
const codeColumnExists = 44

func (s *Store) Migrate(ctx context.Context) ([]int, error) {
	files, err := migrations.Files()
	if err != nil {
		return nil, err
	}
	if s.cfg.RetentionDays > 0 && !s.caps.TTL {
		s.log.Warn("this ClickHouse has no table TTL: retention_days is not applied, old partitions must be dropped by hand (docs/storage.md)",
			zap.String("version", s.version), zap.Int("retention_days", s.cfg.RetentionDays))
	}
	book := quoteIdent(s.db) + "." + quoteIdent(MigrationsTable)
	if err := s.conn.Exec(ctx, "CREATE TABLE IF NOT EXISTS "+book+
		" (version UInt32, name String, checksum String, applied_at DateTime) ENGINE = ReplacingMergeTree ORDER BY version"); err != nil {
		return nil, fmt.Errorf("clickhouse: create %s: %w", MigrationsTable, err)
	}
	done, err := s.appliedMigrations(ctx)
	if err != nil {
		return nil, err
	}
	var applied []int
	for _, f := range files {
		sum := checksum(f.Source)
		if m, ok := done[f.Version]; ok {
			if m.checksum != sum {
				s.log.Warn("migration changed since it was applied; not applied again (a change needs a new migration)",
					zap.Int("version", f.Version), zap.String("file", f.Name), zap.String("applied_as", m.name))
			}
			continue
		}
		stmts, err := Statements(f, s.cfg, s.caps)
		if err != nil {
			return applied, err
		}
		for _, st := range stmts {
			if err := s.conn.Exec(ctx, st); err != nil {
				// A server without ADD COLUMN IF NOT EXISTS: a column that
				// exists is a statement applied before (an interrupted run).
				if exceptionCode(err) == codeColumnExists && strings.Contains(st, " ADD COLUMN ") {
					continue
				}
				return applied, fmt.Errorf("clickhouse: migration %s: %w", f.Name, err)
			}
		}
		b, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+book+" (version, name, checksum, applied_at)")
		if err != nil {
			return applied, fmt.Errorf("clickhouse: record migration %s: %w", f.Name, err)
		}
		if err := b.Append(uint32(f.Version), f.Name, sum, time.Now()); err != nil {
			b.Abort()
			return applied, fmt.Errorf("clickhouse: record migration %s: %w", f.Name, err)
		}
		if err := b.Send(); err != nil {
			return applied, fmt.Errorf("clickhouse: record migration %s: %w", f.Name, err)
		}
		s.log.Info("migration applied", zap.Int("version", f.Version), zap.String("file", f.Name))
		applied = append(applied, f.Version)
	}
	return applied, nil
}

// AppliedMigrations returns the versions recorded in apitap_migrations, in
// ascending order.
func (s *Store) AppliedMigrations(ctx context.Context) ([]int, error) {
	done, err := s.appliedMigrations(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]int, 0, len(done))
	for v := range done {
		out = append(out, v)
	}
	slices.Sort(out)
	return out, nil
}

func (s *Store) appliedMigrations(ctx context.Context) (map[int]appliedMigration, error) {
	book := quoteIdent(s.db) + "." + quoteIdent(MigrationsTable)
	rows, err := s.conn.Query(ctx, "SELECT version, any(name), any(checksum) FROM "+book+" GROUP BY version")
	if err != nil {
		return nil, fmt.Errorf("clickhouse: read %s: %w", MigrationsTable, err)
	}
	defer rows.Close()
	done := map[int]appliedMigration{}
	for rows.Next() {
		var v uint32
		var m appliedMigration
		if err := rows.Scan(&v, &m.name, &m.checksum); err != nil {
			return nil, fmt.Errorf("clickhouse: read %s: %w", MigrationsTable, err)
		}
		done[int(v)] = m
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("clickhouse: read %s: %w", MigrationsTable, err)
	}
	return done, nil
}
