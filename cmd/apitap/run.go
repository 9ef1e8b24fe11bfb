package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/apitap/apitap/analyzer"
	"github.com/apitap/apitap/analyzer/alert/deliver"
	"github.com/apitap/apitap/analyzer/report"
	"github.com/apitap/apitap/bus/kafka"
	"github.com/apitap/apitap/bus/mem"
	"github.com/apitap/apitap/flow"
	"github.com/apitap/apitap/sensor"
	"github.com/apitap/apitap/sink"
)

// runConfig is the whole configuration of `apitap run`: the sensor and the
// analyzer in one process, joined by the in-memory bus.
type runConfig struct {
	Log      logConfig       `yaml:"log"`
	Sensor   sensor.Config   `yaml:"sensor"`
	Bus      mem.Config      `yaml:"bus"`
	Analyzer analyzer.Config `yaml:"analyzer"`
	// Out is the folder the results are written to (docs/run.md lists the
	// files). Default "apitap-out".
	Out string `yaml:"out"`
	// Kafka, when brokers are set, also publishes the sensor's records.
	Kafka kafka.Config `yaml:"kafka"`
	// ClickHouse, when a DSN is set, also stores the results.
	ClickHouse clickhouseConfig `yaml:"clickhouse"`
	// Alerts sends findings to SIEMs (docs/alerting.md). Default: no
	// destinations.
	Alerts deliver.Config `yaml:"alerts"`
	// SensorID names the sensor in its records. Default: the host name.
	SensorID string `yaml:"sensor_id"`
	// SummaryTop is how many endpoints the summary lists. Default 15.
	SummaryTop int `yaml:"summary_top"`
	// Progress: auto (a bar on a terminal when replaying a file), always,
	// never. Default auto.
	Progress string `yaml:"progress"`
	// MemoryLimitMiB and GCPercent: as for the sensor command. Defaults 1024, 50.
	MemoryLimitMiB int `yaml:"memory_limit_mib"`
	GCPercent      int `yaml:"gc_percent"`
}

func defaultRunConfig() runConfig {
	return runConfig{
		Log:            logConfig{Level: "warn", Format: "auto"},
		Sensor:         sensor.DefaultConfig(),
		Bus:            mem.DefaultConfig(),
		Analyzer:       analyzer.DefaultConfig(),
		Out:            "apitap-out",
		Kafka:          defaultKafka(),
		ClickHouse:     defaultClickHouse(),
		Alerts:         deliver.DefaultConfig(),
		SummaryTop:     15,
		Progress:       "auto",
		MemoryLimitMiB: 1024,
		GCPercent:      50,
	}
}

const runUsage = `Usage: apitap run (--pcap FILE | --iface IF) [--spec FILE|DIR]... [--out DIR] [flags]

Runs the sensor and the analyzer in one process, joined by an in-memory
queue: no Kafka and no ClickHouse needed. Results go to DIR
(endpoints.jsonl, openapi.json, findings.jsonl, probes.json, loss.json,
summary.txt; docs/run.md) and a summary is printed. --spec FILE|DIR
(repeatable) compares the traffic with your OpenAPI specs: shadow, zombie
and dormant endpoints. With
--clickhouse DSN the results are also stored in ClickHouse; with --kafka the
sensor's records are also published.

Flags:
`

func bindRunFlags(fs *flag.FlagSet, c *runConfig, configPath *string) {
	fs.StringVar(configPath, "config", "", "YAML configuration file")
	bindCaptureFlags(fs, &c.Sensor)
	bindStageFlags(fs, &c.Sensor)
	fs.StringVar(&c.Out, "out", c.Out, "folder for the result files")
	fs.Var(&stringList{p: &c.Analyzer.Inventory.Specs}, "spec", "OpenAPI/Swagger spec file or folder (repeatable)")
	fs.IntVar(&c.SummaryTop, "summary-top", c.SummaryTop, "endpoints listed in the summary")
	fs.StringVar(&c.Progress, "progress", c.Progress, "progress bar: auto, always, never")
	fs.Var(&stringList{p: &c.Kafka.Brokers}, "kafka", "also publish the sensor's records to these Kafka brokers")
	fs.StringVar(&c.Kafka.Topic, "topic", c.Kafka.Topic, "Kafka topic for exchange and loss records")
	bindClickHouseFlags(fs, &c.ClickHouse)
	fs.StringVar(&c.SensorID, "sensor-id", c.SensorID, "the sensor's name in its records (default: host name)")
	fs.IntVar(&c.MemoryLimitMiB, "memory-limit-mib", c.MemoryLimitMiB, "soft memory limit of the process in MiB (0: none)")
	fs.IntVar(&c.GCPercent, "gc-percent", c.GCPercent, "garbage collector target (GOGC)")
	fs.StringVar(&c.Log.Level, "log-level", c.Log.Level, "log level: debug, info, warn, error")
	fs.StringVar(&c.Log.Format, "log-format", c.Log.Format, "log format: auto, json, console")
}

func (c *runConfig) validate() error {
	var errs []error
	for _, err := range []error{c.Sensor.Validate(), c.Bus.Validate(), c.Analyzer.Validate(), c.ClickHouse.validate(), c.Alerts.Validate()} {
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(c.Kafka.Brokers) > 0 {
		if err := c.Kafka.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if c.Out == "" {
		errs = append(errs, errors.New("out: a folder is needed"))
	}
	switch c.Progress {
	case "auto", "always", "never":
	default:
		errs = append(errs, fmt.Errorf("progress %q: want auto, always or never", c.Progress))
	}
	if err := c.knobs().validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	l := loader[runConfig]{name: "run", defaults: defaultRunConfig, bind: bindRunFlags}
	cfg, log, err := setup(l, args, stderr, runUsage)
	if err != nil {
		return err
	}
	defer log.Sync()
	cfg.knobs().apply()
	id := sensorID(cfg.SensorID)
	file := cfg.Sensor.Capture.File != ""

	// Analyzer side: ClickHouse first, the report last, so a batch the
	// store refuses is never half-counted in the report.
	rep := report.New()
	var sinks []analyzer.Sink
	var closeStore func()
	var state analyzer.StateLoader
	if cfg.ClickHouse.DSN != "" {
		st, err := openClickHouse(ctx, cfg.ClickHouse, log)
		if err != nil {
			return err
		}
		sinks = append(sinks, st)
		state = st
		closeStore = func() { st.Close() }
	}
	alerts, err := deliver.New(cfg.Alerts, deliver.Settings{Logger: log, Version: version})
	if err != nil {
		return err
	}
	alertsOpen := true
	defer func() {
		if alertsOpen {
			closeAlerts(alerts, cfg.Alerts, log)
		}
	}()
	sinks = append(sinks, alerts, rep)
	an, err := analyzer.New(cfg.Analyzer, analyzer.Settings{Logger: log, Sinks: sinks, State: state})
	if err != nil {
		return err
	}
	bus, err := mem.New(cfg.Bus, mem.Settings{SensorID: id, SensorVersion: version, Block: file})
	if err != nil {
		return err
	}

	// Sensor side: the bus, plus Kafka when asked.
	var consumer flow.Consumer = bus
	var pub *kafka.Publisher
	if len(cfg.Kafka.Brokers) > 0 {
		if pub, err = newPublisher(cfg.Kafka, id, file, log); err != nil {
			return err
		}
		consumer = sink.Tee([]flow.Consumer{bus, pub})
	}
	s, err := sensor.New(cfg.Sensor, sensor.Settings{Logger: log, Consumer: consumer})
	if err != nil {
		return err
	}

	// The analyzer keeps draining until the bus is closed; it stops early
	// only when ctx ends (then what is queued is lost, and said so).
	actx, acancel := context.WithCancel(context.WithoutCancel(ctx))
	defer acancel()
	stopAnalyzerOnSignal := context.AfterFunc(ctx, acancel)
	defer stopAnalyzerOnSignal()
	var wg sync.WaitGroup
	var anErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		anErr = bus.Run(actx, an.Consume)
	}()

	bar := newProgress(cfg.Progress, file, stderr, s, an)
	start := time.Now()
	runErr := s.Run(ctx)
	bus.Close()
	wg.Wait()
	bar.stop()
	var errs []error
	if anErr == nil && ctx.Err() == nil {
		// The final inventory: templates folded, dormant operations, to
		// every sink (ClickHouse when enabled).
		fctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		anErr = an.Flush(fctx)
		cancel()
	}
	if runErr != nil && !errors.Is(runErr, context.Canceled) {
		errs = append(errs, runErr)
	}
	if anErr != nil && !errors.Is(anErr, context.Canceled) {
		errs = append(errs, fmt.Errorf("analyzer: %w", anErr))
	}
	if pub != nil {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		errs = append(errs, pub.Close(cctx))
		cancel()
	}
	if closeStore != nil {
		closeStore()
	}
	// Deliver what the run raised before reporting on it.
	closeAlerts(alerts, cfg.Alerts, log)
	alertsOpen = false
	snap := report.Snapshot(an.Inventory())
	snap.Anomalies = an.Anomalies()
	if err := rep.WriteDir(cfg.Out, cfg.SummaryTop, snap); err != nil {
		errs = append(errs, fmt.Errorf("writing %s: %w", cfg.Out, err))
	}
	rep.Summary(stdout, cfg.SummaryTop, snap)
	st, bs, as := s.Stats(), bus.Stats(), an.Stats()
	fmt.Fprintf(stdout, "\nresults in %s/ (%s, %s, %s, %s, %s, %s) — %.1fs\n", strings.TrimRight(cfg.Out, "/"),
		report.EndpointsFile, report.OpenAPIFile, report.FindingsFile, report.ProbesFile, report.LossFile,
		report.SummaryFile, time.Since(start).Seconds())
	log.Info("run finished", zap.Uint64("frames", st.Capture.Received), zap.Uint64("exchanges", st.Exchanges),
		zap.Uint64("bus_dropped", bs.Dropped), zap.Uint64("analyzed", as.Exchanges), zap.Any("inventory", as.Inventory))
	if cfg.Alerts.Enabled() {
		fmt.Fprintln(stdout, alertSummary(alerts.Stats()))
	}
	if bs.Dropped > 0 {
		log.Warn("the in-memory bus was full: records dropped (reported as loss)", zap.Uint64("records", bs.Dropped))
	}
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "apitap: interrupted; the results cover what was analysed until then")
	}
	return errors.Join(errs...)
}

// progress draws a one-line bar on stderr while a file is replayed.
type progress struct {
	done chan struct{}
	wg   sync.WaitGroup
}

func newProgress(mode string, file bool, w io.Writer, s *sensor.Sensor, an *analyzer.Analyzer) *progress {
	p := &progress{done: make(chan struct{})}
	show := mode == "always" || (mode == "auto" && file && isTerminal(w))
	if !show {
		return p
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		start := time.Now()
		draw := func() {
			read, total := s.Progress()
			fmt.Fprint(w, "\r"+progressLine(read, total, an.Stats().Exchanges, time.Since(start)))
		}
		for {
			select {
			case <-t.C:
				draw()
			case <-p.done:
				draw()
				fmt.Fprintln(w)
				return
			}
		}
	}()
	return p
}

func (p *progress) stop() {
	close(p.done)
	p.wg.Wait()
}

// progressLine renders the bar: [=====>    ]  45%  120/270 MiB  12345 exchanges  3.2s
func progressLine(read, total, exchanges uint64, elapsed time.Duration) string {
	const width = 30
	var b strings.Builder
	if total > 0 {
		frac := min(float64(read)/float64(total), 1)
		n := int(frac * width)
		b.WriteString("[")
		b.WriteString(strings.Repeat("=", n))
		if n < width {
			b.WriteString(">")
			b.WriteString(strings.Repeat(" ", width-n-1))
		}
		fmt.Fprintf(&b, "] %3.0f%%  %d/%d MiB", frac*100, read>>20, total>>20)
	} else {
		fmt.Fprintf(&b, "%d MiB", read>>20)
	}
	fmt.Fprintf(&b, "  %d exchanges  %.1fs ", exchanges, elapsed.Seconds())
	return b.String()
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
