package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"go.uber.org/zap"

	"github.com/apitap/apitap/analyzer"
	"github.com/apitap/apitap/analyzer/alert/deliver"
	"github.com/apitap/apitap/bus/kafka"
)

// analyzerConfig is the whole configuration of `apitap analyzer`.
type analyzerConfig struct {
	Log        logConfig              `yaml:"log"`
	Kafka      kafka.SubscriberConfig `yaml:"kafka"`
	Analyzer   analyzer.Config        `yaml:"analyzer"`
	ClickHouse clickhouseConfig       `yaml:"clickhouse"`
	// Alerts sends findings to SIEMs (docs/alerting.md). Default: no
	// destinations.
	Alerts deliver.Config `yaml:"alerts"`
	// StatsInterval is how often the analyzer logs its counters. Default 30s.
	StatsInterval time.Duration `yaml:"stats_interval"`
	// FlushInterval is how often the whole inventory is stored: changed
	// endpoints are stored with every batch, but dormant operations and
	// templates folded since only at a flush. Default 5m.
	FlushInterval time.Duration `yaml:"flush_interval"`
}

func defaultAnalyzerConfig() analyzerConfig {
	ch := defaultClickHouse()
	ch.DSN = "clickhouse://127.0.0.1:9000/apitap"
	return analyzerConfig{
		Log:           logConfig{Level: "info", Format: "auto"},
		Kafka:         kafka.DefaultSubscriberConfig(),
		Analyzer:      analyzer.DefaultConfig(),
		ClickHouse:    ch,
		Alerts:        deliver.DefaultConfig(),
		StatsInterval: 30 * time.Second,
		FlushInterval: 5 * time.Minute,
	}
}

const analyzerUsage = `Usage: apitap analyzer --kafka BROKERS [--topic T] [--group G] --clickhouse DSN [flags]

Consumes the sensors' records from Kafka as a member of a consumer group
(several analyzers share the partitions), analyses them and stores the
results in ClickHouse. Offsets are committed only after the results are
stored, so a crash or a ClickHouse outage loses nothing (docs/storage.md).

Flags:
`

func bindAnalyzerFlags(fs *flag.FlagSet, c *analyzerConfig, configPath *string) {
	fs.StringVar(configPath, "config", "", "YAML configuration file")
	fs.Var(&stringList{p: &c.Kafka.Brokers}, "kafka", "Kafka brokers (host:port, comma-separated)")
	fs.StringVar(&c.Kafka.Topic, "topic", c.Kafka.Topic, "Kafka topic of exchange and loss records")
	fs.StringVar(&c.Kafka.Group, "group", c.Kafka.Group, "Kafka consumer group")
	fs.StringVar(&c.Kafka.DeadLetterTopic, "dead-letter-topic", c.Kafka.DeadLetterTopic, "topic for records that cannot be decoded (empty: count only)")
	bindClickHouseFlags(fs, &c.ClickHouse)
	fs.Var(&stringList{p: &c.Analyzer.Inventory.Specs}, "spec", "OpenAPI/Swagger spec file or folder (repeatable)")
	fs.DurationVar(&c.FlushInterval, "flush-interval", c.FlushInterval, "how often the whole inventory (dormant operations, folded templates) is stored")
	fs.DurationVar(&c.StatsInterval, "stats-interval", c.StatsInterval, "how often the counters are logged")
	fs.StringVar(&c.Log.Level, "log-level", c.Log.Level, "log level: debug, info, warn, error")
	fs.StringVar(&c.Log.Format, "log-format", c.Log.Format, "log format: auto, json, console")
}

func (c *analyzerConfig) validate() error {
	var errs []error
	if len(c.Kafka.Brokers) == 0 {
		errs = append(errs, errors.New("--kafka: brokers are required"))
	}
	if c.ClickHouse.DSN == "" {
		errs = append(errs, errors.New("--clickhouse: a DSN is required"))
	}
	for _, err := range []error{c.Kafka.Validate(), c.Analyzer.Validate(), c.ClickHouse.validate(), c.Alerts.Validate()} {
		if err != nil {
			errs = append(errs, err)
		}
	}
	if c.StatsInterval <= 0 || c.FlushInterval <= 0 {
		errs = append(errs, errors.New("stats_interval and flush_interval must be > 0"))
	}
	return errors.Join(errs...)
}

func runAnalyzer(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	l := loader[analyzerConfig]{name: "analyzer", defaults: defaultAnalyzerConfig, bind: bindAnalyzerFlags}
	cfg, log, err := setup(l, args, stderr, analyzerUsage)
	if err != nil {
		return err
	}
	defer log.Sync()
	return analyze(ctx, *cfg, log, nil)
}

// analyze runs one analyzer instance until ctx ends. wrap, when not nil,
// wraps the store sink (the tests use it to kill an analyzer between
// storing a batch and committing it).
func analyze(ctx context.Context, cfg analyzerConfig, log *zap.Logger, wrap func(analyzer.Sink) analyzer.Sink) error {
	st, err := openClickHouse(ctx, cfg.ClickHouse, log)
	if err != nil {
		return err
	}
	defer st.Close()
	var sink analyzer.Sink = st
	if wrap != nil {
		sink = wrap(st)
	}
	// Alerts after the store: a finding is spooled for the SIEMs only once
	// it is stored, and both before the batch is committed.
	alerts, err := deliver.New(cfg.Alerts, deliver.Settings{Logger: log, Version: version})
	if err != nil {
		return err
	}
	defer closeAlerts(alerts, cfg.Alerts, log)
	an, err := analyzer.New(cfg.Analyzer, analyzer.Settings{Logger: log, Sinks: []analyzer.Sink{sink, alerts}, State: st})
	if err != nil {
		return err
	}
	sub, err := kafka.NewSubscriber(cfg.Kafka, log)
	if err != nil {
		return err
	}
	defer sub.Close()
	log.Info("analyzer starting", zap.Strings("brokers", cfg.Kafka.Brokers), zap.String("topic", cfg.Kafka.Topic),
		zap.String("group", cfg.Kafka.Group), zap.String("version", version))
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		t := time.NewTicker(cfg.StatsInterval)
		defer t.Stop()
		f := time.NewTicker(cfg.FlushInterval)
		defer f.Stop()
		for {
			select {
			case <-f.C:
				if err := an.Flush(ctx); err != nil && ctx.Err() == nil {
					log.Warn("inventory flush failed; the next one retries", zap.Error(err))
				}
			case <-t.C:
				log.Info("analyzer stats", zap.Any("kafka", sub.Stats()), zap.Any("analyzer", an.Stats()), zap.Any("clickhouse", st.Stats()),
					zap.Any("alerts", alerts.Stats()))
			case <-stop:
				return
			}
		}
	}()
	// Analysis of batch N+1 overlaps the insert of batch N; commits stay
	// in order and after the insert (docs/kafka.md, "Staged handling").
	err = kafka.RunStaged(sub, ctx, an.Prepare, an.Store)
	log.Info("analyzer stopped", zap.Any("kafka", sub.Stats()), zap.Any("analyzer", an.Stats()), zap.Any("clickhouse", st.Stats()),
		zap.Any("alerts", alerts.Stats()))
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return nil // a signal: a clean stop
	}
	if err != nil {
		return fmt.Errorf("analyzer: %w", err)
	}
	return nil
}

// closeAlerts lets the alert workers deliver what is spooled for up to
// drain_timeout; the rest waits on disk for the next start.
func closeAlerts(d *deliver.Dispatcher, cfg deliver.Config, log *zap.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), cfg.DrainTimeout)
	defer cancel()
	if err := d.Close(ctx); err != nil {
		log.Warn("closing the alert spools", zap.Error(err))
	}
}
