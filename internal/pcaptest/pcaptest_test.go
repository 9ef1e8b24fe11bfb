package pcaptest

import (
	"path/filepath"
	"testing"

	"github.com/apitap/apitap/internal/testutil"
)

func TestExchanges(t *testing.T) {
	ex := MustExchanges(t, filepath.Join(testutil.RepoRoot(t), "deploy", "samples", "api-sample.pcap"))
	if len(ex) != 600 {
		t.Fatalf("%d exchanges, want the sample's 600", len(ex))
	}
	for i := 1; i < len(ex); i++ {
		if ex[i].Start.Before(ex[i-1].Start.Add(-time0)) {
			t.Fatalf("exchange %d out of capture order", i)
		}
	}
	if _, err := Exchanges(filepath.Join(t.TempDir(), "missing.pcap")); err == nil {
		t.Fatal("a missing file gave no error")
	}
}

// time0: one worker keeps the capture's order up to pairing (a response
// ends an exchange, so two connections' exchanges may swap by their
// latency); a second of slack is generous for the sample.
const time0 = 1e9
