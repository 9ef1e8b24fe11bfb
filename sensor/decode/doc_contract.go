package decode

// Result classifies what Decode did with a frame.
type Result uint8

const (
	// ResultTCP: p holds a TCP segment.
	ResultTCP Result = iota
	// ResultOther: a valid packet that is not TCP (UDP that is not a known
	// tunnel, ICMP, ARP, ...). Counted, not an error.
	ResultOther
	// ResultFragment: an IPv4 fragment was stored; nothing to deliver yet.
	ResultFragment
	// ResultMalformed: a header was invalid or truncated. Counted.
	ResultMalformed
	// ResultUnsupported: a link type or encapsulation we do not parse. Counted.
	ResultUnsupported
)
