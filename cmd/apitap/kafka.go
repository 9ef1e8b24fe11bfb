package main

import (
	"os"
	"sync/atomic"

	"go.uber.org/zap"

	"github.com/apitap/apitap/bus/kafka"
	"github.com/apitap/apitap/flow"
	"github.com/apitap/apitap/schema/codec"
)

func defaultKafka() kafka.Config {
	c := kafka.DefaultConfig()
	c.Brokers = nil // Kafka is off until brokers are given
	return c
}

// newKafkaOutput builds the publisher with the v1 wire codec. Every record
// carries the sensor id and a per-sensor sequence number, shared by the
// exchange and loss encoders (they run on different goroutines).
func newKafkaOutput(cfg *sensorConfig, log *zap.Logger) (*kafka.Publisher, error) {
	return newPublisher(cfg.Kafka, sensorID(cfg.SensorID), cfg.Sensor.Capture.File != "", log)
}

// sensorID is the configured id, or the host name.
func sensorID(id string) string {
	if id == "" {
		id, _ = os.Hostname()
	}
	return id
}

// newPublisher builds a Kafka publisher for sensor id; block makes a full
// queue wait (file replay) instead of dropping (live capture).
func newPublisher(kc kafka.Config, id string, block bool, log *zap.Logger) (*kafka.Publisher, error) {
	var seq atomic.Uint64
	meta := func() codec.Meta {
		return codec.Meta{SensorID: id, SensorVersion: version, Sequence: seq.Add(1)}
	}
	return kafka.NewPublisher(kc, kafka.Settings{
		Logger:     log,
		SensorID:   id,
		Codec:      "apitap.flow.v1",
		Block:      block, // a file can wait; a live capture never blocks
		Encode:     func(dst []byte, e *flow.Exchange) ([]byte, error) { return codec.AppendExchange(dst, meta(), e) },
		EncodeLoss: func(dst []byte, l *flow.Loss) ([]byte, error) { return codec.AppendLoss(dst, meta(), l) },
	})
}
