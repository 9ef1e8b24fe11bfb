-- endpoints: the API inventory (analyzer.EndpointRow), docs/storage.md and
-- docs/inventory.md. One current row per (host, method, endpoint,
-- operation, port): ReplacingMergeTree(version) keeps the highest version.
-- Small, so not partitioned and never expired. state_blob is the entry's
-- mergeable state (counts, sketches), read back by an analyzer that starts
-- or takes the host over.
CREATE TABLE IF NOT EXISTS {{table "endpoints"}}{{onCluster}}
(
    host            {{lc "String"}},
    method          {{lc "String"}},
    endpoint        String{{codec "ZSTD(1)"}},
    operation       String{{codec "ZSTD(1)"}},
    port            UInt16,
    state           {{lc "String"}},
    spec            {{lc "String"}},
    first_seen      {{datetime}},
    last_seen       {{datetime}},
    requests        UInt64,
    client_errors   UInt64,
    server_errors   UInt64,
    clients         UInt64,
    status_codes    Array(UInt16),
    status_counts   Array(UInt64),
    auth            Array({{lc "String"}}),
    params          String{{codec "ZSTD(1)"}},
    state_blob      String{{codec "ZSTD(3)"}},
    version         UInt64
)
ENGINE = {{engine "endpoints" "version"}}
ORDER BY (host, method, endpoint, operation, port)
SETTINGS index_granularity = 8192;
{{distributed "endpoints" "cityHash64(host)"}}
