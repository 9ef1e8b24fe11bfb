-- 0006: how a gRPC call went. gRPC answers every call 200 at the HTTP
-- level and puts its status in the grpc-status trailer (docs/exchange.md,
-- "HTTP/2"). grpc_status is that code, -1 for an exchange that is not a
-- gRPC call (or whose trailers never came); effective_status is the HTTP
-- status the detectors see (flow.EffectiveStatus: a gRPC code mapped to
-- its HTTP status, else the HTTP status), which the dashboards' error
-- counts read. Rows stored before this migration read as -1 and status.
{{addColumn "exchanges" "grpc_status" (printf "Int16 DEFAULT -1%s" (codec "ZSTD(1)"))}}
{{addColumn "exchanges" "effective_status" (printf "UInt16 DEFAULT status%s" (codec "ZSTD(1)"))}}
