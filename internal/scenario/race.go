//go:build race

package scenario

// raceEnabled: the race detector slows everything 5-10 times; Run caps
// the speedup (see Options.Speedup).
const raceEnabled = true
