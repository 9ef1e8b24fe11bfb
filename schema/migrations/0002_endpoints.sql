-- endpoints: the API inventory (analyzer.EndpointRow), docs/storage.md.
-- One current row per (host, method, endpoint): ReplacingMergeTree(version)
-- keeps the highest version. Small, so not partitioned and never expired.
CREATE TABLE IF NOT EXISTS {{table "endpoints"}}{{onCluster}}
(
    host            {{lc "String"}},
    method          {{lc "String"}},
    endpoint        String{{codec "ZSTD(1)"}},
    state           {{lc "String"}},
    first_seen      {{datetime}},
    last_seen       {{datetime}},
    requests        UInt64,
    client_errors   UInt64,
    server_errors   UInt64,
    version         UInt64
)
ENGINE = {{engine "endpoints" "version"}}
ORDER BY (host, method, endpoint)
SETTINGS index_granularity = 8192;
{{distributed "endpoints" "cityHash64(host, method, endpoint)"}}
