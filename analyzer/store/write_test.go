package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/apitap/apitap/analyzer"
	"github.com/apitap/apitap/internal/testutil"
)

func testLogger(t testing.TB) *zap.Logger {
	return zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))
}

var (
	hosts     = []string{"api.example.com", "shop.example.com", "auth.example.com", "internal.svc.cluster.local"}
	endpoints = []string{"/api/v1/users/{id}", "/api/v1/orders", "/api/v1/orders/{id}/items", "/login", "/api/v2/search", "/health"}
	methods   = []string{"GET", "POST", "PUT", "DELETE"}
	ctypes    = []string{"application/json", "text/html", "", "application/x-www-form-urlencoded"}
)

// exchanges returns n realistic rows spread over two days, with unique
// (sensor_id, sequence); seq0 offsets the sequence numbers.
func exchanges(n int, seq0 uint64) []analyzer.ExchangeRow {
	base := time.Date(2026, 3, 14, 23, 0, 0, 0, time.UTC)
	rows := make([]analyzer.ExchangeRow, n)
	for i := range rows {
		r := &rows[i]
		r.Time = base.Add(time.Duration(i) * 7919 * time.Microsecond * 100) // crosses midnight for n > ~4500
		r.SensorID = fmt.Sprintf("sensor-%d", i%3)
		r.Sequence = seq0 + uint64(i)
		r.ClientIP = fmt.Sprintf("10.%d.%d.%d", i%7, (i/7)%250, i%250+1)
		r.ClientPort = uint16(30000 + i%30000)
		r.ServerIP = fmt.Sprintf("192.168.1.%d", i%4+10)
		r.ServerPort = []uint16{80, 8080, 443}[i%3]
		r.VLAN = uint16(i % 2 * 100)
		r.VNI = uint32(i % 3 * 4096)
		if i%5 != 0 {
			r.Principal = fmt.Sprintf("hmac:%016x", uint64(i%97)*0x9e3779b97f4a7c15)
			r.PrincipalType = []string{"bearer", "basic", "apikey", "cookie"}[i%4]
		}
		r.Host = hosts[i%len(hosts)]
		r.Method = methods[i%len(methods)]
		r.Endpoint = endpoints[i%len(endpoints)]
		switch i % 4 {
		case 1:
			r.QueryKeys = []string{"page", "limit"}
		case 2:
			r.QueryKeys = []string{"q"}
		}
		r.Status = []uint16{200, 201, 204, 400, 404, 500, 0}[i%7]
		r.GRPCStatus, r.EffectiveStatus = -1, r.Status
		if i%9 == 0 && r.Status == 200 { // a gRPC call that failed UNAUTHENTICATED
			r.GRPCStatus, r.EffectiveStatus = 16, 401
		}
		r.RequestBytes = uint64(i % 2048)
		r.ResponseBytes = uint64(i * 13 % 65536)
		r.RequestType = ctypes[i%len(ctypes)]
		r.ResponseType = ctypes[(i+1)%len(ctypes)]
		r.LatencyMicros = uint32(i*37%500000 + 50)
		if i%6 == 0 {
			r.Flags = []string{"body_truncated"}
		} else if i%11 == 0 {
			r.Flags = []string{"gap", "midstream"}
		}
	}
	return rows
}

func fullResult() *analyzer.Result {
	t0 := time.Date(2026, 3, 14, 10, 11, 12, 345_000_000, time.UTC)
	r := &analyzer.Result{Exchanges: exchanges(6000, 1)}
	for i := range 20 {
		r.Endpoints = append(r.Endpoints, analyzer.EndpointRow{
			Host: hosts[i%len(hosts)], Method: methods[i%len(methods)], Endpoint: fmt.Sprintf("/api/v1/r%d/{id}", i),
			State: "observed", FirstSeen: t0.Add(time.Duration(i) * time.Minute), LastSeen: t0.Add(time.Duration(i) * time.Hour),
			Requests: uint64(100 + i), ClientErrors: uint64(i), ServerErrors: uint64(i / 3), Version: uint64(t0.UnixNano()),
			Operation: []string{"", "query GetUser"}[i%2], Port: uint16(8000 + i), Spec: []string{"", "api.yaml"}[i%2],
			Clients: uint64(i * 7), StatusCodes: []uint16{200, 404}, StatusCounts: []uint64{uint64(90 + i), 10},
			Auth: []string{"bearer", "jwt"}[:1+i%2], Params: `[{"position":3,"name":"id","reason":"class:integer"}]`,
			StateBlob: []byte(fmt.Sprintf(`{"v":1,"n":%d}`, i)),
			PIITypes:  [][]string{{}, {"response.body:email", "response.body:phone"}}[i%2],
		})
	}
	for i := range 10 {
		r.Findings = append(r.Findings, analyzer.FindingRow{
			ID: fmt.Sprintf("f-%04d", i), Time: t0.Add(time.Duration(i) * 24 * time.Hour * 20), // spans partitions
			Kind: []string{"shadow_endpoint", "pii", "anomaly"}[i%3], Type: []string{"undocumented", "email", "bola_enumeration"}[i%3],
			Severity: "high", Confidence: "likely", Host: hosts[i%len(hosts)], Method: "GET", Endpoint: endpoints[i%len(endpoints)],
			ClientIP: "10.0.0.1", Principal: "hmac:00ff", Location: "response.body", Count: uint64(i + 1),
			Field: "$.user.email", MaskedSample: "j***@example.com", Fingerprint: fmt.Sprintf("%032x", i),
			FirstSeen: t0, LastSeen: t0.Add(time.Hour), Summary: "email addresses in responses",
			Evidence: `{"samples":2,"pattern":"email"}`, Version: uint64(i + 1),
		})
	}
	for i := range 5 {
		r.Losses = append(r.Losses, analyzer.LossRow{
			SensorID: "sensor-0", Sequence: uint64(100 + i), Stage: "capture", Reason: "kernel_drop", Unit: "packets",
			Count: uint64(i * 10), WindowStart: t0.Add(time.Duration(i) * 10 * time.Second), WindowEnd: t0.Add(time.Duration(i+1) * 10 * time.Second),
		})
	}
	return r
}

// stored is what the server keeps of a time: milliseconds (DateTime64) or
// seconds (DateTime).
func stored(s *Store, t time.Time) time.Time {
	if s.caps.DateTime64 {
		return t.Truncate(time.Millisecond).UTC()
	}
	return t.Truncate(time.Second).UTC()
}

func finalCount(t *testing.T, s *Store, table string) uint64 {
	t.Helper()
	var n uint64
	if err := s.Conn().QueryRow(context.Background(), "SELECT count() FROM "+quoteIdent(s.Database())+"."+table+" FINAL").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Writing the same Result twice (a replay) stores each row once as seen
// through FINAL, and every column reads back as written.
func TestWriteReplayRoundTrip(t *testing.T) {
	s := openTest(t, nil)
	ctx := context.Background()
	r := fullResult()
	for range 2 {
		if err := s.Write(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	st := s.Stats()
	// A transient error (a pooled connection the server dropped, seen
	// under load) is retried: Errors may count it, nothing may fail.
	if st.Exchanges != 12000 || st.Endpoints != 40 || st.Findings != 20 || st.Losses != 10 || st.Inserts != 8 ||
		st.FailedWrites != 0 || st.Errors != st.Retries {
		t.Fatalf("stats %+v", st)
	}
	for table, want := range map[string]int{"exchanges": len(r.Exchanges), "endpoints": len(r.Endpoints), "findings": len(r.Findings), "loss": len(r.Losses)} {
		if got := finalCount(t, s, table); got != uint64(want) {
			t.Errorf("%s FINAL: %d rows, want %d", table, got, want)
		}
	}

	// exchanges: every column
	db := quoteIdent(s.Database())
	checkExchanges(t, s, r.Exchanges)

	// endpoints
	var eps []analyzer.EndpointRow
	erows, err := s.Conn().Query(ctx, "SELECT host, method, endpoint, state, first_seen, last_seen, requests, client_errors, server_errors, version, "+
		"operation, port, spec, clients, status_codes, status_counts, auth, params, state_blob, pii_types FROM "+db+".endpoints FINAL ORDER BY requests")
	if err != nil {
		t.Fatal(err)
	}
	for erows.Next() {
		var e analyzer.EndpointRow
		var blob string
		if err := erows.Scan(&e.Host, &e.Method, &e.Endpoint, &e.State, &e.FirstSeen, &e.LastSeen, &e.Requests, &e.ClientErrors, &e.ServerErrors, &e.Version,
			&e.Operation, &e.Port, &e.Spec, &e.Clients, &e.StatusCodes, &e.StatusCounts, &e.Auth, &e.Params, &blob, &e.PIITypes); err != nil {
			t.Fatal(err)
		}
		e.StateBlob = []byte(blob)
		e.FirstSeen, e.LastSeen = e.FirstSeen.UTC(), e.LastSeen.UTC()
		eps = append(eps, e)
	}
	erows.Close()
	wantEps := slices.Clone(r.Endpoints)
	for i := range wantEps {
		wantEps[i].FirstSeen, wantEps[i].LastSeen = stored(s, wantEps[i].FirstSeen), stored(s, wantEps[i].LastSeen)
	}
	if !reflect.DeepEqual(eps, wantEps) {
		t.Fatalf("endpoints:\n got %+v\nwant %+v", eps, wantEps)
	}

	// findings
	var fs []analyzer.FindingRow
	frows, err := s.Conn().Query(ctx, "SELECT id, time, kind, type, severity, confidence, host, method, endpoint, client_ip, principal, location, "+
		"count, first_seen, last_seen, summary, evidence, version, field, masked_sample, fingerprint FROM "+db+".findings FINAL ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	for frows.Next() {
		var f analyzer.FindingRow
		if err := frows.Scan(&f.ID, &f.Time, &f.Kind, &f.Type, &f.Severity, &f.Confidence, &f.Host, &f.Method, &f.Endpoint, &f.ClientIP,
			&f.Principal, &f.Location, &f.Count, &f.FirstSeen, &f.LastSeen, &f.Summary, &f.Evidence, &f.Version,
			&f.Field, &f.MaskedSample, &f.Fingerprint); err != nil {
			t.Fatal(err)
		}
		f.Time, f.FirstSeen, f.LastSeen = f.Time.UTC(), f.FirstSeen.UTC(), f.LastSeen.UTC()
		fs = append(fs, f)
	}
	frows.Close()
	wantFs := slices.Clone(r.Findings)
	for i := range wantFs {
		f := &wantFs[i]
		f.Time, f.FirstSeen, f.LastSeen = stored(s, f.Time), stored(s, f.FirstSeen), stored(s, f.LastSeen)
	}
	if !reflect.DeepEqual(fs, wantFs) {
		t.Fatalf("findings:\n got %+v\nwant %+v", fs, wantFs)
	}

	// loss
	var ls []analyzer.LossRow
	lrows, err := s.Conn().Query(ctx, "SELECT sensor_id, sequence, stage, reason, unit, count, window_start, window_end FROM "+db+".loss FINAL ORDER BY sequence")
	if err != nil {
		t.Fatal(err)
	}
	for lrows.Next() {
		var l analyzer.LossRow
		if err := lrows.Scan(&l.SensorID, &l.Sequence, &l.Stage, &l.Reason, &l.Unit, &l.Count, &l.WindowStart, &l.WindowEnd); err != nil {
			t.Fatal(err)
		}
		l.WindowStart, l.WindowEnd = l.WindowStart.UTC(), l.WindowEnd.UTC()
		ls = append(ls, l)
	}
	lrows.Close()
	wantLs := slices.Clone(r.Losses)
	for i := range wantLs {
		wantLs[i].WindowStart, wantLs[i].WindowEnd = stored(s, wantLs[i].WindowStart), stored(s, wantLs[i].WindowEnd)
	}
	if !reflect.DeepEqual(ls, wantLs) {
		t.Fatalf("loss:\n got %+v\nwant %+v", ls, wantLs)
	}

	// A newer version of an endpoint and of a finding replaces the old row.
	up := &analyzer.Result{
		Endpoints: []analyzer.EndpointRow{r.Endpoints[3]},
		Findings:  []analyzer.FindingRow{r.Findings[2]},
	}
	up.Endpoints[0].Requests, up.Endpoints[0].State, up.Endpoints[0].Version = 9999, "shadow", r.Endpoints[3].Version+1
	up.Findings[0].Count, up.Findings[0].Severity, up.Findings[0].Version = 77, "critical", r.Findings[2].Version+1
	if err := s.Write(ctx, up); err != nil {
		t.Fatal(err)
	}
	var requests uint64
	var state string
	if err := s.Conn().QueryRow(ctx, "SELECT requests, state FROM "+db+".endpoints FINAL WHERE endpoint = ?", r.Endpoints[3].Endpoint).Scan(&requests, &state); err != nil || requests != 9999 || state != "shadow" {
		t.Fatalf("updated endpoint: %d %q %v", requests, state, err)
	}
	var count uint64
	var sev string
	if err := s.Conn().QueryRow(ctx, "SELECT count, severity FROM "+db+".findings FINAL WHERE id = ?", r.Findings[2].ID).Scan(&count, &sev); err != nil || count != 77 || sev != "critical" {
		t.Fatalf("updated finding: %d %q %v", count, sev, err)
	}
	if n := finalCount(t, s, "endpoints"); n != 20 {
		t.Fatalf("endpoints after update: %d", n)
	}
	if err := s.Write(ctx, &analyzer.Result{}); err != nil || s.Stats().Inserts != 10 {
		t.Fatalf("an empty Result must insert nothing: %v %+v", err, s.Stats())
	}
}

// checkExchanges reads the exchanges table (FINAL, by sequence) back, every
// column, and compares it with want.
func checkExchanges(t *testing.T, s *Store, want []analyzer.ExchangeRow) {
	t.Helper()
	ctx := context.Background()
	db := quoteIdent(s.Database())
	rows, err := s.Conn().Query(ctx, "SELECT time, sensor_id, sequence, client_ip, client_port, server_ip, server_port, vlan, vni, "+
		"principal, principal_type, host, method, endpoint, query_keys, status, request_bytes, response_bytes, request_type, "+
		"response_type, latency_us, flags, ingested_at, grpc_status, effective_status FROM "+db+".exchanges FINAL ORDER BY sequence")
	if err != nil {
		t.Fatal(err)
	}
	var got []analyzer.ExchangeRow
	for rows.Next() {
		var e analyzer.ExchangeRow
		var ingested time.Time
		if err := rows.Scan(&e.Time, &e.SensorID, &e.Sequence, &e.ClientIP, &e.ClientPort, &e.ServerIP, &e.ServerPort, &e.VLAN, &e.VNI,
			&e.Principal, &e.PrincipalType, &e.Host, &e.Method, &e.Endpoint, &e.QueryKeys, &e.Status, &e.RequestBytes, &e.ResponseBytes,
			&e.RequestType, &e.ResponseType, &e.LatencyMicros, &e.Flags, &ingested, &e.GRPCStatus, &e.EffectiveStatus); err != nil {
			t.Fatal(err)
		}
		if time.Since(ingested) > 10*time.Minute || time.Until(ingested) > 10*time.Minute {
			t.Fatalf("ingested_at %v not now", ingested)
		}
		e.Time = e.Time.UTC()
		got = append(got, e)
	}
	rows.Close()
	want = slices.Clone(want)
	slices.SortFunc(want, func(a, b analyzer.ExchangeRow) int { return cmp.Compare(a.Sequence, b.Sequence) })
	for i := range want {
		want[i].Time = stored(s, want[i].Time)
		if want[i].QueryKeys == nil {
			want[i].QueryKeys = []string{}
		}
		if want[i].Flags == nil {
			want[i].Flags = []string{}
		}
	}
	for i := range got {
		if got[i].QueryKeys == nil {
			got[i].QueryKeys = []string{}
		}
		if got[i].Flags == nil {
			got[i].Flags = []string{}
		}
	}
	if len(got) != len(want) {
		t.Fatalf("read %d exchanges, want %d", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("exchange %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

// WriteAll stores several Results in one INSERT per table; successive
// inserts reuse the previous one's column buffers (reuseColumns), shorter
// and longer ones in turn, and every row reads back exactly as written.
func TestWriteAllReusesColumns(t *testing.T) {
	s := openTest(t, nil)
	ctx := context.Background()
	all := exchanges(3000, 1)
	small := exchanges(7, 10_001)
	for i := range small { // other lengths than the rows before them
		small[i].Host, small[i].Endpoint, small[i].QueryKeys = "h", "/", []string{"a", "bb", "ccc"}
	}
	big := exchanges(5000, 20_001)
	for i, rs := range [][]*analyzer.Result{
		{{Exchanges: all[:2000]}, {Exchanges: all[2000:], Losses: fullResult().Losses}},
		{{Exchanges: small}},
		{{}, {Exchanges: big[:1]}, {Exchanges: big[1:]}},
	} {
		if err := s.WriteAll(ctx, rs); err != nil {
			t.Fatalf("WriteAll %d: %v", i, err)
		}
	}
	if st := s.Stats(); st.Inserts != 4 || st.Exchanges != 8007 || st.Losses != 5 {
		t.Fatalf("stats %+v", st)
	}
	checkExchanges(t, s, slices.Concat(all, small, big))
}

// An INSERT reuses the column buffers of the table's previous one
// (reuseColumns): writing the same 20,000 rows again allocates a small
// fraction of what the first write did (measured: ~61 MiB, then ~1.1 MiB).
// Fails if the reuse stops working, e.g. after a driver upgrade changes
// its columns.
func TestWriteReusesBuffers(t *testing.T) {
	s := openTest(t, nil)
	ctx := context.Background()
	rows := exchanges(20000, 1)
	var allocs [3]uint64
	var ms runtime.MemStats
	for i := range allocs {
		runtime.ReadMemStats(&ms)
		before := ms.TotalAlloc
		if err := s.WriteAll(ctx, []*analyzer.Result{{Exchanges: rows}}); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&ms)
		allocs[i] = ms.TotalAlloc - before
	}
	t.Logf("bytes allocated by three writes of 20,000 rows: %v", allocs)
	if allocs[2] > allocs[0]/8 {
		t.Fatalf("the third write allocated %d bytes, the first %d: the column buffers are not reused", allocs[2], allocs[0])
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// During an outage Write blocks and retries; once ClickHouse is back it
// completes and the rows are there. Cancelled during an outage, it returns
// the context's error and counts nothing as written.
func TestWriteOutage(t *testing.T) {
	direct := openTest(t, nil) // creates the database and the tables
	p := testutil.NewProxy(t, "127.0.0.1:9000")
	cfg := direct.cfg
	cfg.DSN = "clickhouse://" + p.Addr() + "/" + direct.Database()
	cfg.MigrateOnStart = false
	s, err := Open(context.Background(), cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r := fullResult()

	// 1. cut, Write blocks, restore, Write completes
	p.Cut()
	done := make(chan error, 1)
	go func() { done <- s.Write(context.Background(), r) }()
	waitFor(t, "retries", func() bool { return s.Stats().Retries >= 3 })
	select {
	case err := <-done:
		t.Fatalf("Write returned during the outage: %v", err)
	default:
	}
	if st := s.Stats(); st.Retrying != 1 || st.Exchanges != 0 || st.LastError == "" {
		t.Fatalf("during the outage: %+v", st)
	}
	p.Restore()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Write after restore: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Write did not complete after the proxy was restored")
	}
	st := s.Stats()
	if st.Exchanges != 6000 || st.Endpoints != 20 || st.Findings != 10 || st.Losses != 5 || st.Retrying != 0 || st.FailedWrites != 0 {
		t.Fatalf("after restore: %+v", st)
	}
	for table, want := range map[string]uint64{"exchanges": 6000, "endpoints": 20, "findings": 10, "loss": 5} {
		if got := finalCount(t, direct, table); got != want {
			t.Errorf("%s: %d rows, want %d", table, got, want)
		}
	}

	// 2. cut, Write of new rows, cancel: ctx error, nothing counted or stored
	r2 := &analyzer.Result{Exchanges: exchanges(1000, 1_000_000), Losses: []analyzer.LossRow{{SensorID: "s9", Sequence: 1, WindowEnd: time.Now()}}}
	before := s.Stats()
	p.Cut()
	ctx, cancel := context.WithCancel(context.Background())
	go func() { done <- s.Write(ctx, r2) }()
	waitFor(t, "retries", func() bool { return s.Stats().Retries >= before.Retries+2 })
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled Write: %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("cancelled Write did not return")
	}
	after := s.Stats()
	if after.Exchanges != before.Exchanges || after.Losses != before.Losses || after.Inserts != before.Inserts ||
		after.FailedWrites != before.FailedWrites+1 || after.Retrying != 0 {
		t.Fatalf("a cancelled Write changed the written counters: before %+v after %+v", before, after)
	}
	if got := finalCount(t, direct, "exchanges"); got != 6000 {
		t.Fatalf("exchanges after a cancelled Write: %d, want 6000", got)
	}
	// 3. the same rows once ClickHouse is back: stored once
	p.Restore()
	if err := s.Write(context.Background(), r2); err != nil {
		t.Fatal(err)
	}
	if got := finalCount(t, direct, "exchanges"); got != 7000 {
		t.Fatalf("exchanges after the replay: %d, want 7000", got)
	}
}

// A deadline during a slow or dead server ends a Write with the context's
// error rather than blocking past it.
func TestWriteDeadline(t *testing.T) {
	direct := openTest(t, nil)
	p := testutil.NewProxy(t, "127.0.0.1:9000")
	cfg := direct.cfg
	cfg.DSN = "clickhouse://" + p.Addr() + "/" + direct.Database()
	cfg.MigrateOnStart = false
	s, err := Open(context.Background(), cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p.Cut()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = s.Write(ctx, &analyzer.Result{Exchanges: exchanges(10, 1)})
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Fatalf("Write with a deadline during an outage: %v after %v", err, time.Since(start))
	}
}

// BenchmarkWriteExchanges writes batches of 50,000 exchanges
// ($APITAP_BENCH_ROWS changes it; the default compression, lz4) and reports
// rows/s and CPU per row; the Compression sub-benchmarks compare the
// protocol's block compression.
func BenchmarkWriteExchanges(b *testing.B) {
	benchWrite(b, DefaultCompression)
}

func BenchmarkWriteExchangesCompression(b *testing.B) {
	for _, c := range []string{"none", "lz4", "zstd"} {
		b.Run(c, func(b *testing.B) { benchWrite(b, c) })
	}
}

func benchWrite(b *testing.B, compression string) {
	s := openTest(b, func(c *Config) { c.Compression = compression })
	ctx := context.Background()
	batch := 50_000
	if v := os.Getenv("APITAP_BENCH_ROWS"); v != "" { // rows per Write
		batch, _ = strconv.Atoi(v)
	}
	r := &analyzer.Result{Exchanges: exchanges(batch, 1)}
	if err := s.Write(ctx, r); err != nil { // warm up: connection, buffers
		b.Fatal(err)
	}
	for k := range r.Exchanges {
		r.Exchanges[k].Sequence += uint64(batch)
	}
	srv := testutil.ClickHousePid()
	cpu0, srv0 := testutil.SelfCPU(), testutil.ProcCPU(srv)
	b.ResetTimer()
	for i := range b.N {
		if i > 0 { // new records each time, as a live analyzer writes
			b.StopTimer()
			for k := range r.Exchanges {
				r.Exchanges[k].Sequence += uint64(batch)
				r.Exchanges[k].Time = r.Exchanges[k].Time.Add(time.Second)
			}
			b.StartTimer()
		}
		if err := s.Write(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	rows := float64(b.N * batch)
	b.ReportMetric(rows/b.Elapsed().Seconds(), "rows/s")
	// CPU per row: this process (building and encoding the columns,
	// compressing) and, when its pid file is readable, the local server
	// (decoding, sorting, writing the part; merges that run meanwhile).
	b.ReportMetric(float64((testutil.SelfCPU()-cpu0).Nanoseconds())/rows, "client-cpu-ns/row")
	if srv > 0 {
		b.ReportMetric(float64((testutil.ProcCPU(srv)-srv0).Nanoseconds())/rows, "server-cpu-ns/row")
	}
}
