package main

import (
	"flag"

	"github.com/apitap/apitap/sensor"
)

// bindStageFlags binds the most used per-stage knobs; the rest are set in
// the YAML file (docs/config.md).
func bindStageFlags(fs *flag.FlagSet, s *sensor.Config) {}
