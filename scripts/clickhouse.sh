#!/usr/bin/env bash
# Starts (or stops) the local ClickHouse server the integration tests use:
# Debian's clickhouse-server (18.16 on bookworm), on loopback, native port
# 9000, as the clickhouse user, without systemd. Idempotent: "start" does
# nothing when a server already answers. Tests find it through
# $APITAP_CLICKHOUSE (default clickhouse://127.0.0.1:9000).
set -euo pipefail
cmd=${1:-start}
pidfile=/var/run/clickhouse-server/clickhouse-server.pid
up() { clickhouse-client --host 127.0.0.1 --port 9000 -q 'SELECT 1' >/dev/null 2>&1; }
case "$cmd" in
start)
  if up; then echo "clickhouse: already running"; exit 0; fi
  if ! command -v clickhouse-server >/dev/null; then
    echo "clickhouse: clickhouse-server is not installed (make deps installs it)" >&2; exit 1
  fi
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO mkdir -p /var/run/clickhouse-server /var/log/clickhouse-server /var/lib/clickhouse
  $SUDO chown clickhouse:clickhouse /var/run/clickhouse-server /var/log/clickhouse-server /var/lib/clickhouse
  # cd / : the server's cwd must be readable by the clickhouse user.
  (cd / && $SUDO su -s /bin/sh clickhouse -c \
    "clickhouse-server --config-file=/etc/clickhouse-server/config.xml --pid-file=$pidfile --daemon")
  for _ in $(seq 1 60); do
    if up; then echo "clickhouse: $(clickhouse-client -q 'SELECT version()') on 127.0.0.1:9000"; exit 0; fi
    sleep 0.5
  done
  echo "clickhouse: did not start; see /var/log/clickhouse-server/" >&2
  exit 1
  ;;
stop)
  if [ -f "$pidfile" ]; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO kill "$(cat "$pidfile")" 2>/dev/null || true
    echo "clickhouse: stopped"
  fi
  ;;
*) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
