package kafka

// The analyzer's side of the bus: a consumer-group subscriber that hands
// batches of decoded records to a handler and commits their offsets only
// after the handler has accepted them (at least once). docs/kafka.md,
// "Analyzer side", describes the semantics.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/apitap/apitap/schema/codec"
)

// SubscriberConfig is the user configuration of the Kafka subscriber (the
// analyzer's YAML key "kafka"). Every field's comment states its default;
// DefaultSubscriberConfig returns them. docs/kafka.md documents each knob.
type SubscriberConfig struct {
	// Brokers are the bootstrap brokers, host:port. Required, no default.
	Brokers []string `yaml:"brokers"`
	// Topic is the topic the sensors publish to. Default "apitap.exchanges".
	Topic string `yaml:"topic"`
	// Group is the consumer group: analyzers sharing it split the topic's
	// partitions between them. Default "apitap-analyzer".
	Group string `yaml:"group"`
	// ClientID is the Kafka client id sent to the brokers (quotas, broker
	// logs). Default "apitap-analyzer".
	ClientID string `yaml:"client_id"`
	// DeadLetterTopic receives, unchanged and with headers saying why and
	// where from, every message that is not a record this analyzer can read
	// (malformed, newer schema version, unknown record kind). The topic must
	// exist. Empty disables it: such messages are then only counted.
	// Default "apitap.exchanges.dlq".
	DeadLetterTopic string `yaml:"dead_letter_topic"`

	// BatchRecords is the largest number of records handed to the handler
	// at once. Default 20000.
	BatchRecords int `yaml:"batch_records"`
	// BatchBytes bounds the message bytes (keys and values) of one batch:
	// a batch ends at BatchRecords or BatchBytes, whichever comes first, so
	// the batches in memory stay bounded however large the records are
	// (bodies up to the sensor's max_body_bytes each way). Default 64 MiB.
	BatchBytes int `yaml:"batch_bytes"`
	// BatchWait is how long a batch may wait to fill once its first message
	// has arrived. Default 1s.
	BatchWait time.Duration `yaml:"batch_wait"`

	// MinBytes is the least data a fetch asks the broker to wait for.
	// Default 1 (answer as soon as anything is there).
	MinBytes int `yaml:"fetch_min_bytes"`
	// MaxBytes is the most data one fetch returns per partition. A single
	// record batch larger than it is still returned. Default 8 MiB.
	MaxBytes int `yaml:"fetch_max_bytes"`
	// MaxWait is how long the broker may hold a fetch waiting for MinBytes.
	// Default 500ms (kafka-go's own default of 10s never applies).
	MaxWait time.Duration `yaml:"fetch_max_wait"`

	// SessionTimeout is how long the group coordinator waits without a
	// heartbeat before it declares this member dead and hands its
	// partitions to the others. Must lie within the brokers'
	// group.min/max.session.timeout.ms (Kafka: 6s..30m). Default 30s.
	SessionTimeout time.Duration `yaml:"session_timeout"`
	// RebalanceTimeout is how long the coordinator waits for every member
	// to rejoin during a rebalance. Default 30s.
	RebalanceTimeout time.Duration `yaml:"rebalance_timeout"`
	// HeartbeatInterval is how often the member heartbeats; it learns of a
	// rebalance at its next heartbeat. At most a third of SessionTimeout.
	// Default 3s.
	HeartbeatInterval time.Duration `yaml:"heartbeat_interval"`
	// StartOffset is where a group with no committed offset for a partition
	// starts: "earliest" (everything retained) or "latest" (only new
	// records). Default "earliest".
	StartOffset string `yaml:"start_offset"`

	// RetryMin and RetryMax bound the exponential backoff between retries
	// of a failed handler call, a failed dead-letter write, a failed fetch
	// or group join. Defaults 100ms and 10s.
	RetryMin time.Duration `yaml:"retry_min"`
	RetryMax time.Duration `yaml:"retry_max"`
	// DialTimeout bounds connecting (and the TLS and SASL handshakes) to a
	// broker. Default 5s.
	DialTimeout time.Duration `yaml:"dial_timeout"`

	// TLS configures encryption to the brokers. Default: disabled.
	TLS TLSConfig `yaml:"tls"`
	// SASL configures authentication. Default: disabled.
	SASL SASLConfig `yaml:"sasl"`

	_ struct{} // prevent unkeyed literals
}

// Subscriber defaults, also documented on the fields.
const (
	DefaultSubscriberGroup      = "apitap-analyzer"
	DefaultSubscriberClientID   = "apitap-analyzer"
	DefaultDeadLetterTopic      = "apitap.exchanges.dlq"
	DefaultBatchRecords         = 20_000
	DefaultSubscriberBatchBytes = 64 << 20
	DefaultBatchWait            = time.Second
	DefaultFetchMinBytes        = 1
	DefaultFetchMaxBytes        = 8 << 20
	DefaultFetchMaxWait         = 500 * time.Millisecond
	DefaultSessionTimeout       = 30 * time.Second
	DefaultRebalanceTimeout     = 30 * time.Second
	DefaultHeartbeatInterval    = 3 * time.Second
	DefaultStartOffset          = "earliest"
	DefaultRetryMin             = 100 * time.Millisecond
	DefaultRetryMax             = 10 * time.Second
)

// DefaultSubscriberConfig returns the documented defaults. Brokers stays
// empty.
func DefaultSubscriberConfig() SubscriberConfig {
	return SubscriberConfig{
		Topic:             DefaultTopic,
		Group:             DefaultSubscriberGroup,
		ClientID:          DefaultSubscriberClientID,
		DeadLetterTopic:   DefaultDeadLetterTopic,
		BatchRecords:      DefaultBatchRecords,
		BatchBytes:        DefaultSubscriberBatchBytes,
		BatchWait:         DefaultBatchWait,
		MinBytes:          DefaultFetchMinBytes,
		MaxBytes:          DefaultFetchMaxBytes,
		MaxWait:           DefaultFetchMaxWait,
		SessionTimeout:    DefaultSessionTimeout,
		RebalanceTimeout:  DefaultRebalanceTimeout,
		HeartbeatInterval: DefaultHeartbeatInterval,
		StartOffset:       DefaultStartOffset,
		RetryMin:          DefaultRetryMin,
		RetryMax:          DefaultRetryMax,
		DialTimeout:       DefaultDialTimeout,
	}
}

func validTopic(t string) bool {
	return t != "" && len(t) <= 249 && t != "." && t != ".." &&
		strings.Trim(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == ""
}

// Validate reports every problem at once. It does not read files or the
// environment; NewSubscriber does, and fails on what it cannot load.
func (c *SubscriberConfig) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf("kafka: "+format, a...)) }
	if len(c.Brokers) == 0 {
		add("no brokers")
	}
	for _, b := range c.Brokers {
		if _, port, err := net.SplitHostPort(b); err != nil || port == "" {
			add("broker %q is not host:port", b)
		}
	}
	if !validTopic(c.Topic) {
		add("topic %q is not a valid Kafka topic name", c.Topic)
	}
	if c.Group == "" {
		add("group is required")
	}
	if c.DeadLetterTopic != "" && !validTopic(c.DeadLetterTopic) {
		add("dead_letter_topic %q is not a valid Kafka topic name", c.DeadLetterTopic)
	}
	if c.DeadLetterTopic != "" && c.DeadLetterTopic == c.Topic {
		add("dead_letter_topic must differ from topic (bad records would come back forever)")
	}
	if c.BatchRecords < 1 || c.BatchRecords > 1_000_000 {
		add("batch_records %d out of range [1, 1000000]", c.BatchRecords)
	}
	if c.BatchBytes < 64<<10 || c.BatchBytes > 1<<30 {
		add("batch_bytes %d out of range [64 KiB, 1 GiB]", c.BatchBytes)
	}
	if c.BatchWait <= 0 {
		add("batch_wait must be positive")
	}
	if c.MinBytes < 1 {
		add("fetch_min_bytes %d must be >= 1", c.MinBytes)
	}
	if c.MaxBytes < 1024 || c.MaxBytes > 1<<30 || c.MaxBytes < c.MinBytes {
		add("fetch_max_bytes %d out of range [max(1 KiB, fetch_min_bytes), 1 GiB]", c.MaxBytes)
	}
	if c.MaxWait <= 0 {
		add("fetch_max_wait must be positive")
	}
	if c.SessionTimeout <= 0 || c.RebalanceTimeout <= 0 || c.HeartbeatInterval <= 0 {
		add("session_timeout, rebalance_timeout and heartbeat_interval must be positive")
	} else if 3*c.HeartbeatInterval > c.SessionTimeout {
		add("heartbeat_interval %v must be at most a third of session_timeout %v", c.HeartbeatInterval, c.SessionTimeout)
	}
	if _, ok := startOffsets[c.StartOffset]; !ok {
		add("start_offset %q: want earliest or latest", c.StartOffset)
	}
	if c.RetryMin <= 0 || c.RetryMax < c.RetryMin {
		add("retry_min must be positive and retry_max >= retry_min")
	}
	if c.DialTimeout <= 0 {
		add("dial_timeout must be positive")
	}
	if err := c.TLS.validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.SASL.validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

var startOffsets = map[string]int64{"earliest": kafkago.FirstOffset, "latest": kafkago.LastOffset}

// Handler receives a batch of decoded records (exchanges and loss records,
// in partition order within each partition). Returning nil means the batch
// is durably processed: its offsets are then committed. A non-nil error
// makes the subscriber call it again with the same batch, after a backoff,
// until it returns nil or the context ends — so it must be idempotent, as
// it must anyway: after a crash or a rebalance a batch can be delivered
// again.
//
// Ownership: the records (and the memory their strings and slices point
// into) are the handler's to keep; the slice itself is reused for the next
// batch. A retry passes the same records again, so the handler must not
// modify them.
type Handler func(ctx context.Context, recs []codec.Record) error

// ErrSubscriberClosed is returned by Run after Close.
var ErrSubscriberClosed = errors.New("kafka: subscriber closed")

// Why a message was dead-lettered (header HeaderDLQReason).
const (
	ReasonMalformed     = "malformed"      // codec.ErrMalformed: not a record
	ReasonFutureVersion = "future_version" // codec.ErrFutureVersion: newer schema_version
	ReasonUnknownKind   = "unknown_kind"   // codec.ErrUnknownKind: a record kind this reader does not know
)

// Headers added to a dead-lettered message (after the original headers).
const (
	HeaderDLQReason    = "apitap-dlq-reason"    // ReasonMalformed, ReasonFutureVersion or ReasonUnknownKind
	HeaderDLQError     = "apitap-dlq-error"     // the decoder's error message
	HeaderDLQTopic     = "apitap-dlq-topic"     // where the message was read
	HeaderDLQPartition = "apitap-dlq-partition" // decimal
	HeaderDLQOffset    = "apitap-dlq-offset"    // decimal
	HeaderDLQTime      = "apitap-dlq-time"      // the original Kafka timestamp, RFC 3339 UTC
	HeaderDLQGroup     = "apitap-dlq-group"     // the consumer group that rejected it
	HeaderDLQTruncated = "apitap-dlq-truncated" // original value length, only when the value had to be cut
)

// dlqMaxMessage bounds a dead-lettered message (key + value + headers) so
// that it fits the broker's default max.message.bytes (1 MiB + 12); larger
// values are cut and marked with HeaderDLQTruncated.
const (
	dlqBatchBytes = 1 << 20
	dlqMaxMessage = dlqBatchBytes - 4<<10
)

// commitTimeout bounds one offset commit (kafka-go retries it 3 times).
const commitTimeout = 15 * time.Second

const (
	reasonMalformed = iota
	reasonFuture
	reasonUnknown
	nReasons
)

var reasonNames = [nReasons]string{ReasonMalformed, ReasonFutureVersion, ReasonUnknownKind}

// SubscriberStats are the subscriber's counters (since NewSubscriber).
type SubscriberStats struct {
	Fetched   uint64 // messages fetched from Kafka (a redelivered message counts again)
	Delivered uint64 // records in batches the handler accepted
	Batches   uint64 // batches the handler accepted (or that held only dead letters)
	Committed uint64 // messages whose offsets were committed (records and dead letters)
	// Malformed, FutureVersion and UnknownKind count the messages that
	// failed decoding, by reason, once their batch is settled (dead-letter
	// write done, or dead-lettering disabled).
	Malformed, FutureVersion, UnknownKind uint64
	DeadLettered                          uint64 // of those, written to the dead-letter topic
	DeadLetterErrors                      uint64 // failed dead-letter writes (retried)
	HandlerRetries                        uint64 // failed handler calls (the batch was retried)
	Commits                               uint64 // successful offset commits (one per batch)
	CommitErrors                          uint64 // failed offset commits (the records will be redelivered)
	FetchErrors                           uint64 // errors from the Kafka client while fetching or joining the group
	// Lag is how many messages the partitions this member fetched in the
	// last minute are behind their high-water marks, as of the last batch.
	Lag int64
}

// Subscriber consumes the sensors' topic as a member of a consumer group and
// hands batches of decoded records to a Handler, at least once. Run is
// called once; Stats and Close are safe from any goroutine.
type Subscriber struct {
	cfg       SubscriberConfig
	log       *zap.Logger
	r         *kafkago.Reader
	dlq       *kafkago.Writer // nil when dead-lettering is disabled
	transport *kafkago.Transport
	stopTrans context.CancelFunc

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc

	runMu   sync.Mutex
	running bool
	closed  bool
	runWG   sync.WaitGroup

	closeOnce sync.Once
	closeErr  error

	fetched, delivered, batches, committed  atomic.Uint64
	invalid                                 [nReasons]atomic.Uint64
	deadLettered, dlqErrors, handlerRetries atomic.Uint64
	commits, commitErrors, fetchErrors      atomic.Uint64
	lag                                     atomic.Int64

	warnMu   sync.Mutex
	lastWarn map[string]time.Time
	warnN    map[string]int

	// Run-only state, reused from batch to batch: the batches of the
	// fetch/prepare/store pipeline, and scratch for dead letters, commits
	// and lag.
	spare   []*batch
	dlqMsgs []kafkago.Message
	commit  []kafkago.Message
	lags    map[int]partLag
}

type badMsg struct {
	i      int // index in msgs
	reason int
	err    error
}

type partLag struct {
	lag  int64
	seen time.Time
}

// NewSubscriber validates cfg, loads the TLS material and the SASL password,
// and joins the group in the background (the first Run waits for it). A
// broker that is down at start is retried, not an error.
func NewSubscriber(cfg SubscriberConfig, log *zap.Logger) (*Subscriber, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = zap.NewNop()
	}
	tlsCfg, err := cfg.TLS.tlsConfig()
	if err != nil {
		return nil, err
	}
	mech, err := cfg.SASL.mechanism()
	if err != nil {
		return nil, err
	}
	s := &Subscriber{
		cfg:      cfg,
		log:      log.Named("kafka"),
		lastWarn: map[string]time.Time{},
		warnN:    map[string]int{},
		lags:     map[int]partLag{},
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	// kafka-go logs a line per failed fetch or join attempt: debug only.
	debugf := kafkago.LoggerFunc(s.log.Sugar().Debugf)
	s.r = kafkago.NewReader(kafkago.ReaderConfig{
		Brokers: cfg.Brokers,
		GroupID: cfg.Group,
		Topic:   cfg.Topic,
		Dialer: &kafkago.Dialer{
			ClientID:      cfg.ClientID,
			Timeout:       cfg.DialTimeout,
			DualStack:     true,
			TLS:           tlsCfg,
			SASLMechanism: mech,
		},
		// The client's prefetch queue, shared by all partitions.
		QueueCapacity:     min(max(cfg.BatchRecords, 100), 10_000),
		MinBytes:          cfg.MinBytes,
		MaxBytes:          cfg.MaxBytes,
		MaxWait:           cfg.MaxWait,
		ReadLagInterval:   -1,
		HeartbeatInterval: cfg.HeartbeatInterval,
		CommitInterval:    0, // synchronous commits, only when Run asks
		SessionTimeout:    cfg.SessionTimeout,
		RebalanceTimeout:  cfg.RebalanceTimeout,
		JoinGroupBackoff:  cfg.RetryMax,
		StartOffset:       startOffsets[cfg.StartOffset],
		ReadBackoffMin:    cfg.RetryMin,
		ReadBackoffMax:    cfg.RetryMax,
		ErrorLogger:       debugf,
		Logger:            debugf, // group membership and assignments, for --log-level debug
	})
	if cfg.DeadLetterTopic != "" {
		tctx, stop := context.WithCancel(context.Background())
		s.stopTrans = stop
		s.transport = &kafkago.Transport{
			DialTimeout: cfg.DialTimeout,
			MetadataTTL: 6 * time.Second,
			ClientID:    cfg.ClientID,
			TLS:         tlsCfg,
			SASL:        mech,
			Context:     tctx,
		}
		s.dlq = &kafkago.Writer{
			Addr:         kafkago.TCP(cfg.Brokers...),
			Topic:        cfg.DeadLetterTopic,
			Balancer:     &kafkago.Hash{},
			MaxAttempts:  3,
			BatchSize:    1000,
			BatchBytes:   dlqBatchBytes,
			BatchTimeout: 5 * time.Millisecond, // synchronous writes: do not wait to fill a batch
			ReadTimeout:  10 * time.Second,
			WriteTimeout: 10 * time.Second,
			RequiredAcks: kafkago.RequireAll,
			Transport:    s.transport,
			ErrorLogger:  debugf,
		}
	}
	s.log.Info("kafka subscriber ready",
		zap.Strings("brokers", cfg.Brokers), zap.String("topic", cfg.Topic), zap.String("group", cfg.Group),
		zap.String("dead_letter_topic", cfg.DeadLetterTopic), zap.Int("batch_records", cfg.BatchRecords),
		zap.Int("batch_bytes", cfg.BatchBytes),
		zap.Duration("batch_wait", cfg.BatchWait), zap.String("start_offset", cfg.StartOffset),
		zap.Bool("tls", cfg.TLS.Enable), zap.String("sasl", cfg.SASL.Mechanism))
	return s, nil
}

// Run consumes until ctx ends or Close is called: it fetches a batch (up to
// BatchRecords messages, or what arrived within BatchWait of the first),
// decodes it, dead-letters what is not a readable record, hands the records
// to h (again and again, with backoff, until h returns nil), and then
// commits the batch's offsets. A batch h has not accepted is never
// committed: when ctx ends Run returns at once and those records are
// delivered again to whichever member owns their partitions next. A batch h
// accepted is committed even if ctx ends meanwhile (bounded by 15 s).
//
// Run returns ctx.Err() when ctx ends, nil when Close stopped it, and
// ErrSubscriberClosed after Close. It never returns because of a bad
// message or an unavailable cluster: those are counted, logged at most once
// per 10 s, and retried. Run must not be called concurrently (nor with
// RunStaged).
func (s *Subscriber) Run(ctx context.Context, h Handler) error {
	if h == nil {
		return errors.New("kafka: Run needs a handler")
	}
	return s.run(ctx, 2, func(ctx context.Context, in <-chan *batch, free chan<- *batch) {
		for b := range in {
			if ctx.Err() == nil {
				s.process(ctx, h, b)
			}
			b.reset()
			free <- b
		}
	})
}

// MaxStagedBatches bounds RunStaged's prepared batches waiting to be
// stored, and so the number of batches one store call gets.
const MaxStagedBatches = 4

// RunStaged is Run with the handler split into two stages that the
// subscriber overlaps: prepare analyses batch N+1 while store writes
// batch N (and the batches before it).
//
//   - prepare is called once per batch, one batch at a time, in fetch
//     order, on its own goroutine. An error makes the subscriber call it
//     again with the same records, after a backoff, before anything later
//     is prepared. The records are prepare's to keep, as with Run, but the
//     slice holding them is reused as soon as prepare returned: the
//     prepared value must not point into it.
//   - store makes prepared batches durable, on RunStaged's goroutine. It
//     gets every batch prepared since its last call, in order (at most
//     MaxStagedBatches; while a batch is being prepared or Kafka holds
//     more, the subscriber waits up to BatchWait to give it more): through
//     a backlog one call stores several batches, so each of its writes
//     covers more rows. Only its nil return lets those
//     batches' offsets be committed. An error makes the subscriber call it
//     again with the same batches, after a backoff, until it returns nil
//     or ctx ends: a batch is never skipped, so nothing after a batch that
//     failed to store is committed before it is stored.
//
// Offsets are committed in batch order after store returned nil. When ctx
// ends (or Close is called) nothing more is committed: the batches being
// stored, waiting and being prepared are delivered again, to this member
// or another, as with Run. Memory: at most three fetched batches (each
// within BatchRecords and BatchBytes), and 2×MaxStagedBatches prepared
// values (those being stored, those queued, the one being queued).
func RunStaged[T any](s *Subscriber, ctx context.Context, prepare func(context.Context, []codec.Record) (T, error),
	store func(context.Context, []T) error) error {
	if prepare == nil || store == nil {
		return errors.New("kafka: RunStaged needs prepare and store")
	}
	return s.run(ctx, 3, func(ctx context.Context, in <-chan *batch, free chan<- *batch) {
		queue := make(chan *staged[T], MaxStagedBatches-1)
		var preparing atomic.Bool // a batch is being prepared: it will be queued soon
		go func() {               // the preparer
			defer close(queue)
			for b := range in {
				var p *staged[T]
				if ctx.Err() == nil && s.settle(ctx, b) {
					p = &staged[T]{msgs: len(b.msgs), recs: len(b.recs), commit: commitInfo(b)}
					preparing.Store(true)
					if p.recs > 0 && !s.retry(ctx, "prepare", func() (err error) {
						p.val, err = prepare(ctx, b.recs)
						return err
					}) {
						p = nil
					}
				}
				b.reset() // the messages are not needed any more
				free <- b
				if p != nil {
					select {
					case queue <- p:
					case <-ctx.Done():
					}
				}
				preparing.Store(false)
			}
		}()
		group := make([]*staged[T], 0, MaxStagedBatches)
		vals := make([]T, 0, MaxStagedBatches)
		for p := range queue {
			// Gather what is ready, and wait (at most BatchWait) for more
			// while a batch is being prepared or Kafka holds more than was
			// fetched: through a backlog each store covers up to
			// MaxStagedBatches batches, and so does each INSERT; when the
			// subscriber keeps up with live traffic a batch is stored at
			// once.
			group = append(group[:0], p)
			var linger *time.Timer
		more:
			for len(group) < MaxStagedBatches {
				select {
				case q, ok := <-queue:
					if !ok {
						break more
					}
					group = append(group, q)
					continue
				default:
				}
				if !preparing.Load() && !behind(group[len(group)-1].commit) {
					break more
				}
				if linger == nil {
					linger = time.NewTimer(s.cfg.BatchWait)
				}
				select {
				case q, ok := <-queue:
					if !ok {
						break more
					}
					group = append(group, q)
				case <-linger.C:
					linger = nil
					break more
				case <-ctx.Done():
					break more
				}
			}
			if linger != nil {
				linger.Stop()
				linger = nil
			}
			if ctx.Err() != nil {
				continue // drain until the preparer has stopped
			}
			vals = vals[:0]
			n, msgs := 0, 0
			for _, p := range group {
				if p.recs > 0 {
					vals = append(vals, p.val)
				}
				n += p.recs
				msgs += p.msgs
			}
			for _, p := range group {
				s.updateLag(p.commit)
			}
			if len(vals) > 0 && !s.retry(ctx, "store", func() error { return store(ctx, vals) }) {
				continue
			}
			s.batches.Add(uint64(len(group)))
			s.delivered.Add(uint64(n))
			c := s.commit[:0]
			for _, p := range group {
				c = append(c, p.commit...)
			}
			s.commitMessages(ctx, c, msgs)
			clear(group)
			clear(vals)
		}
	})
}

// staged is a prepared batch waiting to be stored: the prepared value and
// what its commit needs (the batch's messages are recycled already).
type staged[T any] struct {
	val        T
	msgs, recs int
	commit     []kafkago.Message // per partition, the highest offset (no key, value, headers)
}

// behind reports whether a partition of a batch (its commit info) had
// more messages in Kafka than the batch reached: a backlog.
func behind(commit []kafkago.Message) bool {
	for i := range commit {
		if m := &commit[i]; m.HighWaterMark > m.Offset+1 {
			return true
		}
	}
	return false
}

// commitInfo copies, per partition, b's highest-offset message without
// what it carries: enough to commit it and compute the lag.
func commitInfo(b *batch) []kafkago.Message {
	c := make([]kafkago.Message, 0, len(b.last))
	for _, i := range b.last {
		m := &b.msgs[i]
		c = append(c, kafkago.Message{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, HighWaterMark: m.HighWaterMark})
	}
	return c
}

// run is Run and RunStaged: it fetches and decodes batches on a goroutine
// of its own and hands them to consume (on the caller's goroutine) through
// in; consume returns each batch to free once done with it, and returns
// once in is closed (after ctx ended). nBatches, the batches cycling
// through free, bounds the fetched messages in memory.
func (s *Subscriber) run(ctx context.Context, nBatches int, consume func(ctx context.Context, in <-chan *batch, free chan<- *batch)) error {
	s.runMu.Lock()
	switch {
	case s.closed:
		s.runMu.Unlock()
		return ErrSubscriberClosed
	case s.running:
		s.runMu.Unlock()
		return errors.New("kafka: Run is already running")
	}
	s.running = true
	s.runWG.Add(1)
	s.runMu.Unlock()
	defer func() {
		s.runMu.Lock()
		s.running = false
		s.runMu.Unlock()
		s.runWG.Done()
	}()

	parent := ctx
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	defer context.AfterFunc(s.ctx, stop)()

	free := make(chan *batch, nBatches)
	for len(s.spare) < nBatches {
		s.spare = append(s.spare, &batch{last: map[int]int{}})
	}
	for _, b := range s.spare[:nBatches] {
		free <- b
	}
	decoded := make(chan *batch)
	go s.fetchLoop(ctx, free, decoded)
	consume(ctx, decoded, free)
	stop()              // every goroutine of run has returned (consume saw in closed)
	return parent.Err() // nil when Close stopped Run
}

// fetchLoop fills and decodes batches until ctx ends; it closes out.
func (s *Subscriber) fetchLoop(ctx context.Context, free chan *batch, out chan<- *batch) {
	defer close(out)
	for {
		var b *batch
		select {
		case b = <-free:
		case <-ctx.Done():
			return
		}
		if !s.fill(ctx, b) {
			b.reset()
			free <- b
			return
		}
		s.decode(b)
		select {
		case out <- b:
		case <-ctx.Done():
			b.reset()
			free <- b
			return
		}
	}
}

// batch is one fetched batch and what decoding made of it.
type batch struct {
	msgs    []kafkago.Message
	recs    []codec.Record
	bad     []badMsg
	last    map[int]int // partition -> index in msgs of its highest offset
	settled bool        // the dead letters are written (or counted)
}

func (b *batch) reset() {
	clear(b.msgs)
	b.msgs = b.msgs[:0]
	clear(b.recs)
	b.recs = b.recs[:0]
	clear(b.bad)
	b.bad = b.bad[:0]
	clear(b.last)
	b.settled = false
}

// decode turns the batch's messages into records; the ones that do not
// decode are set aside for the dead-letter topic. Each record points into
// its message's value, which kafka-go allocated for this message alone and
// which nothing writes (the dead-letter path only reads it), so it is not
// copied (codec.DecodeOwned).
func (s *Subscriber) decode(b *batch) {
	if cap(b.recs) < len(b.msgs) {
		b.recs = make([]codec.Record, 0, len(b.msgs))
	}
	for i := range b.msgs {
		m := &b.msgs[i]
		if j, ok := b.last[m.Partition]; !ok || m.Offset > b.msgs[j].Offset {
			b.last[m.Partition] = i
		}
		b.recs = append(b.recs, codec.Record{})
		rec := &b.recs[len(b.recs)-1]
		if err := codec.DecodeOwned(rec, m.Value); err != nil {
			b.recs = b.recs[:len(b.recs)-1]
			r := reasonMalformed
			switch {
			case errors.Is(err, codec.ErrFutureVersion):
				r = reasonFuture
			case errors.Is(err, codec.ErrUnknownKind):
				r = reasonUnknown
			}
			b.bad = append(b.bad, badMsg{i: i, reason: r, err: err})
		}
	}
}

// fill fetches the next batch into b.msgs (up to BatchRecords messages or
// BatchBytes bytes). It waits as long as it takes for the first message,
// then at most BatchWait for the rest. It returns false
// when ctx ended (the partial batch is dropped, uncommitted) or the reader
// was closed.
func (s *Subscriber) fill(ctx context.Context, b *batch) bool {
	attempt := 0
	for len(b.msgs) == 0 {
		m, err := s.r.FetchMessage(ctx)
		if err == nil {
			b.msgs = append(b.msgs, m)
			break
		}
		if ctx.Err() != nil || errors.Is(err, io.EOF) {
			return false
		}
		s.fetchErrors.Add(1)
		s.warn("fetch", "kafka fetch failed; retrying", err)
		if !sleepCtx(ctx, s.backoff(attempt)) {
			return false
		}
		attempt++
	}
	bctx, cancel := context.WithTimeout(ctx, s.cfg.BatchWait)
	defer cancel()
	size := len(b.msgs[0].Key) + len(b.msgs[0].Value)
	for len(b.msgs) < s.cfg.BatchRecords && size < s.cfg.BatchBytes {
		m, err := s.r.FetchMessage(bctx)
		if err != nil {
			if ctx.Err() != nil {
				return false
			}
			if bctx.Err() == nil {
				// A client error: hand over what we have; the next
				// fill waits with backoff if it persists.
				s.fetchErrors.Add(1)
				s.warn("fetch", "kafka fetch failed; retrying", err)
			}
			break
		}
		b.msgs = append(b.msgs, m)
		size += len(m.Key) + len(m.Value)
	}
	s.fetched.Add(uint64(len(b.msgs)))
	return true
}

// process settles the decoded batch b: dead letters, handler, commit. It
// returns early, committing nothing, when ctx ends first.
func (s *Subscriber) process(ctx context.Context, h Handler, b *batch) {
	s.updateLagBatch(b)
	if !s.settle(ctx, b) {
		return
	}
	if len(b.recs) > 0 && !s.retry(ctx, "handler", func() error { return h(ctx, b.recs) }) {
		return
	}
	s.batches.Add(1)
	s.delivered.Add(uint64(len(b.recs)))
	c := s.commit[:0]
	for _, i := range b.last {
		c = append(c, b.msgs[i])
	}
	s.commitMessages(ctx, c, len(b.msgs))
}

// settle writes b's dead letters (when dead-lettering is on) and counts
// them; false when ctx ended first.
func (s *Subscriber) settle(ctx context.Context, b *batch) bool {
	if b.settled {
		return true
	}
	if len(b.bad) > 0 {
		if s.dlq != nil && !s.deadLetter(ctx, b) {
			return false
		}
		for _, m := range b.bad {
			s.invalid[m.reason].Add(1)
		}
	}
	b.settled = true
	return true
}

// deadLetter writes the bad messages of the batch to the dead-letter topic,
// retrying with backoff until it succeeds or ctx ends (false).
func (s *Subscriber) deadLetter(ctx context.Context, bt *batch) bool {
	msgs := s.dlqMsgs[:0]
	now := time.Now()
	for _, b := range bt.bad {
		m := &bt.msgs[b.i]
		hs := make([]kafkago.Header, 0, len(m.Headers)+8)
		hs = append(hs, m.Headers...)
		hs = append(hs,
			kafkago.Header{Key: HeaderDLQReason, Value: []byte(reasonNames[b.reason])},
			kafkago.Header{Key: HeaderDLQError, Value: []byte(b.err.Error())},
			kafkago.Header{Key: HeaderDLQTopic, Value: []byte(m.Topic)},
			kafkago.Header{Key: HeaderDLQPartition, Value: strconv.AppendInt(nil, int64(m.Partition), 10)},
			kafkago.Header{Key: HeaderDLQOffset, Value: strconv.AppendInt(nil, m.Offset, 10)},
			kafkago.Header{Key: HeaderDLQGroup, Value: []byte(s.cfg.Group)},
		)
		if !m.Time.IsZero() {
			hs = append(hs, kafkago.Header{Key: HeaderDLQTime, Value: m.Time.UTC().AppendFormat(nil, time.RFC3339Nano)})
		}
		value := m.Value
		if size := len(m.Key) + len(value) + int(headerSize(hs)) + 64; size > dlqMaxMessage {
			keep := max(dlqMaxMessage-(size-len(value))-32, 0)
			hs = append(hs, kafkago.Header{Key: HeaderDLQTruncated, Value: strconv.AppendInt(nil, int64(len(value)), 10)})
			value = value[:keep]
		}
		msgs = append(msgs, kafkago.Message{Key: m.Key, Value: value, Headers: hs, Time: now})
	}
	s.dlqMsgs = msgs
	defer func() {
		clear(s.dlqMsgs)
		s.dlqMsgs = s.dlqMsgs[:0]
	}()
	for attempt := 0; ; attempt++ {
		wctx, cancel := context.WithTimeout(ctx, 2*s.dlq.WriteTimeout)
		err := s.dlq.WriteMessages(wctx, msgs...)
		cancel()
		if err == nil {
			s.deadLettered.Add(uint64(len(msgs)))
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		s.dlqErrors.Add(1)
		s.warn("dlq", "kafka dead-letter write failed; the batch waits (nothing is committed)", err)
		if !sleepCtx(ctx, s.backoff(attempt)) {
			return false
		}
	}
}

// retry calls f until it returns nil (true) or ctx ends (false), with
// backoff; each failure counts as a handler retry.
func (s *Subscriber) retry(ctx context.Context, stage string, f func() error) bool {
	for attempt := 0; ; attempt++ {
		if ctx.Err() != nil {
			return false
		}
		err := f()
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		s.handlerRetries.Add(1)
		s.warn(stage, stage+" failed; retrying the batch", err)
		if !sleepCtx(ctx, s.backoff(attempt)) {
			return false
		}
	}
}

// commitMessages commits c (per partition, the highest message of what was
// handled; n messages in all) and recycles c as s.commit. What was handled
// is settled, so the commit goes ahead even if ctx has just ended. A
// failed commit is counted and not retried: its records are redelivered
// after the next rebalance or restart unless a later commit covers them.
func (s *Subscriber) commitMessages(ctx context.Context, c []kafkago.Message, n int) {
	s.commit = c
	defer func() {
		clear(s.commit)
		s.commit = s.commit[:0]
	}()
	// Close waits for Run before it closes the reader, so the commit of
	// an accepted batch can finish; commitTimeout bounds that wait.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
	defer cancel()
	if err := s.r.CommitMessages(cctx, c...); err != nil {
		s.commitErrors.Add(1)
		s.warn("commit", "kafka offset commit failed; the batch will be delivered again", err)
		return
	}
	s.commits.Add(1)
	s.committed.Add(uint64(n))
}

// updateLagBatch is updateLag for the highest message of each partition
// of b.
func (s *Subscriber) updateLagBatch(b *batch) {
	c := s.commit[:0]
	for _, i := range b.last {
		c = append(c, b.msgs[i])
	}
	s.updateLag(c)
	clear(c)
	s.commit = c[:0]
}

// updateLag records each partition's lag as of its message in last and
// publishes the sum over partitions seen in the last minute.
func (s *Subscriber) updateLag(last []kafkago.Message) {
	now := time.Now()
	for i := range last {
		m := &last[i]
		s.lags[m.Partition] = partLag{lag: max(m.HighWaterMark-m.Offset-1, 0), seen: now}
	}
	var sum int64
	for p, l := range s.lags {
		if now.Sub(l.seen) > time.Minute {
			delete(s.lags, p)
			continue
		}
		sum += l.lag
	}
	s.lag.Store(sum)
}

func (s *Subscriber) backoff(attempt int) time.Duration {
	d := s.cfg.RetryMin
	for i := 0; i < attempt && d < s.cfg.RetryMax; i++ {
		d *= 2
	}
	return min(d, s.cfg.RetryMax)
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// warn logs at most once per 10 s per kind, with the number of occurrences.
func (s *Subscriber) warn(kind, msg string, err error) {
	s.warnMu.Lock()
	defer s.warnMu.Unlock()
	s.warnN[kind]++
	if now := time.Now(); now.Sub(s.lastWarn[kind]) >= 10*time.Second {
		s.log.Warn(msg, zap.Error(err), zap.Int("occurrences", s.warnN[kind]))
		s.lastWarn[kind], s.warnN[kind] = now, 0
	}
}

// Close stops Run (without committing the batch in flight), leaves the
// group so its partitions move to the other members at once, and closes
// the connections. It is safe to call more than once.
func (s *Subscriber) Close() error {
	s.closeOnce.Do(func() {
		s.runMu.Lock()
		s.closed = true
		s.runMu.Unlock()
		s.cancel()
		s.runWG.Wait()
		var errs []error
		if err := s.r.Close(); err != nil {
			errs = append(errs, fmt.Errorf("kafka: reader close: %w", err))
		}
		if s.dlq != nil {
			if err := s.dlq.Close(); err != nil {
				errs = append(errs, fmt.Errorf("kafka: dead-letter writer close: %w", err))
			}
			s.stopTrans()
			s.transport.CloseIdleConnections()
		}
		s.closeErr = errors.Join(errs...)
		st := s.Stats()
		s.log.Info("kafka subscriber closed",
			zap.Uint64("fetched", st.Fetched), zap.Uint64("delivered", st.Delivered),
			zap.Uint64("committed", st.Committed), zap.Uint64("batches", st.Batches),
			zap.Uint64("malformed", st.Malformed), zap.Uint64("future_version", st.FutureVersion),
			zap.Uint64("unknown_kind", st.UnknownKind), zap.Uint64("dead_lettered", st.DeadLettered),
			zap.Uint64("handler_retries", st.HandlerRetries), zap.Uint64("commit_errors", st.CommitErrors),
			zap.Uint64("fetch_errors", st.FetchErrors))
	})
	return s.closeErr
}

// Stats returns a snapshot of the counters.
func (s *Subscriber) Stats() SubscriberStats {
	return SubscriberStats{
		Fetched:          s.fetched.Load(),
		Delivered:        s.delivered.Load(),
		Batches:          s.batches.Load(),
		Committed:        s.committed.Load(),
		Malformed:        s.invalid[reasonMalformed].Load(),
		FutureVersion:    s.invalid[reasonFuture].Load(),
		UnknownKind:      s.invalid[reasonUnknown].Load(),
		DeadLettered:     s.deadLettered.Load(),
		DeadLetterErrors: s.dlqErrors.Load(),
		HandlerRetries:   s.handlerRetries.Load(),
		Commits:          s.commits.Load(),
		CommitErrors:     s.commitErrors.Load(),
		FetchErrors:      s.fetchErrors.Load(),
		Lag:              s.lag.Load(),
	}
}
