package tcp

// Stats are an Assembler's counters. Everything is cumulative since
// NewAssembler except the gauges Conns and BufferedBytes. Byte counts are in
// TCP sequence space (payload bytes, plus snaplen-cut bytes where stated).
type Stats struct {
	// Packets is every segment passed to Packet.
	Packets uint64
	// PayloadBytes is the payload captured in those segments.
	PayloadBytes uint64
	// PacketsNoConn: segments of no known connection that cannot open one
	// (a pure ACK, FIN or RST without payload): ignored.
	PacketsNoConn uint64
	// PacketsAbsorbed: segments for a connection closed by FIN or RST that
	// arrived during ClosedLinger and were dropped (their payload bytes are
	// also counted in RetransBytes).
	PacketsAbsorbed uint64
	// PacketsInvalid: segments dropped as impossible (payload over 16 MiB,
	// a SYN whose ISN contradicts the one already seen, data more than
	// 2^30 bytes ahead of the stream).
	PacketsInvalid uint64

	// BytesDelivered is what Stream.Data received.
	BytesDelivered uint64
	// BytesDeclined is reassembled payload of connections whose Factory
	// returned a nil Stream.
	BytesDeclined uint64

	// ConnsOpened counts connections created; ConnsMidstream those of them
	// joined without a SYN; Streams those for which Factory.New was called
	// (the ones that carried payload).
	ConnsOpened    uint64
	ConnsMidstream uint64
	Streams        uint64
	// Conns is the number of connections in the table now (gauge),
	// including closed ones lingering.
	Conns uint64

	// Connections closed, by reason. ClosedHalfOpen are half-open
	// connections (no payload, handshake incomplete) that timed out;
	// ClosedEvicted counts evictions of half-open, half-closed and
	// established connections (not of lingering closed ones).
	ClosedFIN      uint64
	ClosedRST      uint64
	ClosedIdle     uint64
	ClosedHalfOpen uint64
	ClosedFlush    uint64
	ClosedEvicted  uint64
	ClosedReused   uint64

	// Evictions to honour MaxConns, by what was evicted.
	EvictedLinger      uint64 // closed connections still lingering (no Stream left)
	EvictedHalfOpen    uint64
	EvictedHalfClosed  uint64
	EvictedEstablished uint64

	// Gaps and GapBytes count every Stream.Gap call and its bytes; the
	// GapBytes* fields split GapBytes by cause.
	Gaps     uint64
	GapBytes uint64
	// GapBytesAck: the peer acknowledged bytes the capture never held.
	GapBytesAck uint64
	// GapBytesTimeout: a hole was not filled within GapTimeout.
	GapBytesTimeout uint64
	// GapBytesPerConnCap / GapBytesTotalCap: holes given up to honour
	// MaxBufferedPerConn / MaxBufferedTotal.
	GapBytesPerConnCap uint64
	GapBytesTotalCap   uint64
	// GapBytesSnaplen: bytes the capture cut off (decode.Packet.Missing).
	GapBytesSnaplen uint64
	// GapBytesClose: holes still open when the connection ended (RST,
	// timeouts, eviction, flush, reuse).
	GapBytesClose uint64

	// CapPerConnHits / CapTotalHits count the times a buffer cap forced a
	// hole to be given up (each is one Gap, counted in GapBytes*Cap).
	CapPerConnHits uint64
	CapTotalHits   uint64

	// RetransSegments: segments carrying nothing new (every byte already
	// delivered or buffered). RetransBytes: sequence bytes received again,
	// from those and from the overlapping parts of Overlaps.
	RetransSegments uint64
	RetransBytes    uint64
	// Overlaps: segments that partly overlapped bytes already delivered or
	// buffered; the old bytes won and the new tail was kept.
	Overlaps uint64
	// OutOfOrderSegments: segments copied into the reorder buffer.
	OutOfOrderSegments uint64
	// AfterFINBytes: payload beyond a direction's FIN, dropped.
	AfterFINBytes uint64
	// RSTPayloadBytes: payload carried by RST segments (diagnostic text,
	// not stream data), dropped.
	RSTPayloadBytes uint64

	// BufferedBytes is the reorder buffer memory in use now (gauge), as
	// counted against the caps; BufferedPeak its highest value.
	BufferedBytes uint64
	BufferedPeak  uint64
}
