CREATE TABLE IF NOT EXISTS `apitap`.`exchanges`
(
    time            DateTime64(3, 'UTC') CODEC(DoubleDelta, ZSTD(1)),
    sensor_id       LowCardinality(String),
    sequence        UInt64 CODEC(Delta, ZSTD(1)),
    client_ip       String CODEC(ZSTD(1)),
    client_port     UInt16 CODEC(ZSTD(1)),
    server_ip       LowCardinality(String),
    server_port     UInt16 CODEC(ZSTD(1)),
    vlan            UInt16 CODEC(ZSTD(1)),
    vni             UInt32 CODEC(ZSTD(1)),
    principal       String CODEC(ZSTD(1)),
    principal_type  LowCardinality(String),
    host            LowCardinality(String),
    method          LowCardinality(String),
    endpoint        LowCardinality(String),
    query_keys      Array(LowCardinality(String)),
    status          UInt16 CODEC(ZSTD(1)),
    request_bytes   UInt64 CODEC(ZSTD(1)),
    response_bytes  UInt64 CODEC(ZSTD(1)),
    request_type    LowCardinality(String),
    response_type   LowCardinality(String),
    latency_us      UInt32 CODEC(ZSTD(1)),
    flags           Array(LowCardinality(String)),
    ingested_at     DateTime DEFAULT now() CODEC(Delta, ZSTD(1))
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMMDD(time)
ORDER BY (host, time, sensor_id, sequence)
TTL toDateTime(time) + INTERVAL 30 DAY
SETTINGS index_granularity = 8192;

CREATE TABLE IF NOT EXISTS `apitap`.`endpoints`
(
    host            LowCardinality(String),
    method          LowCardinality(String),
    endpoint        String CODEC(ZSTD(1)),
    operation       String CODEC(ZSTD(1)),
    port            UInt16,
    state           LowCardinality(String),
    spec            LowCardinality(String),
    first_seen      DateTime64(3, 'UTC'),
    last_seen       DateTime64(3, 'UTC'),
    requests        UInt64,
    client_errors   UInt64,
    server_errors   UInt64,
    clients         UInt64,
    status_codes    Array(UInt16),
    status_counts   Array(UInt64),
    auth            Array(LowCardinality(String)),
    params          String CODEC(ZSTD(1)),
    state_blob      String CODEC(ZSTD(3)),
    version         UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (host, method, endpoint, operation, port)
SETTINGS index_granularity = 8192;

CREATE TABLE IF NOT EXISTS `apitap`.`findings`
(
    id              String,
    time            DateTime64(3, 'UTC'),
    kind            LowCardinality(String),
    type            LowCardinality(String),
    severity        LowCardinality(String),
    confidence      LowCardinality(String),
    host            LowCardinality(String),
    method          LowCardinality(String),
    endpoint        LowCardinality(String),
    client_ip       String CODEC(ZSTD(1)),
    principal       String CODEC(ZSTD(1)),
    location        String CODEC(ZSTD(1)),
    count           UInt64,
    first_seen      DateTime64(3, 'UTC'),
    last_seen       DateTime64(3, 'UTC'),
    summary         String CODEC(ZSTD(3)),
    evidence        String CODEC(ZSTD(3)),
    version         UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(time)
ORDER BY (kind, type, host, id)
TTL toDateTime(last_seen) + INTERVAL 30 DAY
SETTINGS index_granularity = 8192;

CREATE TABLE IF NOT EXISTS `apitap`.`loss`
(
    sensor_id       LowCardinality(String),
    sequence        UInt64,
    stage           LowCardinality(String),
    reason          LowCardinality(String),
    unit            LowCardinality(String),
    count           UInt64,
    window_start    DateTime64(3, 'UTC'),
    window_end      DateTime64(3, 'UTC'),
    ingested_at     DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(window_end)
ORDER BY (sensor_id, window_end, sequence)
TTL toDateTime(window_end) + INTERVAL 30 DAY
SETTINGS index_granularity = 8192;

ALTER TABLE `apitap`.`findings` ADD COLUMN IF NOT EXISTS `field` String CODEC(ZSTD(1));

ALTER TABLE `apitap`.`findings` ADD COLUMN IF NOT EXISTS `masked_sample` String CODEC(ZSTD(1));

ALTER TABLE `apitap`.`findings` ADD COLUMN IF NOT EXISTS `fingerprint` String CODEC(ZSTD(1));

ALTER TABLE `apitap`.`endpoints` ADD COLUMN IF NOT EXISTS `pii_types` Array(LowCardinality(String));

ALTER TABLE `apitap`.`exchanges` ADD COLUMN IF NOT EXISTS `grpc_status` Int16 DEFAULT -1 CODEC(ZSTD(1));

ALTER TABLE `apitap`.`exchanges` ADD COLUMN IF NOT EXISTS `effective_status` UInt16 DEFAULT status CODEC(ZSTD(1));
