-- exchanges: one row per HTTP exchange (analyzer.ExchangeRow), docs/storage.md.
-- ReplacingMergeTree keyed by (host, time, sensor_id, sequence): a replayed
-- record gives the same key, so a merge or FINAL keeps one row. The endpoint
-- template is not in the key: it may change between analyzer runs.
CREATE TABLE IF NOT EXISTS {{table "exchanges"}}{{onCluster}}
(
    time            {{datetime}}{{codec "DoubleDelta, ZSTD(1)"}},
    sensor_id       {{lc "String"}},
    sequence        UInt64{{codec "Delta, ZSTD(1)"}},
    client_ip       String{{codec "ZSTD(1)"}},
    client_port     UInt16{{codec "ZSTD(1)"}},
    server_ip       {{lc "String"}},
    server_port     UInt16{{codec "ZSTD(1)"}},
    vlan            UInt16{{codec "ZSTD(1)"}},
    vni             UInt32{{codec "ZSTD(1)"}},
    principal       String{{codec "ZSTD(1)"}},
    principal_type  {{lc "String"}},
    host            {{lc "String"}},
    method          {{lc "String"}},
    endpoint        {{lc "String"}},
    query_keys      Array({{lc "String"}}),
    status          UInt16{{codec "ZSTD(1)"}},
    request_bytes   UInt64{{codec "ZSTD(1)"}},
    response_bytes  UInt64{{codec "ZSTD(1)"}},
    request_type    {{lc "String"}},
    response_type   {{lc "String"}},
    latency_us      UInt32{{codec "ZSTD(1)"}},
    flags           Array({{lc "String"}}),
    ingested_at     DateTime DEFAULT now(){{codec "Delta, ZSTD(1)"}}
)
ENGINE = {{engine "exchanges" ""}}
PARTITION BY toYYYYMMDD(time)
ORDER BY (host, time, sensor_id, sequence)
{{ttl "time"}}
SETTINGS index_granularity = 8192;
{{distributed "exchanges" "cityHash64(sensor_id, sequence)"}}
