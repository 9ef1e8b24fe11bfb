package codec

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/apitap/apitap/flow"
)

// The encoder writes the protobuf wire format directly with protowire: one
// pass computes the sizes, a second appends into a slice grown once. It
// writes exactly the bytes that proto.MarshalOptions.MarshalAppend writes for
// the generated message built from the same record (fields in number order,
// zero scalars omitted, empty bodies and outer identity omitted); the tests
// check this against the generated code on random records. The generated
// path (pooled message tree + MarshalAppend) costs about three times as much
// per record, which misses the per-core budget (docs/wire-format.md).
//
// Field numbers of schema/flow/v1/flow.proto. Never change one (rule 1);
// TestFieldNumbers checks them against the generated descriptor.
const (
	envSensorID      = 1
	envSensorVersion = 2
	envSchemaVersion = 3
	envSequence      = 4
	envExchange      = 16
	envLoss          = 17

	exStart           = 1
	exEnd             = 2
	exClientAddr      = 3
	exClientPort      = 4
	exServerAddr      = 5
	exServerPort      = 6
	exOuter           = 7
	exProto           = 8
	exMethod          = 9
	exHost            = 10
	exHostPort        = 11
	exTarget          = 12
	exPath            = 13
	exPathDecoded     = 14
	exQuery           = 15
	exRequestHeaders  = 16
	exResponseHeaders = 17
	exStatus          = 18
	exReason          = 19
	exInformational   = 20
	exRequest         = 21
	exResponse        = 22
	exCredentials     = 23
	exFlags           = 24

	outerVLAN      = 1
	outerInnerVLAN = 2
	outerVNI       = 3
	outerSession   = 4
	outerTunnel    = 5

	hdrName  = 1
	hdrValue = 2

	bodyWireBytes       = 1
	bodyDecodedBytes    = 2
	bodyContentType     = 3
	bodyContentEncoding = 4
	bodyData            = 5

	credLocation    = 1
	credName        = 2
	credScheme      = 3
	credFingerprint = 4
	credUser        = 5
	credJWT         = 6

	jwtSub = 1
	jwtIss = 2
	jwtAud = 3
	jwtExp = 4
	jwtAlg = 5

	lossStage  = 1
	lossReason = 2
	lossUnit   = 3
	lossCount  = 4
	lossFirst  = 5
	lossLast   = 6
)

// AppendExchange appends the wire record of e (an Envelope holding an
// Exchange) to dst and returns the extended slice. dst is grown at most
// once; with enough capacity nothing is allocated. It only reads e. On error
// (ErrNotRepresentable) dst is returned unchanged. Safe for concurrent use.
func AppendExchange(dst []byte, env Meta, e *flow.Exchange) ([]byte, error) {
	if err := checkMeta(env); err != nil {
		return dst, err
	}
	if err := checkExchange(e); err != nil {
		return dst, err
	}
	n := sizeExchange(e)
	dst = slices.Grow(dst, sizeMeta(env)+sizeMsg(envExchange, n))
	dst = appendMeta(dst, env)
	dst = appendTag(dst, envExchange, protowire.BytesType)
	dst = appendUvarint(dst, uint64(n))
	return appendExchange(dst, e), nil
}

// AppendLoss appends the wire record of l (an Envelope holding a Loss) to
// dst and returns the extended slice. On error (ErrNotRepresentable) dst is
// returned unchanged. Safe for concurrent use.
func AppendLoss(dst []byte, env Meta, l *flow.Loss) ([]byte, error) {
	if err := checkMeta(env); err != nil {
		return dst, err
	}
	if err := checkText("loss stage", string(l.Stage)); err != nil {
		return dst, err
	}
	if err := checkText("loss reason", l.Reason); err != nil {
		return dst, err
	}
	if err := checkText("loss unit", l.Unit); err != nil {
		return dst, err
	}
	if err := checkTime(l.First); err != nil {
		return dst, err
	}
	if err := checkTime(l.Last); err != nil {
		return dst, err
	}
	n := sizeStr(lossStage, string(l.Stage)) + sizeStr(lossReason, l.Reason) + sizeStr(lossUnit, l.Unit) +
		sizeVarint(lossCount, l.Count) + sizeTime(l.First) + sizeTime(l.Last)
	dst = slices.Grow(dst, sizeMeta(env)+sizeMsg(envLoss, n))
	dst = appendMeta(dst, env)
	dst = appendTag(dst, envLoss, protowire.BytesType)
	dst = appendUvarint(dst, uint64(n))
	dst = appendStr(dst, lossStage, string(l.Stage))
	dst = appendStr(dst, lossReason, l.Reason)
	dst = appendStr(dst, lossUnit, l.Unit)
	dst = appendVarint(dst, lossCount, l.Count)
	dst = appendTime(dst, lossFirst, l.First)
	dst = appendTime(dst, lossLast, l.Last)
	return dst, nil
}

// ---- validation: everything the wire record cannot hold ----

func checkMeta(env Meta) error {
	if err := checkText("sensor_id", env.SensorID); err != nil {
		return err
	}
	return checkText("sensor_version", env.SensorVersion)
}

// checkText: proto3 string fields must be valid UTF-8 (readers reject others).
func checkText(what, s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: %s %q is not valid UTF-8", ErrNotRepresentable, what, s)
	}
	return nil
}

var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

func checkTime(t time.Time) error {
	if !t.IsZero() && (t.Before(minTime) || t.After(maxTime)) {
		return fmt.Errorf("%w: time %s outside the Unix-nanosecond range", ErrNotRepresentable, t)
	}
	return nil
}

func checkAddr(a netip.Addr) error {
	if a.Zone() != "" {
		return fmt.Errorf("%w: address %s has a zone", ErrNotRepresentable, a)
	}
	return nil
}

func checkExchange(e *flow.Exchange) error {
	if err := checkTime(e.Start); err != nil {
		return err
	}
	if err := checkTime(e.End); err != nil {
		return err
	}
	if err := checkAddr(e.Client.Addr()); err != nil {
		return err
	}
	if err := checkAddr(e.Server.Addr()); err != nil {
		return err
	}
	if int(int32(e.Status)) != e.Status {
		return fmt.Errorf("%w: status %d", ErrNotRepresentable, e.Status)
	}
	for _, s := range e.Informational {
		if int(int32(s)) != s {
			return fmt.Errorf("%w: informational status %d", ErrNotRepresentable, s)
		}
	}
	for i := range e.Credentials {
		c := &e.Credentials[i]
		if err := checkText("credential location", c.Location); err != nil {
			return err
		}
		if err := checkText("credential fingerprint", c.Fingerprint); err != nil {
			return err
		}
	}
	return nil
}

// ---- sizes ----

func sizeTag(num protowire.Number) int {
	if num < 16 {
		return 1
	}
	return 2 // every field number here is below 2048
}

// sizeStr is the size of a bytes or string field; omitted when empty.
func sizeStr[T string | []byte](num protowire.Number, s T) int {
	if len(s) == 0 {
		return 0
	}
	return sizeTag(num) + sizeUvarint(uint64(len(s))) + len(s)
}

// sizeMsg is the size of an embedded message field of n bytes (always
// written, even when n is 0).
func sizeMsg(num protowire.Number, n int) int {
	return sizeTag(num) + sizeUvarint(uint64(n)) + n
}

// sizeVarint is the size of a varint field; omitted when zero. int32 and
// int64 values are passed sign-extended to uint64, as the wire format wants.
func sizeVarint(num protowire.Number, v uint64) int {
	if v == 0 {
		return 0
	}
	return sizeTag(num) + sizeUvarint(v)
}

func sizeTime(t time.Time) int {
	if t.IsZero() {
		return 0
	}
	return 1 + 8 // all time fields have numbers below 16
}

func sizeAddr(num protowire.Number, a netip.Addr) int {
	switch {
	case !a.IsValid():
		return 0
	case a.Is4():
		return sizeTag(num) + 1 + 4
	default:
		return sizeTag(num) + 1 + 16
	}
}

func sizeOuter(o *flow.Outer) int {
	return sizeVarint(outerVLAN, uint64(o.VLAN)) + sizeVarint(outerInnerVLAN, uint64(o.InnerVLAN)) +
		sizeVarint(outerVNI, uint64(o.VNI)) + sizeVarint(outerSession, uint64(o.Session)) +
		sizeVarint(outerTunnel, uint64(o.Tunnel))
}

func sizeHeader(h *flow.Header) int {
	return sizeStr(hdrName, h.Name) + sizeStr(hdrValue, h.Value)
}

func sizeHeaders(num protowire.Number, hs []flow.Header) int {
	n := 0
	for i := range hs {
		n += sizeMsg(num, sizeHeader(&hs[i]))
	}
	return n
}

func bodyEmpty(b *flow.Body) bool {
	return b.WireBytes == 0 && b.DecodedBytes == 0 && b.ContentType == "" && b.ContentEncoding == "" && len(b.Data) == 0
}

func sizeBody(b *flow.Body) int {
	return sizeVarint(bodyWireBytes, uint64(b.WireBytes)) + sizeVarint(bodyDecodedBytes, uint64(b.DecodedBytes)) +
		sizeStr(bodyContentType, b.ContentType) + sizeStr(bodyContentEncoding, b.ContentEncoding) +
		sizeStr(bodyData, b.Data)
}

func sizeJWT(j *flow.JWTClaims) int {
	n := sizeStr(jwtSub, j.Sub) + sizeStr(jwtIss, j.Iss) + sizeVarint(jwtExp, uint64(j.Exp)) + sizeStr(jwtAlg, j.Alg)
	for _, a := range j.Aud { // repeated: every element is written, even empty ones
		n += sizeMsg(jwtAud, len(a))
	}
	return n
}

func sizeCredential(c *flow.Credential) int {
	n := sizeStr(credLocation, c.Location) + sizeStr(credName, c.Name) + sizeStr(credScheme, c.Scheme) +
		sizeStr(credFingerprint, c.Fingerprint) + sizeStr(credUser, c.User)
	if c.JWT != nil {
		n += sizeMsg(credJWT, sizeJWT(c.JWT))
	}
	return n
}

func sizeInformational(info []int) int {
	n := 0
	for _, s := range info {
		n += sizeUvarint(uint64(int64(s)))
	}
	return n
}

func sizeMeta(env Meta) int {
	return sizeStr(envSensorID, env.SensorID) + sizeStr(envSensorVersion, env.SensorVersion) +
		sizeVarint(envSchemaVersion, uint64(SchemaVersion)) + sizeVarint(envSequence, env.Sequence)
}

func sizeExchange(e *flow.Exchange) int {
	n := sizeTime(e.Start) + sizeTime(e.End) +
		sizeAddr(exClientAddr, e.Client.Addr()) + sizeVarint(exClientPort, uint64(e.Client.Port())) +
		sizeAddr(exServerAddr, e.Server.Addr()) + sizeVarint(exServerPort, uint64(e.Server.Port())) +
		sizeStr(exProto, e.Proto) + sizeStr(exMethod, e.Method) + sizeStr(exHost, e.Host) +
		sizeVarint(exHostPort, uint64(e.HostPort)) + sizeStr(exTarget, e.Target) + sizeStr(exPath, e.Path) +
		sizeStr(exPathDecoded, e.PathDecoded) + sizeStr(exQuery, e.Query) +
		sizeHeaders(exRequestHeaders, e.RequestHeaders) + sizeHeaders(exResponseHeaders, e.ResponseHeaders) +
		sizeVarint(exStatus, uint64(int64(e.Status))) + sizeStr(exReason, e.Reason) +
		sizeVarint(exFlags, uint64(e.Flags))
	if e.Outer != (flow.Outer{}) {
		n += sizeMsg(exOuter, sizeOuter(&e.Outer))
	}
	if len(e.Informational) > 0 {
		n += sizeMsg(exInformational, sizeInformational(e.Informational))
	}
	if !bodyEmpty(&e.Request) {
		n += sizeMsg(exRequest, sizeBody(&e.Request))
	}
	if !bodyEmpty(&e.Response) {
		n += sizeMsg(exResponse, sizeBody(&e.Response))
	}
	for i := range e.Credentials {
		n += sizeMsg(exCredentials, sizeCredential(&e.Credentials[i]))
	}
	return n
}

// ---- appends (field-number order, as MarshalAppend writes them) ----

// appendUvarint is protowire.AppendVarint with the one-byte case (tags,
// most lengths) inlined.
func appendUvarint(b []byte, v uint64) []byte {
	if v < 0x80 {
		return append(b, byte(v))
	}
	return appendUvarintSlow(b, v)
}

func appendUvarintSlow(b []byte, v uint64) []byte {
	if v < 0x4000 {
		return append(b, byte(v)|0x80, byte(v>>7))
	}
	return protowire.AppendVarint(b, v)
}

func sizeUvarint(v uint64) int {
	if v < 0x80 {
		return 1
	}
	return protowire.SizeVarint(v)
}

func appendTag(b []byte, num protowire.Number, typ protowire.Type) []byte {
	return appendUvarint(b, uint64(num)<<3|uint64(typ))
}

func appendStr(b []byte, num protowire.Number, s string) []byte {
	if len(s) == 0 {
		return b
	}
	if num < 16 && len(s) < 0x80 { // the common case: one tag byte, one length byte
		b = append(b, byte(num)<<3|byte(protowire.BytesType), byte(len(s)))
	} else {
		b = appendMsgHeader(b, num, len(s))
	}
	return append(b, s...)
}

func appendBytes(b []byte, num protowire.Number, s []byte) []byte {
	if len(s) == 0 {
		return b
	}
	b = appendMsgHeader(b, num, len(s))
	return append(b, s...)
}

func appendVarint(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = appendTag(b, num, protowire.VarintType)
	return appendUvarint(b, v)
}

// appendMsgHeader writes the tag and length of a length-delimited field.
func appendMsgHeader(b []byte, num protowire.Number, n int) []byte {
	if t := uint64(num)<<3 | uint64(protowire.BytesType); n < 0x80 && t < 0x4000 {
		if t < 0x80 {
			return append(b, byte(t), byte(n))
		}
		return append(b, byte(t)|0x80, byte(t>>7), byte(n))
	}
	b = appendTag(b, num, protowire.BytesType)
	return appendUvarint(b, uint64(n))
}

func appendTime(b []byte, num protowire.Number, t time.Time) []byte {
	if t.IsZero() {
		return b
	}
	b = appendTag(b, num, protowire.Fixed64Type)
	return protowire.AppendFixed64(b, uint64(t.UnixNano()))
}

func appendAddr(b []byte, num protowire.Number, a netip.Addr) []byte {
	switch {
	case !a.IsValid():
		return b
	case a.Is4():
		v := a.As4()
		b = appendTag(b, num, protowire.BytesType)
		return append(append(b, 4), v[:]...)
	default:
		v := a.As16()
		b = appendTag(b, num, protowire.BytesType)
		return append(append(b, 16), v[:]...)
	}
}

func appendMeta(b []byte, env Meta) []byte {
	b = appendStr(b, envSensorID, env.SensorID)
	b = appendStr(b, envSensorVersion, env.SensorVersion)
	b = appendVarint(b, envSchemaVersion, uint64(SchemaVersion))
	return appendVarint(b, envSequence, env.Sequence)
}

func appendHeaders(b []byte, num protowire.Number, hs []flow.Header) []byte {
	for i := range hs {
		h := &hs[i]
		b = appendMsgHeader(b, num, sizeHeader(h))
		b = appendStr(b, hdrName, h.Name)
		b = appendStr(b, hdrValue, h.Value)
	}
	return b
}

func appendBody(b []byte, num protowire.Number, body *flow.Body) []byte {
	if bodyEmpty(body) {
		return b
	}
	b = appendMsgHeader(b, num, sizeBody(body))
	b = appendVarint(b, bodyWireBytes, uint64(body.WireBytes))
	b = appendVarint(b, bodyDecodedBytes, uint64(body.DecodedBytes))
	b = appendStr(b, bodyContentType, body.ContentType)
	b = appendStr(b, bodyContentEncoding, body.ContentEncoding)
	return appendBytes(b, bodyData, body.Data)
}

func appendCredential(b []byte, c *flow.Credential) []byte {
	b = appendMsgHeader(b, exCredentials, sizeCredential(c))
	b = appendStr(b, credLocation, c.Location)
	b = appendStr(b, credName, c.Name)
	b = appendStr(b, credScheme, c.Scheme)
	b = appendStr(b, credFingerprint, c.Fingerprint)
	b = appendStr(b, credUser, c.User)
	if j := c.JWT; j != nil {
		b = appendMsgHeader(b, credJWT, sizeJWT(j))
		b = appendStr(b, jwtSub, j.Sub)
		b = appendStr(b, jwtIss, j.Iss)
		for _, a := range j.Aud {
			b = appendMsgHeader(b, jwtAud, len(a))
			b = append(b, a...)
		}
		b = appendVarint(b, jwtExp, uint64(j.Exp))
		b = appendStr(b, jwtAlg, j.Alg)
	}
	return b
}

func appendExchange(b []byte, e *flow.Exchange) []byte {
	b = appendTime(b, exStart, e.Start)
	b = appendTime(b, exEnd, e.End)
	b = appendAddr(b, exClientAddr, e.Client.Addr())
	b = appendVarint(b, exClientPort, uint64(e.Client.Port()))
	b = appendAddr(b, exServerAddr, e.Server.Addr())
	b = appendVarint(b, exServerPort, uint64(e.Server.Port()))
	if o := &e.Outer; *o != (flow.Outer{}) {
		b = appendMsgHeader(b, exOuter, sizeOuter(o))
		b = appendVarint(b, outerVLAN, uint64(o.VLAN))
		b = appendVarint(b, outerInnerVLAN, uint64(o.InnerVLAN))
		b = appendVarint(b, outerVNI, uint64(o.VNI))
		b = appendVarint(b, outerSession, uint64(o.Session))
		b = appendVarint(b, outerTunnel, uint64(o.Tunnel))
	}
	b = appendStr(b, exProto, e.Proto)
	b = appendStr(b, exMethod, e.Method)
	b = appendStr(b, exHost, e.Host)
	b = appendVarint(b, exHostPort, uint64(e.HostPort))
	b = appendStr(b, exTarget, e.Target)
	b = appendStr(b, exPath, e.Path)
	b = appendStr(b, exPathDecoded, e.PathDecoded)
	b = appendStr(b, exQuery, e.Query)
	b = appendHeaders(b, exRequestHeaders, e.RequestHeaders)
	b = appendHeaders(b, exResponseHeaders, e.ResponseHeaders)
	b = appendVarint(b, exStatus, uint64(int64(e.Status)))
	b = appendStr(b, exReason, e.Reason)
	if len(e.Informational) > 0 { // packed, as proto3 repeated scalars are
		b = appendMsgHeader(b, exInformational, sizeInformational(e.Informational))
		for _, s := range e.Informational {
			b = appendUvarint(b, uint64(int64(s)))
		}
	}
	b = appendBody(b, exRequest, &e.Request)
	b = appendBody(b, exResponse, &e.Response)
	for i := range e.Credentials {
		b = appendCredential(b, &e.Credentials[i])
	}
	return appendVarint(b, exFlags, uint64(e.Flags))
}
