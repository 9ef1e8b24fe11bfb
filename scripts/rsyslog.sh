#!/usr/bin/env bash
# A private rsyslogd for the syslog sender's integration tests
# (analyzer/alert/syslog; internal/testutil/rsyslog.go runs it), or to look
# at apitap's syslog output by hand. Debian's rsyslogd (package rsyslog;
# TLS needs rsyslog-gnutls), without systemd, with everything inside DIR:
#
#   DIR/rsyslog.conf   the config this script writes
#   DIR/rsyslogd.pid   its pid file (-i)
#   DIR/work/          its work directory
#   DIR/rsyslogd.log   rsyslogd's own messages (start, errors)
#   DIR/rsyslogd.out   its stdout and stderr (start only; run leaves them)
#   DIR/udp.log, tcp.log, tls.log, mtls.log
#                      every message received on that input, exactly as
#                      received (%rawmsg%), one per line
#
# It never touches /etc/rsyslog.conf, /dev/log or the kernel log: only the
# imudp and imtcp inputs are loaded (no imuxsock, no imklog), and rsyslogd
# processes its own messages itself (processInternalMessages) instead of
# sending them to the system's log socket.
#
# Inputs, all on 127.0.0.1, ports from the environment:
#   RSYSLOG_UDP_PORT  (default 20514)  UDP
#   RSYSLOG_TCP_PORT  (default 20601)  TCP, octet-counted or LF-delimited
#   RSYSLOG_TLS_PORT  (default 26514)  TLS (RFC 5425), any client
#   RSYSLOG_MTLS_PORT (default 26515)  TLS, client certificate signed by the CA required
# The TLS inputs are configured only when DIR/ca.pem, DIR/server.pem and
# DIR/server-key.pem exist (the Go helper writes them: a test CA and a
# certificate for localhost and 127.0.0.1). A port set to 0 leaves its
# input out.
#
# Usage:
#   scripts/rsyslog.sh start DIR   start in the background, wait until every
#                                  input is bound, print the ports
#   scripts/rsyslog.sh stop DIR    stop the rsyslogd of DIR/rsyslogd.pid
#   scripts/rsyslog.sh run DIR     check the config, then exec rsyslogd in
#                                  the foreground (the Go helper uses this:
#                                  it owns the process and its pid)
#   scripts/rsyslog.sh config DIR  only write DIR/rsyslog.conf
set -euo pipefail

cmd=${1:-}
dir=${2:-}
if [ -z "$cmd" ] || [ -z "$dir" ]; then
  echo "usage: $0 start|stop|run|config DIR" >&2
  exit 2
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
conf=$dir/rsyslog.conf
pidfile=$dir/rsyslogd.pid
udp=${RSYSLOG_UDP_PORT:-20514}
tcp=${RSYSLOG_TCP_PORT:-20601}
tls=${RSYSLOG_TLS_PORT:-26514}
mtls=${RSYSLOG_MTLS_PORT:-26515}
have_tls=0
if [ -f "$dir/ca.pem" ] && [ -f "$dir/server.pem" ] && [ -f "$dir/server-key.pem" ]; then
  have_tls=1
fi

need_rsyslogd() {
  if ! command -v rsyslogd >/dev/null 2>&1 && [ ! -x /usr/sbin/rsyslogd ]; then
    echo "rsyslog: rsyslogd is not installed (apt-get install rsyslog rsyslog-gnutls)" >&2
    exit 1
  fi
  PATH=$PATH:/usr/sbin
  if [ "$have_tls" = 1 ]; then
    local f found=0
    for f in /usr/lib/*/rsyslog/lmnsd_gtls.so /usr/lib/rsyslog/lmnsd_gtls.so; do
      [ -e "$f" ] && found=1
    done
    if [ "$found" = 0 ]; then
      echo "rsyslog: the TLS driver is not installed (apt-get install rsyslog-gnutls)" >&2
      exit 1
    fi
  fi
}

write_config() {
  mkdir -p "$dir/work"
  {
    echo "# Written by scripts/rsyslog.sh: a private rsyslogd for apitap's tests."
    echo "# maxMessageSize comes first: it must be set before any input is loaded."
    echo "global("
    echo "  maxMessageSize=\"65536\""
    echo "  workDirectory=\"$dir/work\""
    echo "  processInternalMessages=\"on\""
    echo "  parser.escapeControlCharactersOnReceive=\"off\""
    echo "  net.enableDNS=\"off\""
    if [ "$have_tls" = 1 ]; then
      echo "  defaultNetstreamDriverCAFile=\"$dir/ca.pem\""
      echo "  defaultNetstreamDriverCertFile=\"$dir/server.pem\""
      echo "  defaultNetstreamDriverKeyFile=\"$dir/server-key.pem\""
    fi
    echo ")"
    echo "# One worker: messages are written in the order they were received."
    echo "main_queue(queue.workerThreads=\"1\")"
    echo "template(name=\"raw\" type=\"string\" string=\"%rawmsg%\\n\")"
    echo "# rsyslogd's own messages are the only ones in the default ruleset."
    echo "*.* action(type=\"omfile\" file=\"$dir/rsyslogd.log\")"
    input() { # NAME TYPE PORT [EXTRA]
      echo "ruleset(name=\"$1\") { action(type=\"omfile\" file=\"$dir/$1.log\" template=\"raw\") }"
      echo "input(type=\"$2\" address=\"127.0.0.1\" port=\"$3\" ruleset=\"$1\"${4:+ $4})"
    }
    if [ "$udp" != 0 ]; then
      echo 'module(load="imudp")'
      input udp imudp "$udp"
    fi
    if [ "$tcp" != 0 ] || { [ "$have_tls" = 1 ] && { [ "$tls" != 0 ] || [ "$mtls" != 0 ]; }; }; then
      echo 'module(load="imtcp")'
    fi
    [ "$tcp" = 0 ] || input tcp imtcp "$tcp"
    if [ "$have_tls" = 1 ]; then
      [ "$tls" = 0 ] || input tls imtcp "$tls" 'streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon"'
      [ "$mtls" = 0 ] || input mtls imtcp "$mtls" 'streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="x509/certvalid"'
    fi
  } >"$conf.tmp"
  mv "$conf.tmp" "$conf"
}

# running: the pid of DIR's rsyslogd, if it is alive and is rsyslogd with
# this config (not a recycled pid).
running() {
  [ -f "$pidfile" ] || return 1
  local pid
  pid=$(cat "$pidfile" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "rsyslogd.*$conf" || return 1
  echo "$pid"
}

# bound PID: every configured input's socket is bound by PID.
bound() {
  local pid=$1 inodes
  inodes=$(ls -l "/proc/$pid/fd" 2>/dev/null | grep -o 'socket:\[[0-9]*\]' | tr -dc '0-9\n' | sort -u) || return 1
  check() { # FILE STATE PORT
    local hex
    hex=$(printf '0100007F:%04X' "$3")
    awk -v a="$hex" -v st="$2" '$2 == a && $4 == st { print $10 }' "$1" | grep -qxF -f <(echo "$inodes")
  }
  { [ "$udp" = 0 ] || check /proc/net/udp 07 "$udp"; } &&
    { [ "$tcp" = 0 ] || check /proc/net/tcp 0A "$tcp"; } &&
    { [ "$have_tls" = 0 ] || [ "$tls" = 0 ] || check /proc/net/tcp 0A "$tls"; } &&
    { [ "$have_tls" = 0 ] || [ "$mtls" = 0 ] || check /proc/net/tcp 0A "$mtls"; }
}

# alive PID: the process exists and is not a zombie.
alive() {
  [ -r "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]
}

show_logs() {
  for f in "$dir/rsyslogd.out" "$dir/rsyslogd.log"; do
    if [ -s "$f" ]; then
      echo "--- $f" >&2
      tail -n 50 "$f" >&2
    fi
  done
}

case "$cmd" in
config)
  write_config
  echo "rsyslog: wrote $conf"
  ;;
run)
  need_rsyslogd
  write_config
  if ! out=$(rsyslogd -N1 -f "$conf" 2>&1); then
    echo "rsyslog: config check failed:" >&2
    echo "$out" >&2
    exit 1
  fi
  exec rsyslogd -n -f "$conf" -i "$pidfile"
  ;;
start)
  need_rsyslogd
  if pid=$(running); then
    echo "rsyslog: already running in $dir (pid $pid)"
    exit 0
  fi
  write_config
  if ! out=$(rsyslogd -N1 -f "$conf" 2>&1); then
    echo "rsyslog: config check failed:" >&2
    echo "$out" >&2
    exit 1
  fi
  rm -f "$pidfile"
  rsyslogd -n -f "$conf" -i "$pidfile" </dev/null >"$dir/rsyslogd.out" 2>&1 &
  pid=$!
  disown "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    if ! alive "$pid"; then
      echo "rsyslog: rsyslogd exited at start:" >&2
      show_logs
      exit 1
    fi
    if grep -qE 'Could not create|Error while binding|error during config' "$dir/rsyslogd.out" "$dir/rsyslogd.log" 2>/dev/null; then
      echo "rsyslog: rsyslogd could not open every input (a port in use?):" >&2
      show_logs
      kill "$pid" 2>/dev/null || true
      exit 1
    fi
    if bound "$pid"; then
      inputs=""
      [ "$udp" = 0 ] || inputs="$inputs udp 127.0.0.1:$udp"
      [ "$tcp" = 0 ] || inputs="$inputs tcp 127.0.0.1:$tcp"
      if [ "$have_tls" = 1 ]; then
        [ "$tls" = 0 ] || inputs="$inputs tls 127.0.0.1:$tls"
        [ "$mtls" = 0 ] || inputs="$inputs mtls 127.0.0.1:$mtls"
      else
        inputs="$inputs (no TLS: no $dir/ca.pem, server.pem, server-key.pem)"
      fi
      echo "rsyslog: pid $pid, logs in $dir:$inputs"
      exit 0
    fi
    sleep 0.1
  done
  echo "rsyslog: inputs not bound after 10 s:" >&2
  show_logs
  kill "$pid" 2>/dev/null || true
  exit 1
  ;;
stop)
  if ! pid=$(running); then
    echo "rsyslog: not running in $dir"
    rm -f "$pidfile"
    exit 0
  fi
  kill "$pid"
  for _ in $(seq 1 50); do
    alive "$pid" || { rm -f "$pidfile"; echo "rsyslog: stopped (pid $pid)"; exit 0; }
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$pidfile"
  echo "rsyslog: killed (pid $pid)"
  ;;
*)
  echo "usage: $0 start|stop|run|config DIR" >&2
  exit 2
  ;;
esac
