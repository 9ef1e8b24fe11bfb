CREATE TABLE IF NOT EXISTS `apitap`.`exchanges`
(
    time            DateTime('UTC'),
    sensor_id       String,
    sequence        UInt64,
    client_ip       String,
    client_port     UInt16,
    server_ip       String,
    server_port     UInt16,
    vlan            UInt16,
    vni             UInt32,
    principal       String,
    principal_type  String,
    host            String,
    method          String,
    endpoint        String,
    query_keys      Array(String),
    status          UInt16,
    request_bytes   UInt64,
    response_bytes  UInt64,
    request_type    String,
    response_type   String,
    latency_us      UInt32,
    flags           Array(String),
    ingested_at     DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMMDD(time)
ORDER BY (host, time, sensor_id, sequence)
SETTINGS index_granularity = 8192;

CREATE TABLE IF NOT EXISTS `apitap`.`endpoints`
(
    host            String,
    method          String,
    endpoint        String,
    operation       String,
    port            UInt16,
    state           String,
    spec            String,
    first_seen      DateTime('UTC'),
    last_seen       DateTime('UTC'),
    requests        UInt64,
    client_errors   UInt64,
    server_errors   UInt64,
    clients         UInt64,
    status_codes    Array(UInt16),
    status_counts   Array(UInt64),
    auth            Array(String),
    params          String,
    state_blob      String,
    version         UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (host, method, endpoint, operation, port)
SETTINGS index_granularity = 8192;

CREATE TABLE IF NOT EXISTS `apitap`.`findings`
(
    id              String,
    time            DateTime('UTC'),
    kind            String,
    type            String,
    severity        String,
    confidence      String,
    host            String,
    method          String,
    endpoint        String,
    client_ip       String,
    principal       String,
    location        String,
    count           UInt64,
    first_seen      DateTime('UTC'),
    last_seen       DateTime('UTC'),
    summary         String,
    evidence        String,
    version         UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(time)
ORDER BY (kind, type, host, id)
SETTINGS index_granularity = 8192;

CREATE TABLE IF NOT EXISTS `apitap`.`loss`
(
    sensor_id       String,
    sequence        UInt64,
    stage           String,
    reason          String,
    unit            String,
    count           UInt64,
    window_start    DateTime('UTC'),
    window_end      DateTime('UTC'),
    ingested_at     DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(window_end)
ORDER BY (sensor_id, window_end, sequence)
SETTINGS index_granularity = 8192;

ALTER TABLE `apitap`.`findings` ADD COLUMN `field` String;

ALTER TABLE `apitap`.`findings` ADD COLUMN `masked_sample` String;

ALTER TABLE `apitap`.`findings` ADD COLUMN `fingerprint` String;

ALTER TABLE `apitap`.`endpoints` ADD COLUMN `pii_types` Array(String);

ALTER TABLE `apitap`.`exchanges` ADD COLUMN `grpc_status` Int16 DEFAULT -1;

ALTER TABLE `apitap`.`exchanges` ADD COLUMN `effective_status` UInt16 DEFAULT status;
