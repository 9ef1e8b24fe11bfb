package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"go.uber.org/zap"

	"github.com/apitap/apitap/analyzer"
	"github.com/apitap/apitap/internal/freelist"
)

// Store is the ClickHouse analyzer.Sink. Its methods are safe for
// concurrent use.
type Store struct {
	cfg     Config
	log     *zap.Logger
	conn    driver.Conn
	db      string
	version string
	caps    Capabilities
	queries [numTables]string
	// scratches are the idle scratches of past writes (at most
	// maxScratches), kept across garbage collections for their buffers.
	scratchMu sync.Mutex
	scratches freelist.List[scratch]

	stats struct {
		rows                     [numTables]atomic.Uint64
		inserts, retries, errors atomic.Uint64
		failedWrites, blockedNow atomic.Uint64
		lastErrorMu              sync.Mutex
		lastError                string
	}
}

var _ analyzer.MultiSink = (*Store)(nil)

// Stats are the store's counters since Open.
type Stats struct {
	// Rows written (acknowledged by ClickHouse) per table; a replayed row
	// counts again.
	Exchanges uint64 `json:"exchanges"`
	Endpoints uint64 `json:"endpoints"`
	Findings  uint64 `json:"findings"`
	Losses    uint64 `json:"loss"`
	// Inserts is the number of successful INSERTs (one per non-empty table
	// of a Result).
	Inserts uint64 `json:"inserts"`
	// Errors is the number of failed INSERT attempts; Retries those that
	// were tried again (the rest ended with their Write's context or with
	// a permanent error).
	Errors  uint64 `json:"errors"`
	Retries uint64 `json:"retries"`
	// FailedWrites is the number of Write calls that returned an error.
	FailedWrites uint64 `json:"failed_writes"`
	// Retrying is the number of inserts waiting for ClickHouse right now:
	// non-zero during an outage.
	Retrying uint64 `json:"retrying"`
	// LastError is the most recent insert error, empty if none.
	LastError string `json:"last_error,omitempty"`
}

// Open connects to the server of cfg.DSN, creates the DSN's database when
// it is missing, reads the server version and, with MigrateOnStart,
// applies the pending migrations. It fails when the server cannot be
// reached: it does not wait for ClickHouse to come up.
func Open(ctx context.Context, cfg Config, log *zap.Logger) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = zap.NewNop()
	}
	opts, err := cfg.options()
	if err != nil {
		return nil, err
	}
	db := opts.Auth.Database
	// Create the database from "default" (connecting to a missing database
	// fails the handshake). A user without rights there may still reach
	// an existing database, so a failure here is reported only if the
	// database cannot be used either.
	createErr := createDatabase(ctx, cfg, db)

	conn, err := clickhouse.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("clickhouse: %w", err)
	}
	var version string
	if err := conn.QueryRow(ctx, "SELECT version()").Scan(&version); err != nil {
		conn.Close()
		if createErr != nil {
			return nil, fmt.Errorf("clickhouse: %w (creating database %s: %v)", err, db, createErr)
		}
		return nil, fmt.Errorf("clickhouse: %w", err)
	}
	if createErr != nil {
		log.Warn("clickhouse: could not create the database; it exists, continuing", zap.String("database", db), zap.Error(createErr))
	}
	caps, err := CapabilitiesOf(version)
	if err != nil {
		conn.Close()
		return nil, err
	}
	s := &Store{cfg: cfg, log: log, conn: conn, db: db, version: version, caps: caps, scratches: freelist.New[scratch](maxScratches)}
	for t := range numTables {
		name := tableNames[t] // in cluster mode the Distributed table
		s.queries[t] = "INSERT INTO " + quoteIdent(db) + "." + quoteIdent(name) +
			" (" + strings.Join(tableColumns[t], ", ") + ")"
	}
	log.Info("clickhouse connected", zap.String("addr", strings.Join(opts.Addr, ",")), zap.String("database", db),
		zap.String("version", version), zap.Any("capabilities", caps), zap.String("cluster", cfg.Cluster),
		zap.String("compression", cfg.compression(opts.Addr).String()))
	if cfg.MigrateOnStart {
		applied, err := s.Migrate(ctx)
		if err != nil {
			conn.Close()
			return nil, err
		}
		if len(applied) > 0 {
			log.Info("clickhouse schema migrated", zap.Ints("applied", applied))
		}
	}
	return s, nil
}

func createDatabase(ctx context.Context, cfg Config, db string) error {
	opts, err := cfg.options()
	if err != nil {
		return err
	}
	opts.Auth.Database = "default"
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return err
	}
	defer conn.Close()
	q := "CREATE DATABASE IF NOT EXISTS " + quoteIdent(db)
	if cfg.Cluster != "" {
		q += " ON CLUSTER " + quoteIdent(cfg.Cluster)
	}
	return conn.Exec(ctx, q)
}

// Version is the server's version string (SELECT version()).
func (s *Store) Version() string { return s.version }

// Capabilities are the schema features of the server's version.
func (s *Store) Capabilities() Capabilities { return s.caps }

// Database is the database the store writes to.
func (s *Store) Database() string { return s.db }

// Conn is the underlying connection pool, for queries (dashboards, tests).
func (s *Store) Conn() driver.Conn { return s.conn }

// Stats returns the counters.
func (s *Store) Stats() Stats {
	st := &s.stats
	st.lastErrorMu.Lock()
	last := st.lastError
	st.lastErrorMu.Unlock()
	return Stats{
		Exchanges:    st.rows[tExchanges].Load(),
		Endpoints:    st.rows[tEndpoints].Load(),
		Findings:     st.rows[tFindings].Load(),
		Losses:       st.rows[tLoss].Load(),
		Inserts:      st.inserts.Load(),
		Errors:       st.errors.Load(),
		Retries:      st.retries.Load(),
		FailedWrites: st.failedWrites.Load(),
		Retrying:     st.blockedNow.Load(),
		LastError:    last,
	}
}

// Close closes the connections. Writes in flight fail.
func (s *Store) Close() error {
	return s.conn.Close()
}

// exceptionCode returns the ClickHouse exception code in err's chain, 0 if
// there is none.
func exceptionCode(err error) int32 {
	var ex *clickhouse.Exception
	if errors.As(err, &ex) {
		return ex.Code
	}
	return 0
}
