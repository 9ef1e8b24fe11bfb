package flow

import "testing"

func TestEffectiveStatus(t *testing.T) {
	grpc := func(status int, ctype string, hdrs ...string) *Exchange {
		e := &Exchange{Status: status, Response: Body{ContentType: ctype}}
		for i := 0; i+1 < len(hdrs); i += 2 {
			e.ResponseHeaders = append(e.ResponseHeaders, Header{Name: hdrs[i], Value: hdrs[i+1]})
		}
		return e
	}
	for _, tc := range []struct {
		name string
		e    *Exchange
		want int
		code int
		ok   bool
	}{
		{"plain HTTP", grpc(404, "text/html"), 404, 0, false},
		{"HTTP 200 with a stray grpc-status", grpc(200, "application/json", "grpc-status", "16"), 200, 0, false},
		{"gRPC OK", grpc(200, "application/grpc", "content-type", "application/grpc", "grpc-status", "0"), 200, 0, true},
		{"UNAUTHENTICATED in the trailers", grpc(200, "application/grpc+proto", "grpc-status", "16", "grpc-message", "bad token"), 401, 16, true},
		{"PERMISSION_DENIED", grpc(200, "application/grpc", "Grpc-Status", " 7 "), 403, 7, true},
		{"RESOURCE_EXHAUSTED", grpc(200, "application/grpc-web", "grpc-status", "8"), 429, 8, true},
		{"UNAVAILABLE", grpc(200, "application/grpc", "grpc-status", "14"), 503, 14, true},
		{"unknown code", grpc(200, "application/grpc", "grpc-status", "99"), 500, 99, true},
		{"the last grpc-status wins (trailers after headers)", grpc(200, "application/grpc", "grpc-status", "0", "grpc-status", "5"), 404, 5, true},
		{"no grpc-status (stream cut short)", grpc(200, "application/grpc"), 200, 0, false},
		{"garbage", grpc(200, "application/grpc", "grpc-status", "x"), 200, 0, false},
		{"HTTP error wins", grpc(503, "application/grpc", "grpc-status", "0"), 503, 0, true},
	} {
		if got := EffectiveStatus(tc.e); got != tc.want {
			t.Errorf("%s: EffectiveStatus %d, want %d", tc.name, got, tc.want)
		}
		if code, ok := GRPCStatus(tc.e); code != tc.code || ok != tc.ok {
			t.Errorf("%s: GRPCStatus %d %v, want %d %v", tc.name, code, ok, tc.code, tc.ok)
		}
	}
}
