#!/usr/bin/env bash
# A single OpenSearch 2.19 node embedded in one JVM, from Maven Central jars, for the tests and
# for users trying the OpenSearch/Elasticsearch SpanStore and LogStore.
#   scripts/engines/opensearch.sh start|stop|status|reset
# Plain HTTP on 127.0.0.1:9200 (transport 127.0.0.1:9300), single-node discovery, no security.
# Jars, the node's home (data kept across stop/start; `reset` wipes it) and opensearch.log live in
# ${OBS_ENGINES_DIR:-<repo>/.engines}/opensearch/. Jars come from ~/.m2 via
# scripts/engines/opensearch/pom.xml; the launcher is the single source file
# scripts/engines/opensearch/EmbeddedOpenSearch.java (Java 17 compiles it in memory at start).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$HERE/lib.sh"
ROOT=$(cd "$HERE/../.." && pwd)
POM="$HERE/opensearch/pom.xml"
LAUNCHER="$HERE/opensearch/EmbeddedOpenSearch.java"
O="${OBS_ENGINES_DIR:-$ROOT/.engines}/opensearch"
LIB="$O/lib"
NODE_HOME="$O/home"
PID_FILE="$O/opensearch.pid"
LOG="$O/opensearch.log"
HOST=127.0.0.1
PORT=9200
TRANSPORT_PORT=9300
START_TIMEOUT=${OPENSEARCH_START_TIMEOUT:-180}
# The -D flags are the ones the distribution's launcher passes; the heap fits a 2-core CI box.
JAVA_OPTS=(-Xms512m -Xmx1g -XX:+UseG1GC -Djava.awt.headless=true
  -Dio.netty.noUnsafe=true -Dio.netty.noKeySetOptimization=true
  -Dlog4j2.disable.jmx=true -Djava.locale.providers=SPI,COMPAT -Dfile.encoding=UTF-8)

say() { echo "opensearch: $*" >&2; }

answers() {
  curl -fsS --max-time 3 "http://$HOST:$PORT/_cluster/health" >/dev/null 2>&1
}

yellow() {
  curl -fsS --max-time 10 "http://$HOST:$PORT/_cluster/health?wait_for_status=yellow&timeout=5s" 2>/dev/null |
    grep -qE '"status":"(green|yellow)"'
}

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

live_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid=$(cat "$PID_FILE")
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

ensure_jars() {
  local stamp="$LIB/.pom.sha256" sum
  sum=$(sha256sum "$POM" | cut -d' ' -f1)
  if [[ -d "$LIB" && -f "$stamp" && "$(cat "$stamp")" == "$sum" ]]; then return 0; fi
  say "copying the node jars into $LIB (Maven caches them in ~/.m2)"
  rm -rf "$LIB"
  mkdir -p "$LIB"
  mvn -q -B -f "$POM" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$LIB"
  echo "$sum" >"$stamp"
}

start() {
  if answers && yellow; then
    say "already running on http://$HOST:$PORT"
    return 0
  fi
  if live_pid >/dev/null; then
    say "a node process is starting; waiting for it"
  else
    for p in "$PORT" "$TRANSPORT_PORT"; do
      if port_open "$p"; then
        say "port $HOST:$p is taken by another process; stop it first"
        return 1
      fi
    done
    mkdir -p "$O"
    ensure_jars
    : >"$LOG"
    # setsid: the node outlives this script and its terminal; the pid file is how stop finds it.
    setsid java "${JAVA_OPTS[@]}" -cp "$LIB/*" "$LAUNCHER" "$NODE_HOME" "$PORT" "$TRANSPORT_PORT" \
      </dev/null >>"$LOG" 2>&1 &
    echo $! >"$PID_FILE"
  fi
  local started=$SECONDS
  until answers && yellow; do
    if ! live_pid >/dev/null; then
      say "the node exited while starting; last lines of $LOG:"
      tail -n 40 "$LOG" >&2
      return 1
    fi
    if ((SECONDS - started >= START_TIMEOUT)); then
      say "not yellow on http://$HOST:$PORT after ${START_TIMEOUT}s; last lines of $LOG:"
      tail -n 40 "$LOG" >&2
      return 1
    fi
    sleep 1
  done
  echo "opensearch: listening on http://$HOST:$PORT (transport $HOST:$TRANSPORT_PORT)," \
    "pid $(cat "$PID_FILE" 2>/dev/null || echo '?'), ready in $((SECONDS - started))s, log $LOG"
}

stop() {
  local pid=""
  pid=$(live_pid) || pid=""
  # SIGTERM runs the launcher's shutdown hook, which closes the node and flushes its shards.
  stop_engine "$pid" "$PORT" "$TRANSPORT_PORT"
  rm -f "$PID_FILE"
  say "stopped"
}

reset() {
  stop
  rm -rf "$NODE_HOME"
  say "wiped $NODE_HOME; the next start begins with no indices"
}

status() {
  if answers; then
    echo "opensearch: running on http://$HOST:$PORT, pid $(cat "$PID_FILE" 2>/dev/null || echo '?')"
    return 0
  fi
  echo "opensearch: not running"
  return 1
}

case "${1:-}" in
start) start ;;
stop) stop ;;
status) status ;;
reset) reset ;;
*)
  echo "usage: $0 start|stop|status|reset" >&2
  exit 2
  ;;
esac
