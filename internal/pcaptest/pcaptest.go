// Package pcaptest turns a capture file into the exchanges the sensor makes
// of it, for the analyzer's tests over real captures. It lives apart from
// internal/testutil because it imports the sensor, whose own in-package
// tests import testutil (an import cycle otherwise).
package pcaptest

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/apitap/apitap/flow"
	"github.com/apitap/apitap/sensor"
	"github.com/apitap/apitap/sensor/capture"
)

// collector keeps every exchange; the sensor hands over ownership of the
// batch's exchanges to its consumer.
type collector struct {
	mu sync.Mutex
	ex []*flow.Exchange
}

func (c *collector) Consume(_ context.Context, b flow.Batch) error {
	c.mu.Lock()
	c.ex = append(c.ex, b.Exchanges...)
	c.mu.Unlock()
	return nil
}

// Exchanges runs the sensor (default configuration, one worker, so the
// order is the capture's) over the file at path. A capture that ends
// early (truncated) returns the exchanges made before the end together
// with the error; a file the sensor cannot open returns no exchanges.
func Exchanges(path string) ([]*flow.Exchange, error) { return ExchangesWith(path, nil) }

// ExchangesWith is Exchanges with the sensor's configuration changed by
// mod first (nil: the default).
func ExchangesWith(path string, mod func(*sensor.Config)) ([]*flow.Exchange, error) {
	cfg := sensor.DefaultConfig()
	cfg.Capture.File = path
	cfg.Workers = 1
	if mod != nil {
		mod(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	src, err := capture.OpenFile(path, cfg.Capture.BPF, cfg.Capture.Snaplen)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c := &collector{}
	s, err := sensor.New(cfg, sensor.Settings{Consumer: c, Sources: []capture.Source{src}})
	if err != nil {
		return nil, err
	}
	if err := s.Run(context.Background()); err != nil {
		return c.ex, fmt.Errorf("%s: %w", path, err)
	}
	return c.ex, nil
}

// MustExchanges is Exchanges that fails t on any error.
func MustExchanges(t testing.TB, path string) []*flow.Exchange {
	t.Helper()
	ex, err := Exchanges(path)
	if err != nil {
		t.Fatal(err)
	}
	return ex
}
