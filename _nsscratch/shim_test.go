package sensor_test

import (
	"os"
	"testing"

	"github.com/apitap/apitap/flow"
)

type collect struct{ ex []*flow.Exchange }

type limits struct{ MaxBodyBytes int }
type exch struct{ Limits limits }
type cfg struct{ Exchange exch }
type sensorStub struct{}

func (sensorStub) DefaultConfig() cfg { return cfg{exch{limits{64 << 10}}} }

var sensor sensorStub

func runFile(t testing.TB, path string, mutate any) (*collect, struct{}) {
	b, _ := os.ReadFile(path)
	os.WriteFile("/tmp/nscap.pcap", b, 0o644)
	t.Skip("scratch: capture and oracle checked; the sensor is not built yet")
	return nil, struct{}{}
}
