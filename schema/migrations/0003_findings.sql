-- findings: sensitive data, anomalies, shadow/zombie endpoints
-- (analyzer.FindingRow), docs/storage.md. The id is stable for a finding;
-- ReplacingMergeTree(version) keeps its latest state.
CREATE TABLE IF NOT EXISTS {{table "findings"}}{{onCluster}}
(
    id              String,
    time            {{datetime}},
    kind            {{lc "String"}},
    type            {{lc "String"}},
    severity        {{lc "String"}},
    confidence      {{lc "String"}},
    host            {{lc "String"}},
    method          {{lc "String"}},
    endpoint        {{lc "String"}},
    client_ip       String{{codec "ZSTD(1)"}},
    principal       String{{codec "ZSTD(1)"}},
    location        String{{codec "ZSTD(1)"}},
    count           UInt64,
    first_seen      {{datetime}},
    last_seen       {{datetime}},
    summary         String{{codec "ZSTD(3)"}},
    evidence        String{{codec "ZSTD(3)"}},
    version         UInt64
)
ENGINE = {{engine "findings" "version"}}
PARTITION BY toYYYYMM(time)
ORDER BY (kind, type, host, id)
{{ttl "last_seen"}}
SETTINGS index_granularity = 8192;
{{distributed "findings" "cityHash64(id)"}}
