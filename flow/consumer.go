package flow

import "context"

// Consumer receives batches of records. Consume takes ownership of the
// slices' elements; the caller must not touch them after the call. The batch
// slice itself may be reused by the caller once Consume returns.
type Consumer interface {
	Consume(ctx context.Context, batch Batch) error
}

// Batch is a group of records from one producer.
type Batch struct {
	Exchanges []*Exchange
	Losses    []Loss
}

// ConsumerFunc adapts a function to Consumer.
type ConsumerFunc func(ctx context.Context, batch Batch) error

func (f ConsumerFunc) Consume(ctx context.Context, b Batch) error { return f(ctx, b) }
