package flow

import (
	"strconv"
	"strings"
)

// GRPCStatus is the gRPC status code of a gRPC response (content type
// application/grpc…): the grpc-status field, which arrives in the
// response's trailers (recorded after its headers for HTTP/2) or, for a
// trailers-only response, in its headers. ok is false for other exchanges
// and when the field is missing or not a number.
func GRPCStatus(e *Exchange) (code int, ok bool) {
	if !strings.HasPrefix(e.Response.ContentType, "application/grpc") {
		return 0, false
	}
	for i := len(e.ResponseHeaders) - 1; i >= 0; i-- { // trailers come last
		h := &e.ResponseHeaders[i]
		if strings.EqualFold(h.Name, "grpc-status") {
			n, err := strconv.Atoi(strings.TrimSpace(h.Value))
			if err != nil || n < 0 || n > 255 {
				return 0, false
			}
			return n, true
		}
	}
	return 0, false
}

// grpcHTTP is the HTTP status each gRPC status code corresponds to, as
// grpc-gateway maps them (runtime.HTTPStatusFromCode): the mapping API
// gateways and most dashboards use.
var grpcHTTP = [...]int{
	0:  200, // OK
	1:  499, // CANCELLED (client closed request)
	2:  500, // UNKNOWN
	3:  400, // INVALID_ARGUMENT
	4:  504, // DEADLINE_EXCEEDED
	5:  404, // NOT_FOUND
	6:  409, // ALREADY_EXISTS
	7:  403, // PERMISSION_DENIED
	8:  429, // RESOURCE_EXHAUSTED
	9:  400, // FAILED_PRECONDITION
	10: 409, // ABORTED
	11: 400, // OUT_OF_RANGE
	12: 501, // UNIMPLEMENTED
	13: 500, // INTERNAL
	14: 503, // UNAVAILABLE
	15: 500, // DATA_LOSS
	16: 401, // UNAUTHENTICATED
}

// EffectiveStatus is the status that says how an exchange went: the HTTP
// status, except for a gRPC call answered 200 whose grpc-status says
// otherwise, which gets the HTTP status that gRPC code corresponds to
// (UNAUTHENTICATED 401, PERMISSION_DENIED 403, RESOURCE_EXHAUSTED 429,
// UNAVAILABLE 503, unknown codes 500). gRPC answers every call 200 at the
// HTTP level; without this a failed login or a denied call would look
// like a success.
func EffectiveStatus(e *Exchange) int {
	if e.Status != 200 {
		return e.Status
	}
	code, ok := GRPCStatus(e)
	if !ok {
		return e.Status
	}
	if code < len(grpcHTTP) {
		return grpcHTTP[code]
	}
	return 500
}
