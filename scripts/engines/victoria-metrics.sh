#!/usr/bin/env bash
# Starts, stops and checks a single VictoriaMetrics node (Debian package `victoria-metrics`) for the
# OpenTSDB MetricStore adapter's tests: HTTP 127.0.0.1:8428, OpenTSDB telnet 127.0.0.1:4343 and
# OpenTSDB HTTP 127.0.0.1:4344. State under ${OBS_ENGINES_DIR:-<repo>/.engines}/victoria-metrics/.
#
#   scripts/engines/victoria-metrics.sh start|stop|status
#
# Test-friendly flags, and why:
#   -search.latencyOffset=0s          points are visible to queries as soon as they are flushed
#                                     (default 30 s hides the freshest points);
#   -search.disableCache              a query after a write never answers from a stale cache;
#   -opentsdbTrimTimestamp=1ms        telnet `put` keeps milliseconds (default trims to 1 s);
#   -opentsdbhttpTrimTimestamp=1ms    the same for HTTP /api/put (already the default);
#   -dedup.minScrapeInterval=1ms      a point written twice (replay after a crash) is kept once
#                                     (rewritten with another value: one of them is kept; in 1.79
#                                     the last written, though VM's docs promise no order).
# Found with 1.79.5: telnet `put` reads timestamps in seconds only (13-digit ms timestamps are
# refused as "too big", `seconds.mmm` is floored to the second) and VM answers nothing on the
# connection, not even errors (they go to its log); HTTP /api/put answers 204 to anything that is
# valid JSON and drops bad points silently (logged), so it never reports per-point errors.
# Tests still call /internal/force_flush after writing, so data in VM's in-memory buffers is
# searchable at once.
set -euo pipefail

ENGINE=victoria-metrics
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STATE="${OBS_ENGINES_DIR:-$ROOT/.engines}/$ENGINE"
PIDFILE="$STATE/$ENGINE.pid"
LOG="$STATE/$ENGINE.log"
HTTP=127.0.0.1:8428
TELNET=127.0.0.1:4343
OTSDB_HTTP=127.0.0.1:4344
RETENTION="${OBS_VM_RETENTION:-100y}"
START_TIMEOUT_S=60

find_binary() {
  if [[ -x /usr/bin/victoria-metrics ]]; then echo /usr/bin/victoria-metrics; return; fi
  local bin
  bin="$(dpkg -L victoria-metrics 2>/dev/null | grep -E '/bin/victoria-metrics$' | head -1 || true)"
  if [[ -z "$bin" ]]; then
    echo "victoria-metrics is not installed: apt-get install -y victoria-metrics" >&2
    exit 1
  fi
  echo "$bin"
}

answers() {
  curl -fsS -m 2 "http://$HTTP/health" >/dev/null 2>&1
}

pid_alive() {
  [[ -f "$PIDFILE" ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null
}

start() {
  if answers; then
    echo "$ENGINE already answers at http://$HTTP (telnet $TELNET, OpenTSDB HTTP $OTSDB_HTTP)"
    return 0
  fi
  local bin
  bin="$(find_binary)"
  mkdir -p "$STATE/data"
  # setsid: the engine outlives the shell that started it and has its own process group.
  setsid "$bin" \
    -httpListenAddr="$HTTP" \
    -opentsdbListenAddr="$TELNET" \
    -opentsdbHTTPListenAddr="$OTSDB_HTTP" \
    -storageDataPath="$STATE/data" \
    -retentionPeriod="$RETENTION" \
    -search.latencyOffset=0s \
    -search.disableCache \
    -opentsdbTrimTimestamp=1ms \
    -opentsdbhttpTrimTimestamp=1ms \
    -dedup.minScrapeInterval=1ms \
    -loggerLevel=WARN \
    >"$LOG" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  local waited=0
  until answers; do
    if ! pid_alive; then
      echo "$ENGINE exited during start; last lines of $LOG:" >&2
      tail -n 30 "$LOG" >&2 || true
      rm -f "$PIDFILE"
      exit 1
    fi
    if ((waited >= START_TIMEOUT_S * 10)); then
      echo "$ENGINE did not answer within ${START_TIMEOUT_S}s; last lines of $LOG:" >&2
      tail -n 30 "$LOG" >&2 || true
      stop >/dev/null
      exit 1
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  echo "$ENGINE listening: HTTP http://$HTTP, OpenTSDB telnet $TELNET, OpenTSDB HTTP http://$OTSDB_HTTP (data $STATE/data, log $LOG)"
}

pids_on_ports() {
  local port
  for port in 8428 4343 4344; do
    ss -Hltnp "sport = :$port" 2>/dev/null | grep -oE 'pid=[0-9]+' | cut -d= -f2 || true
  done | sort -u
}

stop() {
  if pid_alive; then
    local pid
    pid="$(cat "$PIDFILE")"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 150); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$PIDFILE"
  # A node started by hand or by an older checkout: stop whatever victoria-metrics holds our ports.
  local p
  for p in $(pids_on_ports); do
    if [[ "$(cat "/proc/$p/comm" 2>/dev/null || true)" == victoria-metric* ]]; then
      kill -TERM "$p" 2>/dev/null || true
      for _ in $(seq 1 150); do
        kill -0 "$p" 2>/dev/null || break
        sleep 0.1
      done
      kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null || true
    fi
  done
  echo "$ENGINE stopped"
}

status() {
  if answers; then
    echo "$ENGINE answers at http://$HTTP"
    return 0
  fi
  echo "$ENGINE does not answer at http://$HTTP" >&2
  return 1
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
