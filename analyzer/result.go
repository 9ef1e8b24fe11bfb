package analyzer

import (
	"context"
	"time"
)

// Sink stores what the analyzer derived from a batch of records.
//
// Write returns nil only once every row of r is durably stored: the caller
// acknowledges (commits) the batch's input records after that and never
// before, so a Sink that fails or is interrupted loses nothing. Write may be
// called again with rows it already stored (a replay after a crash or a
// consumer-group rebalance); a Sink must store rows so that such a replay
// does not change what queries see (docs/storage.md: every table is keyed so
// that the same row twice collapses to one).
//
// Ownership: r and its slices belong to the caller and are reused after
// Write returns; a Sink that keeps rows must copy them.
type Sink interface {
	Write(ctx context.Context, r *Result) error
}

// MultiSink is a Sink that can store the rows of several batches at once
// (ClickHouse: one INSERT per table for all of them, instead of one per
// batch). WriteAll has Write's contract for every Result of rs, which it
// must not retain.
type MultiSink interface {
	Sink
	WriteAll(ctx context.Context, rs []*Result) error
}

// Result is the rows derived from one batch of records.
type Result struct {
	Exchanges []ExchangeRow
	Endpoints []EndpointRow
	Findings  []FindingRow
	Losses    []LossRow
}

// Reset empties r, keeping its capacity.
func (r *Result) Reset() {
	r.Exchanges = r.Exchanges[:0]
	r.Endpoints = r.Endpoints[:0]
	r.Findings = r.Findings[:0]
	r.Losses = r.Losses[:0]
}

// Len is the number of rows in r.
func (r *Result) Len() int {
	return len(r.Exchanges) + len(r.Endpoints) + len(r.Findings) + len(r.Losses)
}

// ExchangeRow is the stored metadata of one exchange (table exchanges). It
// holds no body, no raw credential and no raw path: the endpoint template,
// the query parameter names and the credential's keyed fingerprint stand in
// for them. (SensorID, Sequence) identify the record; a replayed record
// produces an identical row.
type ExchangeRow struct {
	Time     time.Time // request start (capture clock)
	SensorID string
	Sequence uint64

	ClientIP   string
	ClientPort uint16
	ServerIP   string
	ServerPort uint16
	VLAN       uint16
	VNI        uint32

	// Principal is the caller's credential fingerprint (keyed HMAC from the
	// sensor), empty for an unauthenticated call; PrincipalType is its
	// scheme ("bearer", "basic", "apikey", "cookie", ...).
	Principal     string
	PrincipalType string

	Host      string
	Method    string
	Endpoint  string   // route template, e.g. /api/users/{id}
	QueryKeys []string // query parameter names, in order, without values

	Status        uint16 // 0: no response
	RequestBytes  uint64 // body bytes on the wire
	ResponseBytes uint64
	RequestType   string // content type
	ResponseType  string
	LatencyMicros uint32 // request start to response end
	Flags         []string
	// GRPCStatus is a gRPC call's grpc-status code, -1 for other
	// exchanges; EffectiveStatus is Status, or for a gRPC call answered
	// 200 the HTTP status its code maps to (flow.EffectiveStatus).
	GRPCStatus      int16
	EffectiveStatus uint16
}

// EndpointRow is the current state of one inventory entry (table
// endpoints): a newer Version replaces an older row of the same
// host/method/endpoint.
type EndpointRow struct {
	Host      string
	Method    string
	Endpoint  string // the path template
	Operation string // GraphQL/SOAP/RPC operation of a sub-endpoint, else ""
	Port      uint16
	// State is the inventory state: documented, shadow, zombie, dormant
	// (docs/inventory.md), or merged for an entry folded into another.
	State     string
	Spec      string // the spec file documenting it
	FirstSeen time.Time
	LastSeen  time.Time
	// Requests, ClientErrors and ServerErrors are the analyzer's running
	// counts (they may count a replayed record twice; exact counts come from
	// exchanges FINAL).
	Requests     uint64
	ClientErrors uint64
	ServerErrors uint64
	Clients      uint64   // distinct clients (exact to 64, then ±6.5 %)
	StatusCodes  []uint16 // with StatusCounts: requests per status
	StatusCounts []uint64
	Auth         []string // authentication schemes seen
	Params       string   // JSON: why each path parameter is one
	// PIITypes are the sensitive value types the endpoint carries, as
	// "location:type" ("response.body:email"), sorted.
	PIITypes []string
	// StateBlob is the inventory's mergeable state of the entry (opaque
	// JSON), read back when an analyzer starts or takes the host over.
	StateBlob []byte
	Version   uint64 // nanoseconds since the epoch of the update
}

// FindingRow is one finding (table findings): sensitive data, anomalous
// access, shadow or zombie endpoints. ID is stable for the finding, so the
// row with the highest Version is its current state.
type FindingRow struct {
	ID         string
	Time       time.Time // first evidence
	Kind       string    // "shadow_endpoint", "zombie_endpoint", "pii", "exposure", "anomaly"
	Type       string    // e.g. "undocumented", "email", "secret_in_url", "bola_enumeration"
	Severity   string    // "info", "low", "medium", "high", "critical"
	Confidence string    // "confirmed", "likely", "possible"
	Host       string
	Method     string
	Endpoint   string
	ClientIP   string
	Principal  string
	Location   string // e.g. "response.body", "request.query", "endpoint"
	// Field is where in the location ("$.user.email", a header or
	// parameter name); MaskedSample and Fingerprint stand in for a value
	// (a preview safe to store and its keyed HMAC).
	Field        string
	MaskedSample string
	Fingerprint  string
	Count        uint64
	FirstSeen    time.Time
	LastSeen     time.Time
	Summary      string
	Evidence     string // JSON object; never raw sensitive values
	Version      uint64
}

// LossRow is one sensor loss record (table loss).
type LossRow struct {
	SensorID    string
	Sequence    uint64
	Stage       string
	Reason      string
	Unit        string
	Count       uint64
	WindowStart time.Time
	WindowEnd   time.Time
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(ctx context.Context, r *Result) error

func (f SinkFunc) Write(ctx context.Context, r *Result) error { return f(ctx, r) }
