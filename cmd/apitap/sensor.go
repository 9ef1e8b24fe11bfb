package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/apitap/apitap/bus/kafka"
	"github.com/apitap/apitap/flow"
	"github.com/apitap/apitap/sensor"
	"github.com/apitap/apitap/sink"
)

// sensorConfig is the whole configuration of `apitap sensor`; its YAML form
// is documented in docs/config.md.
type sensorConfig struct {
	Log    logConfig     `yaml:"log"`
	Sensor sensor.Config `yaml:"sensor"`
	// Outputs: jsonl:-, jsonl:PATH, summary[:-|:PATH], null. Default: none
	// when Kafka is configured, else [jsonl:-].
	Outputs []string `yaml:"outputs"`
	// Kafka publishes the records (docs/kafka.md) when brokers are set.
	Kafka kafka.Config `yaml:"kafka"`
	// SensorID names this sensor in every published record. Default: the host name.
	SensorID string `yaml:"sensor_id"`
	// SummaryTop is how many endpoint rows the summary output shows. Default 15.
	SummaryTop int `yaml:"summary_top"`
	// MemoryLimitMiB is the Go runtime's soft memory limit: past it the
	// garbage collector works harder to stay under. Every cache and queue
	// has its own cap (docs/config.md, memory budget); this is the backstop.
	// 0 disables it. Default 512.
	MemoryLimitMiB int `yaml:"memory_limit_mib"`
	// GCPercent is the garbage collector's target (GOGC). The sensor's
	// live heap is small and its garbage is almost all finished records,
	// so a tighter target keeps the resident set low and flat at about the
	// same CPU cost (docs/performance.md). Default 50.
	GCPercent int `yaml:"gc_percent"`
}

func defaultSensorConfig() sensorConfig {
	return sensorConfig{
		Log:            logConfig{Level: "info", Format: "auto"},
		Sensor:         sensor.DefaultConfig(),
		Kafka:          defaultKafka(),
		SummaryTop:     15,
		MemoryLimitMiB: 512,
		GCPercent:      50,
	}
}

const sensorUsage = `Usage: apitap sensor (--pcap FILE | --iface IF) [flags]

Captures HTTP/1.x traffic from a pcap/pcapng file or a live interface and
writes one record per request/response exchange (docs/exchange-format.md).

Flags:
`

func bindSensorFlags(fs *flag.FlagSet, c *sensorConfig, configPath *string) {
	fs.StringVar(configPath, "config", "", "YAML configuration file")
	bindCaptureFlags(fs, &c.Sensor)
	fs.Var(&stringList{p: &c.Outputs}, "output", "output: jsonl:-, jsonl:PATH, summary, summary:PATH, null (repeatable; default jsonl:- unless --kafka)")
	fs.IntVar(&c.SummaryTop, "summary-top", c.SummaryTop, "endpoint rows in the summary output")
	fs.IntVar(&c.MemoryLimitMiB, "memory-limit-mib", c.MemoryLimitMiB, "soft memory limit of the process in MiB (0: none)")
	fs.IntVar(&c.GCPercent, "gc-percent", c.GCPercent, "garbage collector target (GOGC)")
	fs.Var(&stringList{p: &c.Kafka.Brokers}, "kafka", "publish to these Kafka brokers (host:port, comma-separated)")
	fs.StringVar(&c.Kafka.Topic, "topic", c.Kafka.Topic, "Kafka topic for exchange and loss records")
	fs.StringVar(&c.SensorID, "sensor-id", c.SensorID, "this sensor's name in published records (default: host name)")
	fs.StringVar(&c.Log.Level, "log-level", c.Log.Level, "log level: debug, info, warn, error")
	fs.StringVar(&c.Log.Format, "log-format", c.Log.Format, "log format: auto, json, console")
	bindStageFlags(fs, &c.Sensor)
}

// bindCaptureFlags binds the capture and worker flags shared by sensor and run.
func bindCaptureFlags(fs *flag.FlagSet, s *sensor.Config) {
	fs.StringVar(&s.Capture.File, "pcap", s.Capture.File, "read a pcap or pcapng file (- for stdin)")
	fs.StringVar(&s.Capture.Interface, "iface", s.Capture.Interface, "capture live on this interface")
	fs.StringVar((*string)(&s.Capture.Engine), "engine", string(s.Capture.Engine), "live capture engine: auto, afpacket, pcap")
	fs.StringVar(&s.Capture.BPF, "bpf", s.Capture.BPF, "BPF filter expression (tcpdump syntax)")
	fs.IntVar(&s.Capture.Snaplen, "snaplen", s.Capture.Snaplen, "bytes captured per frame")
	fs.BoolVar(&s.Capture.Promisc, "promisc", s.Capture.Promisc, "promiscuous mode")
	fs.IntVar(&s.Capture.Fanout, "fanout", s.Capture.Fanout, "AF_PACKET fanout sockets (reader goroutines)")
	fs.IntVar(&s.Capture.RingMiB, "ring-mib", s.Capture.RingMiB, "capture ring/buffer size per socket, MiB")
	fs.IntVar(&s.Workers, "workers", s.Workers, "reassembly/HTTP workers (flows are sharded by hash)")
}

func (c *sensorConfig) validate() error {
	var errs []error
	if err := c.Sensor.Validate(); err != nil {
		errs = append(errs, err)
	}
	if len(c.Outputs) == 0 && len(c.Kafka.Brokers) == 0 {
		c.Outputs = []string{"jsonl:-"}
	}
	if len(c.Kafka.Brokers) > 0 {
		if err := c.Kafka.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	for _, o := range c.Outputs {
		kind, _, _ := strings.Cut(o, ":")
		switch kind {
		case "jsonl", "summary", "null":
		default:
			errs = append(errs, fmt.Errorf("output %q: want jsonl:-, jsonl:PATH, summary[:PATH] or null", o))
		}
	}
	if err := c.knobs().validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func runSensor(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	l := loader[sensorConfig]{name: "sensor", defaults: defaultSensorConfig, bind: bindSensorFlags}
	cfg, log, err := setup(l, args, stderr, sensorUsage)
	if err != nil {
		return err
	}
	defer log.Sync()
	cfg.knobs().apply()

	outs, finish, err := openOutputs(cfg.Outputs, cfg.SummaryTop, stdout)
	if err != nil {
		return err
	}
	if len(cfg.Kafka.Brokers) > 0 {
		pub, err := newKafkaOutput(cfg, log)
		if err != nil {
			finish()
			return err
		}
		outs = append(outs, pub)
		prev := finish
		finish = func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err := pub.Close(ctx)
			st := pub.Stats()
			log.Info("kafka publisher closed", zap.Any("stats", st))
			return errors.Join(err, prev())
		}
	}
	var consumer flow.Consumer = sink.Tee(outs)
	if len(outs) == 1 {
		consumer = outs[0]
	}
	s, err := sensor.New(cfg.Sensor, sensor.Settings{Logger: log, Consumer: consumer})
	if err != nil {
		finish()
		return err
	}
	src := cfg.Sensor.Capture.File
	if src == "" {
		src = cfg.Sensor.Capture.Interface
	}
	log.Info("sensor starting", zap.String("source", src), zap.Int("workers", cfg.Sensor.Workers),
		zap.Strings("outputs", cfg.Outputs), zap.String("version", version))
	start := time.Now()
	runErr := s.Run(ctx)
	ferr := finish()
	st := s.Stats()
	log.Info("sensor stopped", zap.Duration("elapsed", time.Since(start)),
		zap.Uint64("frames", st.Capture.Received), zap.Uint64("exchanges", st.Exchanges),
		zap.Uint64("kernel_drops", st.Capture.Dropped), zap.Uint64("queue_drops", st.QueueDrops),
		zap.Bool("truncated_file", st.Capture.TruncatedFile))
	if st.Capture.TruncatedFile {
		log.Warn("capture file ends in the middle of a record; everything before it was processed")
	}
	return errors.Join(runErr, ferr)
}

// openOutputs builds the consumers; finish flushes and closes them (and
// prints summaries) once the sensor has drained.
func openOutputs(specs []string, top int, stdout io.Writer) ([]flow.Consumer, func() error, error) {
	var outs []flow.Consumer
	var closers []func() error
	finish := func() error {
		var errs []error
		for _, c := range closers {
			errs = append(errs, c())
		}
		return errors.Join(errs...)
	}
	for _, spec := range specs {
		kind, arg, _ := strings.Cut(spec, ":")
		switch kind {
		case "jsonl":
			var j *sink.JSONL
			if arg == "" || arg == "-" {
				j = sink.NewJSONL(stdout, nil)
			} else {
				var err error
				if j, err = sink.OpenJSONL(arg); err != nil {
					finish()
					return nil, nil, err
				}
			}
			outs = append(outs, j)
			closers = append(closers, j.Close)
		case "summary":
			s := sink.NewSummary()
			outs = append(outs, s)
			w, path := stdout, arg
			closers = append(closers, func() error {
				if path != "" && path != "-" {
					f, err := os.Create(path)
					if err != nil {
						return err
					}
					s.Write(f, top)
					return f.Close()
				}
				s.Write(w, top)
				return nil
			})
		case "null":
			outs = append(outs, &sink.Discard{})
		}
	}
	return outs, finish, nil
}
