package codec

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"time"
	"unicode/utf8"
	"unsafe"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/apitap/apitap/flow"
)

// Decode parses one wire record. Fields this reader does not know are
// ignored. Errors: ErrMalformed for bytes that are not a valid record;
// ErrFutureVersion and ErrUnknownKind (with Record.Meta filled in) for a
// valid envelope this reader must not interpret. Decode never panics.
//
// Ownership: b may be reused as soon as Decode returns. The record's strings
// and byte slices all point into one private copy of b (one allocation, as
// the sensor's records point into one arena); keeping any one of them keeps
// that copy alive, so clone what is kept long term (strings.Clone).
// DecodeOwned skips the copy when the caller can hand b over.
//
// Decode follows protobuf's parsing rules exactly (the tests check it
// against the generated code on every fuzz input): the last value of a
// repeated scalar field wins, a message field seen twice is merged, a field
// with an unexpected wire type is skipped as unknown, a packed or unpacked
// informational list is accepted, string fields must be valid UTF-8.
func Decode(b []byte) (Record, error) {
	var r Record
	err := DecodeOwned(&r, bytes.Clone(b))
	return r, err
}

// DecodeOwned is Decode without the copy: it decodes b into *r (which it
// overwrites), and the record's strings and byte slices point into b
// itself. The caller hands b over: nothing may write to b afterwards, for
// as long as the record or anything taken from it is in use (a buffer a
// client allocated for this one message, such as a kafka-go Message.Value,
// qualifies; a reused read buffer does not). Results and errors are
// Decode's: on an error *r holds only what Decode would return.
func DecodeOwned(r *Record, b []byte) error {
	var d envDecoder
	*r = Record{}
	if err := d.decode(b); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	r.Meta = d.meta
	switch {
	case d.meta.SchemaVersion == 0:
		return fmt.Errorf("%w: no schema_version", ErrMalformed)
	case d.meta.SchemaVersion > SchemaVersion:
		return fmt.Errorf("%w: %d (this reader knows up to %d)", ErrFutureVersion, d.meta.SchemaVersion, SchemaVersion)
	}
	switch {
	case d.ex != nil:
		if err := d.ex.finish(); err != nil {
			return err
		}
		r.Exchange = &d.ex.e
	case d.loss != nil:
		r.Loss = d.loss
	default:
		return ErrUnknownKind
	}
	return nil
}

var (
	errTruncated = errors.New("truncated or invalid field")
	errUTF8      = errors.New("string field is not valid UTF-8")
)

// cursor walks the fields of one message: after next returns true, num,
// typ and either v (varint and fixed types) or data (length-delimited) hold
// the current field. Groups and unknown wire types are consumed whole (the
// caller skips them). next returns false at the end or on an error (err).
type cursor struct {
	b    []byte
	err  error
	num  protowire.Number
	typ  protowire.Type
	v    uint64
	data []byte
}

func (c *cursor) next() bool {
	b := c.b
	if len(b) == 0 {
		return false
	}
	var n int
	var tag uint64
	if b[0] < 0x80 {
		tag, n = uint64(b[0]), 1
	} else if tag, n = protowire.ConsumeVarint(b); n < 0 {
		c.err = errTruncated
		return false
	}
	if num := tag >> 3; num < uint64(protowire.MinValidNumber) || num > uint64(protowire.MaxValidNumber) {
		c.err = errors.New("invalid field number")
		return false
	}
	c.num, c.typ = protowire.Number(tag>>3), protowire.Type(tag&7)
	b = b[n:]
	switch c.typ {
	case protowire.VarintType:
		if len(b) > 0 && b[0] < 0x80 {
			c.v, n = uint64(b[0]), 1
		} else {
			c.v, n = protowire.ConsumeVarint(b)
		}
	case protowire.BytesType:
		if len(b) > 0 && b[0] < 0x80 && int(b[0]) < len(b) {
			n = 1 + int(b[0])
			c.data = b[1:n:n]
		} else {
			c.data, n = protowire.ConsumeBytes(b)
		}
	case protowire.Fixed64Type:
		c.v, n = protowire.ConsumeFixed64(b)
	case protowire.Fixed32Type:
		var v uint32
		v, n = protowire.ConsumeFixed32(b)
		c.v = uint64(v)
	default: // groups (never used by this schema), reserved types: skip or fail
		n = protowire.ConsumeFieldValue(c.num, c.typ, b)
	}
	if n < 0 {
		c.err = errTruncated
		return false
	}
	c.b = b[n:]
	return true
}

// is reports whether the current field is num with wire type typ. A known
// field with another wire type is treated as unknown and skipped, as
// protobuf does.
func (c *cursor) is(num protowire.Number, typ protowire.Type) bool {
	return c.num == num && c.typ == typ
}

// str views data as a string. data points into Decode's private copy of the
// input, or DecodeOwned's input, which nothing writes.
func str(data []byte) string {
	if len(data) == 0 {
		return ""
	}
	return unsafe.String(&data[0], len(data))
}

func utf8str(data []byte) (string, error) {
	if !utf8.Valid(data) {
		return "", errUTF8
	}
	return str(data), nil
}

func unixNano(v uint64) time.Time { return time.Unix(0, int64(v)).UTC() }

type envDecoder struct {
	meta Meta
	ex   *exDecoder // the oneof: at most one of ex and loss is set
	loss *flow.Loss
}

func (d *envDecoder) decode(b []byte) (err error) {
	c := cursor{b: b}
	for c.next() {
		switch {
		case c.is(envSensorID, protowire.BytesType):
			if d.meta.SensorID, err = utf8str(c.data); err != nil {
				return err
			}
		case c.is(envSensorVersion, protowire.BytesType):
			if d.meta.SensorVersion, err = utf8str(c.data); err != nil {
				return err
			}
		case c.is(envSchemaVersion, protowire.VarintType):
			d.meta.SchemaVersion = uint32(c.v)
		case c.is(envSequence, protowire.VarintType):
			d.meta.Sequence = c.v
		case c.is(envExchange, protowire.BytesType):
			if d.ex == nil { // a second occurrence merges; another kind is replaced
				d.ex, d.loss = new(exDecoder), nil
			}
			if err = d.ex.decode(c.data); err != nil {
				return err
			}
		case c.is(envLoss, protowire.BytesType):
			if d.loss == nil {
				d.loss, d.ex = new(flow.Loss), nil
			}
			if err = decodeLoss(d.loss, c.data); err != nil {
				return err
			}
		}
	}
	return c.err
}

func decodeLoss(l *flow.Loss, b []byte) (err error) {
	c := cursor{b: b}
	for c.next() {
		switch {
		case c.is(lossStage, protowire.BytesType):
			var s string
			s, err = utf8str(c.data)
			l.Stage = flow.Stage(s)
		case c.is(lossReason, protowire.BytesType):
			l.Reason, err = utf8str(c.data)
		case c.is(lossUnit, protowire.BytesType):
			l.Unit, err = utf8str(c.data)
		case c.is(lossCount, protowire.VarintType):
			l.Count = c.v
		case c.is(lossFirst, protowire.Fixed64Type):
			l.First = unixNano(c.v)
		case c.is(lossLast, protowire.Fixed64Type):
			l.Last = unixNano(c.v)
		}
		if err != nil {
			return err
		}
	}
	return c.err
}

// exDecoder builds a flow.Exchange. Fields whose Go type is narrower than
// the wire type are kept raw until finish checks them, because a message
// seen twice is merged field by field.
type exDecoder struct {
	e               flow.Exchange
	cAddr, sAddr    []byte
	cPort, sPort    uint32
	hostPort        uint32
	vlan, innerVLAN uint32
	tunnel          int32
	hdrs            []flow.Header // see addHeader
	nReq            int
	split           bool
}

func (d *exDecoder) decode(b []byte) (err error) {
	e := &d.e
	c := cursor{b: b}
	for c.next() {
		switch c.typ {
		case protowire.BytesType:
			switch c.num {
			case exClientAddr:
				d.cAddr = c.data
			case exServerAddr:
				d.sAddr = c.data
			case exOuter:
				err = d.decodeOuter(c.data)
			case exProto:
				e.Proto = str(c.data)
			case exMethod:
				e.Method = str(c.data)
			case exHost:
				e.Host = str(c.data)
			case exTarget:
				e.Target = str(c.data)
			case exPath:
				e.Path = str(c.data)
			case exPathDecoded:
				e.PathDecoded = str(c.data)
			case exQuery:
				e.Query = str(c.data)
			case exRequestHeaders:
				var h flow.Header
				if h, err = decodeHeader(c.data); err == nil {
					d.addHeader(h, true)
				}
			case exResponseHeaders:
				var h flow.Header
				if h, err = decodeHeader(c.data); err == nil {
					d.addHeader(h, false)
				}
			case exReason:
				e.Reason = str(c.data)
			case exInformational: // packed
				for p := c.data; len(p) > 0; {
					v, n := protowire.ConsumeVarint(p)
					if n < 0 {
						return errTruncated
					}
					e.Informational = append(e.Informational, int(int32(v)))
					p = p[n:]
				}
			case exRequest:
				err = decodeBody(&e.Request, c.data)
			case exResponse:
				err = decodeBody(&e.Response, c.data)
			case exCredentials:
				e.Credentials = append(e.Credentials, flow.Credential{})
				err = decodeCredential(&e.Credentials[len(e.Credentials)-1], c.data)
			}
		case protowire.VarintType:
			switch c.num {
			case exClientPort:
				d.cPort = uint32(c.v)
			case exServerPort:
				d.sPort = uint32(c.v)
			case exHostPort:
				d.hostPort = uint32(c.v)
			case exStatus:
				e.Status = int(int32(c.v))
			case exInformational: // unpacked
				e.Informational = append(e.Informational, int(int32(c.v)))
			case exFlags:
				e.Flags = flow.Flags(uint32(c.v))
			}
		case protowire.Fixed64Type:
			switch c.num {
			case exStart:
				e.Start = unixNano(c.v)
			case exEnd:
				e.End = unixNano(c.v)
			}
		}
		if err != nil {
			return err
		}
	}
	return c.err
}

// addHeader files h. While every request header precedes every response
// header (always so from this package's encoder) both lists share one
// backing array, d.hdrs, the first d.nReq being the request's; finish slices
// it. Otherwise (a foreign encoder's order, or a merged second occurrence)
// the lists are split once and appended to separately.
func (d *exDecoder) addHeader(h flow.Header, req bool) {
	e := &d.e
	if d.split {
		if req {
			e.RequestHeaders = append(e.RequestHeaders, h)
		} else {
			e.ResponseHeaders = append(e.ResponseHeaders, h)
		}
		return
	}
	if req && len(d.hdrs) > d.nReq {
		d.split = true
		e.RequestHeaders = append(d.hdrs[:d.nReq:d.nReq], h)
		e.ResponseHeaders = d.hdrs[d.nReq:]
		return
	}
	if d.hdrs == nil {
		d.hdrs = make([]flow.Header, 0, 16)
	}
	d.hdrs = append(d.hdrs, h)
	if req {
		d.nReq++
	}
}

func (d *exDecoder) decodeOuter(b []byte) (err error) {
	o := &d.e.Outer
	c := cursor{b: b}
	for c.next() {
		if c.typ != protowire.VarintType {
			continue
		}
		switch c.num {
		case outerVLAN:
			d.vlan = uint32(c.v)
		case outerInnerVLAN:
			d.innerVLAN = uint32(c.v)
		case outerVNI:
			o.VNI = uint32(c.v)
		case outerSession:
			o.Session = uint32(c.v)
		case outerTunnel:
			d.tunnel = int32(c.v)
		}
	}
	return c.err
}

func decodeHeader(b []byte) (h flow.Header, err error) {
	c := cursor{b: b}
	for c.next() {
		switch {
		case c.is(hdrName, protowire.BytesType):
			h.Name = str(c.data)
		case c.is(hdrValue, protowire.BytesType):
			h.Value = str(c.data)
		}
	}
	return h, c.err
}

func decodeBody(body *flow.Body, b []byte) (err error) {
	c := cursor{b: b}
	for c.next() {
		switch {
		case c.is(bodyWireBytes, protowire.VarintType):
			body.WireBytes = int64(c.v)
		case c.is(bodyDecodedBytes, protowire.VarintType):
			body.DecodedBytes = int64(c.v)
		case c.is(bodyContentType, protowire.BytesType):
			body.ContentType = str(c.data)
		case c.is(bodyContentEncoding, protowire.BytesType):
			body.ContentEncoding = str(c.data)
		case c.is(bodyData, protowire.BytesType):
			// Capacity capped: appending to Data never writes over the
			// bytes of another field.
			body.Data = nilIfEmpty(c.data[:len(c.data):len(c.data)])
		}
	}
	return c.err
}

func decodeCredential(cr *flow.Credential, b []byte) (err error) {
	c := cursor{b: b}
	for c.next() {
		if c.typ != protowire.BytesType {
			continue
		}
		switch c.num {
		case credLocation:
			cr.Location, err = utf8str(c.data)
		case credName:
			cr.Name = str(c.data)
		case credScheme:
			cr.Scheme = str(c.data)
		case credFingerprint:
			cr.Fingerprint, err = utf8str(c.data)
		case credUser:
			cr.User = str(c.data)
		case credJWT:
			if cr.JWT == nil {
				cr.JWT = new(flow.JWTClaims)
			}
			err = decodeJWT(cr.JWT, c.data)
		}
		if err != nil {
			return err
		}
	}
	return c.err
}

func decodeJWT(j *flow.JWTClaims, b []byte) (err error) {
	c := cursor{b: b}
	for c.next() {
		switch {
		case c.is(jwtSub, protowire.BytesType):
			j.Sub = str(c.data)
		case c.is(jwtIss, protowire.BytesType):
			j.Iss = str(c.data)
		case c.is(jwtAud, protowire.BytesType):
			j.Aud = append(j.Aud, str(c.data))
		case c.is(jwtExp, protowire.VarintType):
			j.Exp = int64(c.v)
		case c.is(jwtAlg, protowire.BytesType):
			j.Alg = str(c.data)
		}
	}
	return c.err
}

// finish checks and converts the raw fields.
func (d *exDecoder) finish() (err error) {
	e := &d.e
	if !d.split && len(d.hdrs) > 0 {
		e.RequestHeaders = nilIfEmpty(d.hdrs[:d.nReq:d.nReq])
		e.ResponseHeaders = nilIfEmpty(d.hdrs[d.nReq:])
	}
	if e.Client, err = addrPort(d.cAddr, d.cPort, "client"); err != nil {
		return err
	}
	if e.Server, err = addrPort(d.sAddr, d.sPort, "server"); err != nil {
		return err
	}
	if d.hostPort > math.MaxUint16 {
		return fmt.Errorf("%w: host_port %d", ErrMalformed, d.hostPort)
	}
	e.HostPort = uint16(d.hostPort)
	if d.vlan > math.MaxUint16 || d.innerVLAN > math.MaxUint16 {
		return fmt.Errorf("%w: vlan %d/%d", ErrMalformed, d.vlan, d.innerVLAN)
	}
	if d.tunnel < 0 || d.tunnel > math.MaxUint8 {
		return fmt.Errorf("%w: tunnel %d", ErrMalformed, d.tunnel)
	}
	e.Outer.VLAN, e.Outer.InnerVLAN, e.Outer.Tunnel = uint16(d.vlan), uint16(d.innerVLAN), flow.Tunnel(d.tunnel)
	return nil
}

func addrPort(b []byte, port uint32, what string) (netip.AddrPort, error) {
	var a netip.Addr
	switch len(b) {
	case 0:
	case 4:
		a = netip.AddrFrom4([4]byte(b))
	case 16:
		a = netip.AddrFrom16([16]byte(b))
	default:
		return netip.AddrPort{}, fmt.Errorf("%w: %s address of %d bytes", ErrMalformed, what, len(b))
	}
	if port > math.MaxUint16 {
		return netip.AddrPort{}, fmt.Errorf("%w: %s port %d", ErrMalformed, what, port)
	}
	return netip.AddrPortFrom(a, uint16(port)), nil
}
