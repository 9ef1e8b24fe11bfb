package sensor

import (
	"context"
	"sync/atomic"

	"github.com/apitap/apitap/flow"
)

type outItem struct {
	ex     []*flow.Exchange
	losses []flow.Loss
}

// output serialises delivery to the Consumer on one goroutine. In file mode
// workers wait for room; in live mode a full queue drops the batch and
// counts it, so a slow consumer never stalls capture.
type output struct {
	ch       chan outItem
	consumer flow.Consumer
	blocking bool

	dropped   atomic.Uint64 // exchanges dropped because the queue was full
	delivered atomic.Uint64
	errors    atomic.Uint64 // Consume calls that failed
	lastErr   atomic.Value
}

func newOutput(c flow.Consumer, depth int, blocking bool) *output {
	return &output{ch: make(chan outItem, depth), consumer: c, blocking: blocking}
}

func (o *output) push(it outItem) {
	if o.blocking {
		o.ch <- it
		return
	}
	select {
	case o.ch <- it:
	default:
		o.dropped.Add(uint64(len(it.ex)))
	}
}

func (o *output) close() { close(o.ch) }

func (o *output) run(ctx context.Context) error {
	var first error
	for it := range o.ch {
		if err := o.consumer.Consume(ctx, flow.Batch{Exchanges: it.ex, Losses: it.losses}); err != nil {
			o.errors.Add(1)
			if first == nil {
				first = err
			}
			continue
		}
		o.delivered.Add(uint64(len(it.ex)))
	}
	return first
}
