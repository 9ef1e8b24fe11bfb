package codec

// The reference encoder: builds the generated message (flowpb) from pooled
// objects and marshals it with proto.MarshalOptions.MarshalAppend. It was
// the first implementation; at ~1.6 µs per realistic record it missed the
// 1 µs budget, so the package encodes by hand (encode.go). It stays here as
// the oracle: the hand encoder must write exactly the bytes MarshalAppend
// writes for the same record (TestEncoderMatchesGenerated).
//
// The reference decoder: proto.Unmarshal into the generated message, then
// conversion. At ~5 µs and ~90 allocations per realistic record it was
// replaced by the hand decoder (decode.go); FuzzDecode checks that the two
// agree on every input (same record, same class of error).

import (
	"fmt"
	"math"
	"net/netip"
	"sync"
	"time"
	"unsafe"

	"google.golang.org/protobuf/proto"

	"github.com/apitap/apitap/flow"
	flowpb "github.com/apitap/apitap/schema/flow/v1"
)

func refAppendExchange(dst []byte, env Meta, e *flow.Exchange) ([]byte, error) {
	enc := refPool.Get().(*refEncoder)
	dst, err := enc.AppendExchange(dst, env, e)
	refPool.Put(enc)
	return dst, err
}

func refAppendLoss(dst []byte, env Meta, l *flow.Loss) ([]byte, error) {
	enc := refPool.Get().(*refEncoder)
	dst, err := enc.AppendLoss(dst, env, l)
	refPool.Put(enc)
	return dst, err
}

var refPool = sync.Pool{New: func() any { return new(refEncoder) }}

// Encoder encodes records. It keeps the generated message tree between
// calls, so encoding allocates nothing once it has seen a record of a given
// shape (only dst grows). The zero value is ready to use; an Encoder is not
// safe for concurrent use.
type refEncoder struct {
	env   flowpb.Envelope
	exw   flowpb.Envelope_Exchange
	lossw flowpb.Envelope_Loss
	ex    flowpb.Exchange
	loss  flowpb.Loss
	outer flowpb.Outer
	req   flowpb.Body
	resp  flowpb.Body

	// Storage the message points into.
	t1, t2     int64
	cAddr      [16]byte
	sAddr      [16]byte
	info       []int32
	hdrs       []*flowpb.Header
	reqHdrs    []*flowpb.Header
	respHdrs   []*flowpb.Header
	creds      []*flowpb.Credential
	credPtrs   []*flowpb.Credential
	jwts       []*flowpb.JWTClaims
	aud        [][]byte
	nj         int // JWT messages in use
	marshalOpt proto.MarshalOptions
}

// AppendExchange is AppendExchange on the Encoder's own message tree.
func (enc *refEncoder) AppendExchange(dst []byte, env Meta, e *flow.Exchange) ([]byte, error) {
	out, err := enc.appendExchange(dst, env, e)
	enc.clearExchange()
	if err != nil {
		return dst, err
	}
	return out, nil
}

func (enc *refEncoder) appendExchange(dst []byte, env Meta, e *flow.Exchange) ([]byte, error) {
	ex := &enc.ex
	var err error
	if ex.StartUnixNano, err = refTimeNano(e.Start, &enc.t1); err != nil {
		return dst, err
	}
	if ex.EndUnixNano, err = refTimeNano(e.End, &enc.t2); err != nil {
		return dst, err
	}
	if ex.ClientAddr, err = refAddrBytes(&enc.cAddr, e.Client.Addr()); err != nil {
		return dst, err
	}
	ex.ClientPort = uint32(e.Client.Port())
	if ex.ServerAddr, err = refAddrBytes(&enc.sAddr, e.Server.Addr()); err != nil {
		return dst, err
	}
	ex.ServerPort = uint32(e.Server.Port())
	if e.Outer != (flow.Outer{}) {
		enc.outer.Vlan = uint32(e.Outer.VLAN)
		enc.outer.InnerVlan = uint32(e.Outer.InnerVLAN)
		enc.outer.Vni = e.Outer.VNI
		enc.outer.Session = e.Outer.Session
		enc.outer.Tunnel = flowpb.Tunnel(e.Outer.Tunnel)
		ex.Outer = &enc.outer
	} else {
		ex.Outer = nil
	}
	ex.Proto = refSB(e.Proto)
	ex.Method = refSB(e.Method)
	ex.Host = refSB(e.Host)
	ex.HostPort = uint32(e.HostPort)
	ex.Target = refSB(e.Target)
	ex.Path = refSB(e.Path)
	ex.PathDecoded = refSB(e.PathDecoded)
	ex.Query = refSB(e.Query)

	n := len(e.RequestHeaders) + len(e.ResponseHeaders)
	for len(enc.hdrs) < n {
		enc.hdrs = append(enc.hdrs, new(flowpb.Header))
	}
	enc.reqHdrs = fillHeaders(enc.reqHdrs[:0], enc.hdrs, e.RequestHeaders)
	enc.respHdrs = fillHeaders(enc.respHdrs[:0], enc.hdrs[len(e.RequestHeaders):], e.ResponseHeaders)
	ex.RequestHeaders = refNilIfEmpty(enc.reqHdrs)
	ex.ResponseHeaders = refNilIfEmpty(enc.respHdrs)

	if int(int32(e.Status)) != e.Status {
		return dst, fmt.Errorf("%w: status %d", ErrNotRepresentable, e.Status)
	}
	ex.Status = int32(e.Status)
	ex.Reason = refSB(e.Reason)
	enc.info = enc.info[:0]
	for _, s := range e.Informational {
		if int(int32(s)) != s {
			return dst, fmt.Errorf("%w: informational status %d", ErrNotRepresentable, s)
		}
		enc.info = append(enc.info, int32(s))
	}
	ex.Informational = refNilIfEmpty(enc.info)

	ex.Request = fillBody(&enc.req, &e.Request)
	ex.Response = fillBody(&enc.resp, &e.Response)

	enc.credPtrs = enc.credPtrs[:0]
	enc.aud = enc.aud[:0]
	enc.nj = 0
	for i := range e.Credentials {
		c := &e.Credentials[i]
		if i == len(enc.creds) {
			enc.creds = append(enc.creds, new(flowpb.Credential))
		}
		pc := enc.creds[i]
		pc.Location = c.Location
		pc.Name = refSB(c.Name)
		pc.Scheme = refSB(c.Scheme)
		pc.Fingerprint = c.Fingerprint
		pc.User = refSB(c.User)
		pc.Jwt = nil
		if c.JWT != nil {
			if enc.nj == len(enc.jwts) {
				enc.jwts = append(enc.jwts, new(flowpb.JWTClaims))
			}
			pj := enc.jwts[enc.nj]
			enc.nj++
			pj.Sub = refSB(c.JWT.Sub)
			pj.Iss = refSB(c.JWT.Iss)
			pj.Exp = c.JWT.Exp
			pj.Alg = refSB(c.JWT.Alg)
			a0 := len(enc.aud)
			for _, a := range c.JWT.Aud {
				enc.aud = append(enc.aud, refSB(a))
			}
			pj.Aud = refNilIfEmpty(enc.aud[a0:len(enc.aud):len(enc.aud)])
			pc.Jwt = pj
		}
		enc.credPtrs = append(enc.credPtrs, pc)
	}
	ex.Credentials = refNilIfEmpty(enc.credPtrs)
	ex.Flags = uint32(e.Flags)

	enc.exw.Exchange = ex
	enc.env.Record = &enc.exw
	return enc.marshal(dst, env)
}

// AppendLoss is AppendLoss on the Encoder's own message tree.
func (enc *refEncoder) AppendLoss(dst []byte, env Meta, l *flow.Loss) ([]byte, error) {
	pl := &enc.loss
	var err error
	if pl.FirstUnixNano, err = refTimeNano(l.First, &enc.t1); err != nil {
		return dst, err
	}
	if pl.LastUnixNano, err = refTimeNano(l.Last, &enc.t2); err != nil {
		return dst, err
	}
	pl.Stage = string(l.Stage)
	pl.Reason = l.Reason
	pl.Unit = l.Unit
	pl.Count = l.Count
	enc.lossw.Loss = pl
	enc.env.Record = &enc.lossw
	dst, err = enc.marshal(dst, env)
	pl.Stage, pl.Reason, pl.Unit = "", "", ""
	return dst, err
}

func (enc *refEncoder) marshal(dst []byte, env Meta) ([]byte, error) {
	enc.env.SensorId = env.SensorID
	enc.env.SensorVersion = env.SensorVersion
	enc.env.SchemaVersion = SchemaVersion
	enc.env.Sequence = env.Sequence
	enc.marshalOpt.AllowPartial = true // proto3: nothing is required; skips a walk
	out, err := enc.marshalOpt.MarshalAppend(dst, &enc.env)
	enc.env.SensorId, enc.env.SensorVersion = "", ""
	enc.env.Record = nil
	if err != nil {
		// The only marshal failure of this schema is invalid UTF-8 in a
		// string field.
		return dst, fmt.Errorf("%w: %v", ErrNotRepresentable, err)
	}
	return out, nil
}

// clearExchange drops every reference to the record just encoded, so a
// pooled Encoder does not keep a body alive.
func (enc *refEncoder) clearExchange() {
	ex := &enc.ex
	ex.Proto, ex.Method, ex.Host, ex.Target = nil, nil, nil, nil
	ex.Path, ex.PathDecoded, ex.Query, ex.Reason = nil, nil, nil, nil
	for _, h := range enc.reqHdrs {
		h.Name, h.Value = nil, nil
	}
	for _, h := range enc.respHdrs {
		h.Name, h.Value = nil, nil
	}
	enc.req.ContentType, enc.req.ContentEncoding, enc.req.Data = nil, nil, nil
	enc.resp.ContentType, enc.resp.ContentEncoding, enc.resp.Data = nil, nil, nil
	for _, c := range enc.credPtrs {
		c.Location, c.Name, c.Scheme, c.Fingerprint, c.User, c.Jwt = "", nil, nil, "", nil, nil
	}
	for _, j := range enc.jwts[:enc.nj] {
		j.Sub, j.Iss, j.Alg, j.Aud = nil, nil, nil, nil
	}
	clear(enc.aud)
}

func fillHeaders(dst, pool []*flowpb.Header, hs []flow.Header) []*flowpb.Header {
	for i := range hs {
		h := pool[i]
		h.Name = refSB(hs[i].Name)
		h.Value = refSB(hs[i].Value)
		dst = append(dst, h)
	}
	return dst
}

func fillBody(pb *flowpb.Body, b *flow.Body) *flowpb.Body {
	if b.WireBytes == 0 && b.DecodedBytes == 0 && b.ContentType == "" && b.ContentEncoding == "" && len(b.Data) == 0 {
		return nil
	}
	pb.WireBytes = b.WireBytes
	pb.DecodedBytes = b.DecodedBytes
	pb.ContentType = refSB(b.ContentType)
	pb.ContentEncoding = refSB(b.ContentEncoding)
	pb.Data = refNilIfEmpty(b.Data)
	return pb
}

// sb views s as bytes without copying. The message only reads it (Marshal
// never writes into its input), and the view is dropped after marshalling.
func refSB(s string) []byte {
	if s == "" {
		return nil
	}
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

var (
	refMinTime = time.Unix(0, math.MinInt64)
	refMaxTime = time.Unix(0, math.MaxInt64)
)

// timeNano converts t for an `optional sfixed64 *_unix_nano` field: nil for
// the zero time, else a pointer to *store holding the Unix nanoseconds.
func refTimeNano(t time.Time, store *int64) (*int64, error) {
	if t.IsZero() {
		return nil, nil
	}
	if t.Before(refMinTime) || t.After(refMaxTime) {
		return nil, fmt.Errorf("%w: time %s outside the Unix-nanosecond range", ErrNotRepresentable, t)
	}
	*store = t.UnixNano()
	return store, nil
}

func refAddrBytes(buf *[16]byte, a netip.Addr) ([]byte, error) {
	switch {
	case !a.IsValid():
		return nil, nil
	case a.Zone() != "":
		return nil, fmt.Errorf("%w: address %s has a zone", ErrNotRepresentable, a)
	case a.Is4():
		*(*[4]byte)(buf[:4]) = a.As4()
		return buf[:4], nil
	default:
		*buf = a.As16()
		return buf[:], nil
	}
}

func refNilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

// Decode parses one wire record. The result owns its memory: b may be
// reused as soon as Decode returns. Fields this reader does not know are
// ignored. Errors: ErrMalformed for bytes that are not a valid record;
// ErrFutureVersion and ErrUnknownKind (with Record.Meta filled in) for a
// valid envelope this reader must not interpret. Decode never panics.
func refDecode(b []byte) (Record, error) {
	var env flowpb.Envelope
	if err := (proto.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(b, &env); err != nil {
		return Record{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	r := Record{Meta: Meta{
		SensorID:      env.SensorId,
		SensorVersion: env.SensorVersion,
		SchemaVersion: env.SchemaVersion,
		Sequence:      env.Sequence,
	}}
	switch {
	case env.SchemaVersion == 0:
		return r, fmt.Errorf("%w: no schema_version", ErrMalformed)
	case env.SchemaVersion > SchemaVersion:
		return r, fmt.Errorf("%w: %d (this reader knows up to %d)", ErrFutureVersion, env.SchemaVersion, SchemaVersion)
	}
	var err error
	switch rec := env.Record.(type) {
	case *flowpb.Envelope_Exchange:
		r.Exchange, err = refExchangeFromPB(rec.Exchange)
	case *flowpb.Envelope_Loss:
		r.Loss = refLossFromPB(rec.Loss)
	default:
		return r, ErrUnknownKind
	}
	if err != nil {
		return Record{Meta: r.Meta}, err
	}
	return r, nil
}

// bs views b as a string without copying. Only used on byte slices that the
// unmarshaller allocated for this call and that nothing else references.
func refBs(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

func refTimeFromPB(p *int64) time.Time {
	if p == nil {
		return time.Time{}
	}
	return time.Unix(0, *p).UTC()
}

func refAddrPortFromPB(b []byte, port uint32, what string) (netip.AddrPort, error) {
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

func refExchangeFromPB(p *flowpb.Exchange) (*flow.Exchange, error) {
	if p == nil { // an empty embedded message decodes as non-nil; guard anyway
		p = &flowpb.Exchange{}
	}
	e := &flow.Exchange{
		Start:       refTimeFromPB(p.StartUnixNano),
		End:         refTimeFromPB(p.EndUnixNano),
		Proto:       refBs(p.Proto),
		Method:      refBs(p.Method),
		Host:        refBs(p.Host),
		Target:      refBs(p.Target),
		Path:        refBs(p.Path),
		PathDecoded: refBs(p.PathDecoded),
		Query:       refBs(p.Query),
		Status:      int(p.Status),
		Reason:      refBs(p.Reason),
		Flags:       flow.Flags(p.Flags),
	}
	var err error
	if e.Client, err = refAddrPortFromPB(p.ClientAddr, p.ClientPort, "client"); err != nil {
		return nil, err
	}
	if e.Server, err = refAddrPortFromPB(p.ServerAddr, p.ServerPort, "server"); err != nil {
		return nil, err
	}
	if p.HostPort > math.MaxUint16 {
		return nil, fmt.Errorf("%w: host_port %d", ErrMalformed, p.HostPort)
	}
	e.HostPort = uint16(p.HostPort)
	if o := p.Outer; o != nil {
		if o.Vlan > math.MaxUint16 || o.InnerVlan > math.MaxUint16 {
			return nil, fmt.Errorf("%w: vlan %d/%d", ErrMalformed, o.Vlan, o.InnerVlan)
		}
		if o.Tunnel < 0 || o.Tunnel > math.MaxUint8 {
			return nil, fmt.Errorf("%w: tunnel %d", ErrMalformed, o.Tunnel)
		}
		e.Outer = flow.Outer{
			VLAN:      uint16(o.Vlan),
			InnerVLAN: uint16(o.InnerVlan),
			VNI:       o.Vni,
			Session:   o.Session,
			Tunnel:    flow.Tunnel(o.Tunnel),
		}
	}
	nh := len(p.RequestHeaders) + len(p.ResponseHeaders)
	if nh > 0 {
		hs := make([]flow.Header, nh) // one allocation for both lists
		for i, h := range p.RequestHeaders {
			hs[i] = flow.Header{Name: refBs(h.Name), Value: refBs(h.Value)}
		}
		for i, h := range p.ResponseHeaders {
			hs[len(p.RequestHeaders)+i] = flow.Header{Name: refBs(h.Name), Value: refBs(h.Value)}
		}
		n := len(p.RequestHeaders)
		if n > 0 {
			e.RequestHeaders = hs[:n:n]
		}
		if nh > n {
			e.ResponseHeaders = hs[n:]
		}
	}
	if len(p.Informational) > 0 {
		e.Informational = make([]int, len(p.Informational))
		for i, s := range p.Informational {
			e.Informational[i] = int(s)
		}
	}
	refBodyFromPB(&e.Request, p.Request)
	refBodyFromPB(&e.Response, p.Response)
	if len(p.Credentials) > 0 {
		e.Credentials = make([]flow.Credential, len(p.Credentials))
		for i, c := range p.Credentials {
			e.Credentials[i] = flow.Credential{
				Location:    c.Location,
				Name:        refBs(c.Name),
				Scheme:      refBs(c.Scheme),
				Fingerprint: c.Fingerprint,
				User:        refBs(c.User),
			}
			if j := c.Jwt; j != nil {
				claims := &flow.JWTClaims{Sub: refBs(j.Sub), Iss: refBs(j.Iss), Exp: j.Exp, Alg: refBs(j.Alg)}
				if len(j.Aud) > 0 {
					claims.Aud = make([]string, len(j.Aud))
					for k, a := range j.Aud {
						claims.Aud[k] = refBs(a)
					}
				}
				e.Credentials[i].JWT = claims
			}
		}
	}
	return e, nil
}

func refBodyFromPB(b *flow.Body, p *flowpb.Body) {
	if p == nil {
		return
	}
	*b = flow.Body{
		WireBytes:       p.WireBytes,
		DecodedBytes:    p.DecodedBytes,
		ContentType:     refBs(p.ContentType),
		ContentEncoding: refBs(p.ContentEncoding),
		Data:            refNilIfEmpty(p.Data),
	}
}

func refLossFromPB(p *flowpb.Loss) *flow.Loss {
	if p == nil {
		p = &flowpb.Loss{}
	}
	return &flow.Loss{
		Stage:  flow.Stage(p.Stage),
		Reason: p.Reason,
		Unit:   p.Unit,
		Count:  p.Count,
		First:  refTimeFromPB(p.FirstUnixNano),
		Last:   refTimeFromPB(p.LastUnixNano),
	}
}
