package sensor_test

import (
	"os"
	"path/filepath"
	"testing"
)

// TestMain removes what the shared test fixtures left in the temporary
// folder: the binary built once for the memory tests and the benchmark
// capture (both are made once per run with sync.Once, so no single test
// owns them).
func TestMain(m *testing.M) {
	code := m.Run()
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}
