package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// Configuration is loaded in one order everywhere: defaults, then the YAML
// file (--config), then APITAP_* environment variables, then flags. Each
// flag is bound to a field of the config struct, and its environment
// variable is APITAP_ followed by the flag name upper-cased with '-' → '_'.

// stringList is a repeatable flag. The first Set in a parsing phase replaces
// whatever an earlier phase (file, env) put there, later Sets append.
type stringList struct {
	p     *[]string
	fresh bool
}

func (s *stringList) String() string {
	if s == nil || s.p == nil {
		return ""
	}
	return strings.Join(*s.p, ",")
}

func (s *stringList) Set(v string) error {
	if !s.fresh {
		*s.p = nil
		s.fresh = true
	}
	for _, part := range strings.Split(v, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*s.p = append(*s.p, part)
		}
	}
	return nil
}

// loader loads one command's config of type T.
type loader[T any] struct {
	name string
	// defaults returns a config holding only the documented defaults.
	defaults func() T
	// bind registers the command's flags on fs, bound to the fields of c;
	// configPath receives --config.
	bind func(fs *flag.FlagSet, c *T, configPath *string)
	// lenient ignores YAML keys T does not have: a command that reads one
	// section of another command's file (apitap alert test).
	lenient bool
}

func envName(flagName string) string {
	return "APITAP_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// load returns defaults < file < env < flags.
func (l loader[T]) load(args []string, stderr io.Writer, usageText string) (T, error) {
	var zero T
	// Parse the args once on a scratch copy to find --config and to reject
	// bad flags before reading anything.
	scratch := l.defaults()
	var path string
	probe := flag.NewFlagSet(l.name, flag.ContinueOnError)
	probe.SetOutput(io.Discard)
	l.bind(probe, &scratch, &path)
	if err := probe.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stderr, usageText)
			probe.VisitAll(func(f *flag.Flag) {
				fmt.Fprintf(stderr, "  --%s  (env %s)\n      %s", f.Name, envName(f.Name), f.Usage)
				if f.DefValue != "" && f.DefValue != "[]" {
					fmt.Fprintf(stderr, " (default %s)", f.DefValue)
				}
				fmt.Fprintln(stderr)
			})
			return zero, flag.ErrHelp
		}
		return zero, usageError{err}
	}
	if probe.NArg() > 0 {
		return zero, usageError{fmt.Errorf("unexpected argument %q (flags start with --)", probe.Arg(0))}
	}
	if path == "" {
		path = os.Getenv(envName("config"))
	}
	cfg := l.defaults()
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return zero, fmt.Errorf("config: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(!l.lenient)
		if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
			return zero, fmt.Errorf("config %s: %w", path, err)
		}
	}
	var ignored string
	env := flag.NewFlagSet(l.name+" (environment)", flag.ContinueOnError)
	env.SetOutput(io.Discard)
	l.bind(env, &cfg, &ignored)
	var errs []error
	env.VisitAll(func(f *flag.Flag) {
		if v, ok := os.LookupEnv(envName(f.Name)); ok && f.Name != "config" {
			if err := env.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %v", envName(f.Name), v, err))
			}
		}
	})
	if err := errors.Join(errs...); err != nil {
		return zero, usageError{err}
	}
	fs := flag.NewFlagSet(l.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	l.bind(fs, &cfg, &ignored)
	if err := fs.Parse(args); err != nil {
		return zero, usageError{err}
	}
	return cfg, nil
}
