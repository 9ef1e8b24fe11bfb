//go:build race

package pii

// raceEnabled: under the race detector sync.Pool drops items at random,
// so go-re2's pooled modules allocate.
const raceEnabled = true
