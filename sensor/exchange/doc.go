// Package exchange turns reassembled TCP streams into flow.Exchange records:
// it recognises HTTP/1.x by content, runs one http1.Parser per direction,
// pairs requests with responses, decodes bodies, redacts credentials and
// hands each finished record to an emit callback.
//
// Threading: a Factory belongs to one worker goroutine, like the
// tcp.Assembler that drives it (the sensor shards connections by a
// symmetric flow hash, so one connection never spans two workers). New,
// Advance and every method of the Streams it returns must be called from
// that goroutine; emit is called synchronously from them. Only Stats may be
// called from any goroutine.
//
// Memory: every per-connection and per-request structure is pooled and
// bounded (Config.Limits, MaxPending, MaxDecodedBytes); a record is built
// into one freshly allocated arena so the steady state allocates only what
// leaves the package. See docs/exchange.md for the pairing rules and
// docs/exchange-format.md for the record.
package exchange
