-- loss: the sensors' loss records (analyzer.LossRow), docs/storage.md: when
-- and why a sensor was blind. (sensor_id, sequence) identify a record.
CREATE TABLE IF NOT EXISTS {{table "loss"}}{{onCluster}}
(
    sensor_id       {{lc "String"}},
    sequence        UInt64,
    stage           {{lc "String"}},
    reason          {{lc "String"}},
    unit            {{lc "String"}},
    count           UInt64,
    window_start    {{datetime}},
    window_end      {{datetime}},
    ingested_at     DateTime DEFAULT now()
)
ENGINE = {{engine "loss" ""}}
PARTITION BY toYYYYMM(window_end)
ORDER BY (sensor_id, window_end, sequence)
{{ttl "window_end"}}
SETTINGS index_granularity = 8192;
{{distributed "loss" "cityHash64(sensor_id, sequence)"}}
