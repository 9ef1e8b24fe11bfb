package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/apitap/apitap/analyzer"
)

var _ analyzer.StateLoader = (*Store)(nil)

// LoadEndpoints returns the current inventory rows of the given hosts
// (endpoints FINAL), so an analyzer that starts, or takes over a host after
// a rebalance, continues the stored first_seen and counts instead of
// restarting them. It retries like Write until ctx ends.
func (s *Store) LoadEndpoints(ctx context.Context, hosts []string) ([]analyzer.EndpointRow, error) {
	if len(hosts) == 0 {
		return nil, nil
	}
	// One placeholder per host: ClickHouse 18.16 rejects an array literal
	// after IN, and a tuple of strings lets the primary key (host first)
	// select the granules.
	q := "SELECT host, method, endpoint, state, first_seen, last_seen, requests, client_errors, server_errors, version, operation, port, state_blob FROM " +
		quoteIdent(s.db) + "." + quoteIdent(tableNames[tEndpoints]) + " FINAL WHERE host IN (?" +
		strings.Repeat(", ?", len(hosts)-1) + ")"
	args := make([]any, len(hosts))
	for i, h := range hosts {
		args[i] = h
	}
	wait := s.cfg.RetryMin
	for {
		out, err := s.loadOnce(ctx, q, args)
		if err == nil {
			return out, nil
		}
		s.stats.errors.Add(1)
		s.log.Warn("clickhouse: loading endpoint state failed, retrying", zap.Duration("wait", wait), zap.Error(err))
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("clickhouse: loading endpoints: %w (last error: %v)", ctx.Err(), err)
		case <-time.After(wait):
		}
		wait = min(wait*2, s.cfg.RetryMax)
	}
}

func (s *Store) loadOnce(ctx context.Context, q string, args []any) ([]analyzer.EndpointRow, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.WriteTimeout)
	defer cancel()
	rows, err := s.conn.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []analyzer.EndpointRow
	for rows.Next() {
		var e analyzer.EndpointRow
		var blob string
		if err := rows.Scan(&e.Host, &e.Method, &e.Endpoint, &e.State, &e.FirstSeen, &e.LastSeen,
			&e.Requests, &e.ClientErrors, &e.ServerErrors, &e.Version, &e.Operation, &e.Port, &blob); err != nil {
			return nil, err
		}
		e.StateBlob = []byte(blob)
		out = append(out, e)
	}
	return out, rows.Err()
}
