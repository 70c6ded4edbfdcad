#!/usr/bin/env bash
# A single-node Apache Kafka 4.x broker (KRaft, broker and controller in one JVM) from Maven
# Central jars, for the tests and for users trying the Kafka bus.
#   scripts/engines/kafka.sh start|stop|status
# Listens on 127.0.0.1:9092 (controller 127.0.0.1:9093). State, jars and kafka.log live in
# ${OBS_ENGINES_DIR:-<repo>/.engines}/kafka/. Jars come from ~/.m2 via scripts/engines/kafka/pom.xml.
# A second, private broker (the restart test runs one) takes KAFKA_PORT, KAFKA_CONTROLLER_PORT,
# its own OBS_ENGINES_DIR, and KAFKA_LIB_DIR to reuse the jars already copied.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$HERE/lib.sh"
ROOT=$(cd "$HERE/../.." && pwd)
POM="$HERE/kafka/pom.xml"
K="${OBS_ENGINES_DIR:-$ROOT/.engines}/kafka"
LIB="${KAFKA_LIB_DIR:-$K/lib}"
PID_FILE="$K/kafka.pid"
LOG="$K/kafka.log"
HOST=127.0.0.1
PORT=${KAFKA_PORT:-9092}
CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-9093}
START_TIMEOUT=${KAFKA_START_TIMEOUT:-90}
JAVA_OPTS=(-Xms256m -Xmx512m -XX:+UseG1GC -Djava.awt.headless=true
  "-Dlog4j2.configurationFile=$K/log4j2.properties")

say() { echo "kafka: $*" >&2; }

answers() {
  # The port accepting connections is not enough while the broker still starts: the log line is.
  (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null || return 1
  [[ -f "$LOG" ]] && grep -q 'Kafka Server started' "$LOG"
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
  say "copying the broker jars into $LIB (Maven caches them in ~/.m2)"
  rm -rf "$LIB"
  mkdir -p "$LIB"
  mvn -q -B -Dstyle.color=never -f "$POM" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$LIB"
  echo "$sum" >"$stamp"
}

write_config() {
  cp "$HERE/kafka/log4j2.properties" "$K/log4j2.properties"
  cat >"$K/server.properties" <<CONF
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=$HOST:$CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$PORT,CONTROLLER://$HOST:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$PORT,CONTROLLER://$HOST:$CONTROLLER_PORT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$K/data
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.hours=24
log.segment.bytes=67108864
CONF
}

format_storage() {
  [[ -f "$K/data/meta.properties" ]] && return 0
  say "formatting storage in $K/data"
  local id
  id=$(java "${JAVA_OPTS[@]}" -cp "$LIB/*" kafka.tools.StorageTool random-uuid 2>>"$LOG")
  java "${JAVA_OPTS[@]}" -cp "$LIB/*" kafka.tools.StorageTool format --standalone -t "$id" \
    -c "$K/server.properties" >>"$LOG" 2>&1
}

start() {
  if answers; then
    say "already running on $HOST:$PORT"
    return 0
  fi
  if live_pid >/dev/null; then
    say "a broker process is starting; waiting for it"
  else
    for p in "$PORT" "$CONTROLLER_PORT"; do
      if port_open "$p"; then
        say "port $HOST:$p is taken by another process; stop it first"
        return 1
      fi
    done
    mkdir -p "$K"
    ensure_jars
    write_config
    : >"$LOG"
    format_storage
    # setsid: the broker outlives this script and its terminal; the pid file is how stop finds it.
    setsid java "${JAVA_OPTS[@]}" -cp "$LIB/*" kafka.Kafka "$K/server.properties" \
      </dev/null >>"$LOG" 2>&1 &
    echo $! >"$PID_FILE"
  fi
  local waited=0
  until answers; do
    if ! live_pid >/dev/null; then
      say "the broker exited while starting; last lines of $LOG:"
      tail -n 40 "$LOG" >&2
      return 1
    fi
    if ((waited >= START_TIMEOUT * 2)); then
      say "no answer on $HOST:$PORT after ${START_TIMEOUT}s; last lines of $LOG:"
      tail -n 40 "$LOG" >&2
      return 1
    fi
    sleep 0.5
    waited=$((waited + 1))
  done
  echo "kafka: listening on $HOST:$PORT (controller $HOST:$CONTROLLER_PORT), pid $(cat "$PID_FILE"), log $LOG"
}

stop() {
  local pid=""
  pid=$(live_pid) || pid=""
  # SIGTERM runs the broker's shutdown hook: a clean shutdown skips log recovery next start.
  stop_engine "$pid" "$PORT" "$CONTROLLER_PORT"
  rm -f "$PID_FILE"
  say "stopped"
}

status() {
  if answers; then
    echo "kafka: running on $HOST:$PORT, pid $(cat "$PID_FILE" 2>/dev/null || echo '?')"
    return 0
  fi
  echo "kafka: not running"
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
