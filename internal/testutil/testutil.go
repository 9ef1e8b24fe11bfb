// Package testutil holds helpers shared by tests: locating the shared corpus,
// running the sensor over a capture, and allocation assertions.
package testutil

import (
	"os"
	"path/filepath"
	"testing"
)

// RepoRoot returns the directory holding go.mod.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}

// Corpus returns the shared corpus directory (../shared/corpus beside the
// repository, or $APITAP_CORPUS). Tests that need it skip when it is absent.
func Corpus(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("APITAP_CORPUS")
	if dir == "" {
		dir = filepath.Join(RepoRoot(t), "..", "shared", "corpus")
	}
	if _, err := os.Stat(filepath.Join(dir, "pcap")); err != nil {
		t.Skipf("shared corpus not found at %s (set APITAP_CORPUS)", dir)
	}
	return dir
}

// AssertAllocs fails when f allocates more than max times per run on average.
func AssertAllocs(t testing.TB, max float64, f func()) {
	t.Helper()
	if got := testing.AllocsPerRun(200, f); got > max {
		t.Fatalf("allocations per run = %v, want <= %v", got, max)
	}
}
