package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"go.uber.org/zap"

	"github.com/apitap/apitap/analyzer"
)

type tableID int

const (
	tExchanges tableID = iota
	tEndpoints
	tFindings
	tLoss
	numTables
)

// tableNames are the tables a Write inserts into (the Distributed tables
// in cluster mode).
var tableNames = [numTables]string{"exchanges", "endpoints", "findings", "loss"}

// tableColumns are the explicit column lists of the INSERTs, in the order
// the append functions fill them. ingested_at is left to its DEFAULT.
var tableColumns = [numTables][]string{
	tExchanges: {"time", "sensor_id", "sequence", "client_ip", "client_port", "server_ip", "server_port", "vlan", "vni",
		"principal", "principal_type", "host", "method", "endpoint", "query_keys", "status", "request_bytes",
		"response_bytes", "request_type", "response_type", "latency_us", "flags", "grpc_status", "effective_status"},
	tEndpoints: {"host", "method", "endpoint", "operation", "port", "state", "spec", "first_seen", "last_seen",
		"requests", "client_errors", "server_errors", "clients", "status_codes", "status_counts", "auth", "params",
		"state_blob", "version", "pii_types"},
	tFindings: {"id", "time", "kind", "type", "severity", "confidence", "host", "method", "endpoint", "client_ip",
		"principal", "location", "count", "first_seen", "last_seen", "summary", "evidence", "version",
		"field", "masked_sample", "fingerprint"},
	tLoss: {"sensor_id", "sequence", "stage", "reason", "unit", "count", "window_start", "window_end"},
}

func rowCount(t tableID, rs []*analyzer.Result) int {
	n := 0
	for _, r := range rs {
		switch t {
		case tExchanges:
			n += len(r.Exchanges)
		case tEndpoints:
			n += len(r.Endpoints)
		case tFindings:
			n += len(r.Findings)
		default:
			n += len(r.Losses)
		}
	}
	return n
}

// Write stores every row of r: one INSERT per non-empty table, each
// retried with exponential backoff (RetryMin doubling to RetryMax) until
// it succeeds or ctx ends. It returns nil once ClickHouse has acknowledged
// every table, ctx's error if ctx ended first (tables already acknowledged
// stay written: a replay of r collapses with them), or the error of a
// permanent failure (rows that cannot be encoded for the table's columns).
// r is not retained.
func (s *Store) Write(ctx context.Context, r *analyzer.Result) error {
	if r == nil {
		return nil
	}
	return s.WriteAll(ctx, []*analyzer.Result{r})
}

// WriteAll is Write for the rows of several Results at once: one INSERT per
// table for all of them (analyzer.MultiSink). Fewer, larger inserts are
// what ClickHouse wants: each INSERT writes a new part (a few dozen files)
// that merges later rewrite.
func (s *Store) WriteAll(ctx context.Context, rs []*analyzer.Result) error {
	sc := s.getScratch()
	defer s.putScratch(sc)
	for t := range numTables {
		if rowCount(t, rs) == 0 {
			continue
		}
		if err := s.insert(ctx, t, rs, sc); err != nil {
			s.stats.failedWrites.Add(1)
			return err
		}
	}
	return nil
}

// permanentError is a failure that a retry cannot fix.
type permanentError struct{ error }

func (e permanentError) Unwrap() error { return e.error }

func (s *Store) insert(ctx context.Context, t tableID, rs []*analyzer.Result, sc *scratch) error {
	wait := s.cfg.RetryMin
	blocked := false
	defer func() {
		if blocked {
			s.stats.blockedNow.Add(^uint64(0))
		}
	}()
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := s.insertOnce(ctx, t, rs, sc)
		if err == nil {
			n := uint64(rowCount(t, rs))
			s.stats.rows[t].Add(n)
			s.stats.inserts.Add(1)
			if attempt > 1 {
				s.log.Info("clickhouse insert succeeded after retries", zap.String("table", tableNames[t]),
					zap.Int("attempts", attempt), zap.Uint64("rows", n))
			}
			return nil
		}
		s.stats.errors.Add(1)
		s.stats.lastErrorMu.Lock()
		s.stats.lastError = err.Error()
		s.stats.lastErrorMu.Unlock()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var perm permanentError
		if errors.As(err, &perm) {
			s.log.Error("clickhouse insert failed permanently", zap.String("table", tableNames[t]), zap.Error(err))
			return fmt.Errorf("clickhouse: insert into %s: %w", tableNames[t], perm.error)
		}
		if !blocked {
			blocked = true
			s.stats.blockedNow.Add(1)
		}
		// full jitter in [wait/2, wait): writers that failed together do
		// not come back together
		d := wait/2 + rand.N(wait/2+1)
		s.log.Warn("clickhouse insert failed, retrying", zap.String("table", tableNames[t]),
			zap.Int("attempt", attempt), zap.Duration("wait", d), zap.Int32("code", exceptionCode(err)), zap.Error(err))
		s.stats.retries.Add(1)
		timer := time.NewTimer(d)
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-timer.C:
		}
		wait = min(2*wait, s.cfg.RetryMax)
	}
}

// insertOnce is one attempt: prepare, append every column, send.
func (s *Store) insertOnce(ctx context.Context, t tableID, rs []*analyzer.Result, sc *scratch) error {
	actx, cancel := context.WithTimeout(ctx, s.cfg.WriteTimeout)
	defer cancel()
	if s.cfg.Cluster != "" {
		// acknowledge only once every shard has the rows, not when they
		// sit in the Distributed table's local queue
		actx = clickhouse.Context(actx, clickhouse.WithSettings(clickhouse.Settings{"insert_distributed_sync": 1}))
	}
	b, err := s.conn.PrepareBatch(actx, s.queries[t])
	if err != nil {
		return err
	}
	reuseColumns(b, sc.cols[t])
	sc.cols[t] = nil
	if err := appendTable(b, t, rs, sc); err != nil {
		_ = b.Abort()
		return permanentError{err}
	}
	if err := b.Send(); err != nil {
		return err
	}
	sc.cols[t] = b.Columns()
	return nil
}

// reuseColumns hands the column buffers of the table's previous INSERT
// (saved) to batch b, emptied. clickhouse-go starts every batch with empty
// columns and grows them value by value; on inserts of tens of thousands
// of rows that growing (copying, zeroing, and the garbage it leaves) cost
// more CPU than encoding the rows. A column is taken over only when it is
// the same column (name, type, Go type) and a plain struct behind a
// pointer, as every clickhouse-go column is; otherwise b keeps its own.
// The previous batch has been sent and is not used again.
func reuseColumns(b driver.Batch, saved []column.Interface) {
	cols := b.Columns()
	if len(saved) != len(cols) {
		return
	}
	for i, c := range cols {
		o := saved[i]
		if o == nil || c.Name() != o.Name() || c.Type() != o.Type() {
			continue
		}
		nv, ov := reflect.ValueOf(c), reflect.ValueOf(o)
		if nv.Type() != ov.Type() || nv.Kind() != reflect.Pointer || nv.Elem().Kind() != reflect.Struct || nv.Pointer() == ov.Pointer() {
			continue
		}
		o.Reset()
		nv.Elem().Set(ov.Elem())
	}
}

// maxScratches bounds the idle scratches a Store keeps: one per concurrent
// Write (the analyzer writes one batch at a time, plus a flush now and
// then). Each holds the buffers of its largest INSERT of each table.
const maxScratches = 2

func (s *Store) getScratch() *scratch {
	s.scratchMu.Lock()
	defer s.scratchMu.Unlock()
	return s.scratches.Get()
}

func (s *Store) putScratch(sc *scratch) {
	clear(sc.strs[:cap(sc.strs)]) // keep no caller's strings alive
	s.scratchMu.Lock()
	defer s.scratchMu.Unlock()
	s.scratches.Put(sc)
}

// scratch holds one reusable slice per Go column type: the driver copies a
// column's values on Append, so the same slice is refilled for the next
// column of that type. cols are each table's columns of its last INSERT,
// whose buffers the next INSERT reuses (reuseColumns).
type scratch struct {
	cols  [numTables][]column.Interface
	times []time.Time
	strs  []string
	u64   []uint64
	u32   []uint32
	u16   []uint16
	i16   []int16
}

// fill refills *buf with f of every row of every result and appends it to
// column i.
func fill[T, R any](b driver.Batch, i int, buf *[]T, rs []*analyzer.Result, rows func(*analyzer.Result) []R, f func(*R) T) error {
	v := (*buf)[:0]
	for _, r := range rs {
		rows := rows(r)
		for k := range rows {
			v = append(v, f(&rows[k]))
		}
	}
	*buf = v
	if err := b.Column(i).Append(v); err != nil {
		return fmt.Errorf("column %d: %w", i, err)
	}
	return nil
}

// fillRows appends f of every row to column i row by row. The Array
// columns use it because the driver's whole-column Append of [][]string
// goes through reflection and allocates per element (its AppendRow of a
// []string does not); the endpoints table's few rows because the per-row
// path is simpler than one more scratch type.
func fillRows[R, V any](b driver.Batch, i int, rs []*analyzer.Result, rows func(*analyzer.Result) []R, f func(*R) V) error {
	col := b.Column(i)
	for _, r := range rs {
		rows := rows(r)
		for k := range rows {
			if err := col.AppendRow(f(&rows[k])); err != nil {
				return fmt.Errorf("column %d: %w", i, err)
			}
		}
	}
	return nil
}

func appendTable(b driver.Batch, t tableID, rs []*analyzer.Result, sc *scratch) error {
	switch t {
	case tExchanges:
		return appendExchanges(b, rs, sc)
	case tEndpoints:
		return appendEndpoints(b, rs, sc)
	case tFindings:
		return appendFindings(b, rs, sc)
	default:
		return appendLoss(b, rs, sc)
	}
}

type exchange = analyzer.ExchangeRow

func exchangeRows(r *analyzer.Result) []exchange { return r.Exchanges }

func appendExchanges(b driver.Batch, rows []*analyzer.Result, sc *scratch) error {
	x := exchangeRows
	return errors.Join(
		fill(b, 0, &sc.times, rows, x, func(r *exchange) time.Time { return r.Time }),
		fill(b, 1, &sc.strs, rows, x, func(r *exchange) string { return r.SensorID }),
		fill(b, 2, &sc.u64, rows, x, func(r *exchange) uint64 { return r.Sequence }),
		fill(b, 3, &sc.strs, rows, x, func(r *exchange) string { return r.ClientIP }),
		fill(b, 4, &sc.u16, rows, x, func(r *exchange) uint16 { return r.ClientPort }),
		fill(b, 5, &sc.strs, rows, x, func(r *exchange) string { return r.ServerIP }),
		fill(b, 6, &sc.u16, rows, x, func(r *exchange) uint16 { return r.ServerPort }),
		fill(b, 7, &sc.u16, rows, x, func(r *exchange) uint16 { return r.VLAN }),
		fill(b, 8, &sc.u32, rows, x, func(r *exchange) uint32 { return r.VNI }),
		fill(b, 9, &sc.strs, rows, x, func(r *exchange) string { return r.Principal }),
		fill(b, 10, &sc.strs, rows, x, func(r *exchange) string { return r.PrincipalType }),
		fill(b, 11, &sc.strs, rows, x, func(r *exchange) string { return r.Host }),
		fill(b, 12, &sc.strs, rows, x, func(r *exchange) string { return r.Method }),
		fill(b, 13, &sc.strs, rows, x, func(r *exchange) string { return r.Endpoint }),
		fillRows(b, 14, rows, x, func(r *exchange) []string { return r.QueryKeys }),
		fill(b, 15, &sc.u16, rows, x, func(r *exchange) uint16 { return r.Status }),
		fill(b, 16, &sc.u64, rows, x, func(r *exchange) uint64 { return r.RequestBytes }),
		fill(b, 17, &sc.u64, rows, x, func(r *exchange) uint64 { return r.ResponseBytes }),
		fill(b, 18, &sc.strs, rows, x, func(r *exchange) string { return r.RequestType }),
		fill(b, 19, &sc.strs, rows, x, func(r *exchange) string { return r.ResponseType }),
		fill(b, 20, &sc.u32, rows, x, func(r *exchange) uint32 { return r.LatencyMicros }),
		fillRows(b, 21, rows, x, func(r *exchange) []string { return r.Flags }),
		fill(b, 22, &sc.i16, rows, x, func(r *exchange) int16 { return r.GRPCStatus }),
		fill(b, 23, &sc.u16, rows, x, func(r *exchange) uint16 { return r.EffectiveStatus }),
	)
}

type endpoint = analyzer.EndpointRow

func endpointRows(r *analyzer.Result) []endpoint { return r.Endpoints }

func appendEndpoints(b driver.Batch, rows []*analyzer.Result, sc *scratch) error {
	x := endpointRows
	return errors.Join(
		fill(b, 0, &sc.strs, rows, x, func(r *endpoint) string { return r.Host }),
		fill(b, 1, &sc.strs, rows, x, func(r *endpoint) string { return r.Method }),
		fill(b, 2, &sc.strs, rows, x, func(r *endpoint) string { return r.Endpoint }),
		fill(b, 3, &sc.strs, rows, x, func(r *endpoint) string { return r.Operation }),
		fillRows(b, 4, rows, x, func(r *endpoint) any { return r.Port }),
		fill(b, 5, &sc.strs, rows, x, func(r *endpoint) string { return r.State }),
		fill(b, 6, &sc.strs, rows, x, func(r *endpoint) string { return r.Spec }),
		fill(b, 7, &sc.times, rows, x, func(r *endpoint) time.Time { return r.FirstSeen }),
		fill(b, 8, &sc.times, rows, x, func(r *endpoint) time.Time { return r.LastSeen }),
		fill(b, 9, &sc.u64, rows, x, func(r *endpoint) uint64 { return r.Requests }),
		fill(b, 10, &sc.u64, rows, x, func(r *endpoint) uint64 { return r.ClientErrors }),
		fill(b, 11, &sc.u64, rows, x, func(r *endpoint) uint64 { return r.ServerErrors }),
		fill(b, 12, &sc.u64, rows, x, func(r *endpoint) uint64 { return r.Clients }),
		fillRows(b, 13, rows, x, func(r *endpoint) any { return nonNil(r.StatusCodes) }),
		fillRows(b, 14, rows, x, func(r *endpoint) any { return nonNil(r.StatusCounts) }),
		fillRows(b, 15, rows, x, func(r *endpoint) []string { return r.Auth }),
		fill(b, 16, &sc.strs, rows, x, func(r *endpoint) string { return r.Params }),
		fillRows(b, 17, rows, x, func(r *endpoint) any { return string(r.StateBlob) }),
		fill(b, 18, &sc.u64, rows, x, func(r *endpoint) uint64 { return r.Version }),
		fillRows(b, 19, rows, x, func(r *endpoint) []string { return nonNil(r.PIITypes) }),
	)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

type finding = analyzer.FindingRow

func findingRows(r *analyzer.Result) []finding { return r.Findings }

func appendFindings(b driver.Batch, rows []*analyzer.Result, sc *scratch) error {
	x := findingRows
	return errors.Join(
		fill(b, 0, &sc.strs, rows, x, func(r *finding) string { return r.ID }),
		fill(b, 1, &sc.times, rows, x, func(r *finding) time.Time { return r.Time }),
		fill(b, 2, &sc.strs, rows, x, func(r *finding) string { return r.Kind }),
		fill(b, 3, &sc.strs, rows, x, func(r *finding) string { return r.Type }),
		fill(b, 4, &sc.strs, rows, x, func(r *finding) string { return r.Severity }),
		fill(b, 5, &sc.strs, rows, x, func(r *finding) string { return r.Confidence }),
		fill(b, 6, &sc.strs, rows, x, func(r *finding) string { return r.Host }),
		fill(b, 7, &sc.strs, rows, x, func(r *finding) string { return r.Method }),
		fill(b, 8, &sc.strs, rows, x, func(r *finding) string { return r.Endpoint }),
		fill(b, 9, &sc.strs, rows, x, func(r *finding) string { return r.ClientIP }),
		fill(b, 10, &sc.strs, rows, x, func(r *finding) string { return r.Principal }),
		fill(b, 11, &sc.strs, rows, x, func(r *finding) string { return r.Location }),
		fill(b, 12, &sc.u64, rows, x, func(r *finding) uint64 { return r.Count }),
		fill(b, 13, &sc.times, rows, x, func(r *finding) time.Time { return r.FirstSeen }),
		fill(b, 14, &sc.times, rows, x, func(r *finding) time.Time { return r.LastSeen }),
		fill(b, 15, &sc.strs, rows, x, func(r *finding) string { return r.Summary }),
		fill(b, 16, &sc.strs, rows, x, func(r *finding) string { return r.Evidence }),
		fill(b, 17, &sc.u64, rows, x, func(r *finding) uint64 { return r.Version }),
		fill(b, 18, &sc.strs, rows, x, func(r *finding) string { return r.Field }),
		fill(b, 19, &sc.strs, rows, x, func(r *finding) string { return r.MaskedSample }),
		fill(b, 20, &sc.strs, rows, x, func(r *finding) string { return r.Fingerprint }),
	)
}

type loss = analyzer.LossRow

func lossRows(r *analyzer.Result) []loss { return r.Losses }

func appendLoss(b driver.Batch, rows []*analyzer.Result, sc *scratch) error {
	x := lossRows
	return errors.Join(
		fill(b, 0, &sc.strs, rows, x, func(r *loss) string { return r.SensorID }),
		fill(b, 1, &sc.u64, rows, x, func(r *loss) uint64 { return r.Sequence }),
		fill(b, 2, &sc.strs, rows, x, func(r *loss) string { return r.Stage }),
		fill(b, 3, &sc.strs, rows, x, func(r *loss) string { return r.Reason }),
		fill(b, 4, &sc.strs, rows, x, func(r *loss) string { return r.Unit }),
		fill(b, 5, &sc.u64, rows, x, func(r *loss) uint64 { return r.Count }),
		fill(b, 6, &sc.times, rows, x, func(r *loss) time.Time { return r.WindowStart }),
		fill(b, 7, &sc.times, rows, x, func(r *loss) time.Time { return r.WindowEnd }),
	)
}
