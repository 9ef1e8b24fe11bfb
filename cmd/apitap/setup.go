package main

import (
	"errors"
	"fmt"
	"io"
	"runtime/debug"

	"go.uber.org/zap"
)

// commandConfig is what setup needs of a command's configuration.
type commandConfig[T any] interface {
	*T
	validate() error
	logging() logConfig
}

// setup is the start every command shares: load the configuration
// (defaults < file < environment < flags), validate it (a usage error,
// exit 2), and build the logger. The caller defers log.Sync().
func setup[T any, P commandConfig[T]](l loader[T], args []string, stderr io.Writer, usage string) (*T, *zap.Logger, error) {
	cfg, err := l.load(args, stderr, usage)
	if err != nil {
		return nil, nil, err
	}
	if err := P(&cfg).validate(); err != nil {
		return nil, nil, usageError{err}
	}
	log, err := newLogger(P(&cfg).logging())
	if err != nil {
		return nil, nil, usageError{err}
	}
	return &cfg, log, nil
}

// runtimeKnobs are the Go runtime settings of the long-running commands.
type runtimeKnobs struct {
	memoryLimitMiB, gcPercent, summaryTop int
}

func (k runtimeKnobs) validate() error {
	var errs []error
	if k.gcPercent < 10 || k.gcPercent > 1000 {
		errs = append(errs, fmt.Errorf("gc_percent %d out of range [10, 1000]", k.gcPercent))
	}
	if k.memoryLimitMiB < 0 {
		errs = append(errs, errors.New("memory_limit_mib must be >= 0"))
	}
	if k.summaryTop < 1 {
		errs = append(errs, errors.New("summary_top must be >= 1"))
	}
	return errors.Join(errs...)
}

// apply sets the soft memory limit (the backstop behind every cap) and the
// garbage collector's target.
func (k runtimeKnobs) apply() {
	if k.memoryLimitMiB > 0 {
		debug.SetMemoryLimit(int64(k.memoryLimitMiB) << 20)
	}
	debug.SetGCPercent(k.gcPercent)
}

func (c *sensorConfig) logging() logConfig   { return c.Log }
func (c *runConfig) logging() logConfig      { return c.Log }
func (c *analyzerConfig) logging() logConfig { return c.Log }
func (c *migrateConfig) logging() logConfig  { return c.Log }

func (c *migrateConfig) validate() error { return c.ClickHouse.Validate() }

func (c *sensorConfig) knobs() runtimeKnobs {
	return runtimeKnobs{memoryLimitMiB: c.MemoryLimitMiB, gcPercent: c.GCPercent, summaryTop: c.SummaryTop}
}

func (c *runConfig) knobs() runtimeKnobs {
	return runtimeKnobs{memoryLimitMiB: c.MemoryLimitMiB, gcPercent: c.GCPercent, summaryTop: c.SummaryTop}
}
