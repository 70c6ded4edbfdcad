# Shared by the engine scripts (sourced, not run): stopping an engine by its pid, then whatever
# still listens on its ports. The sourcing script defines `say`.

# wait_gone PID TRIES: waits up to TRIES half-seconds for PID to exit; true once it is gone.
wait_gone() {
  local pid=$1 tries=$2
  while kill -0 "$pid" 2>/dev/null && ((tries > 0)); do
    sleep 0.5
    tries=$((tries - 1))
  done
  ! kill -0 "$pid" 2>/dev/null
}

# stop_gently PID: SIGTERM (the engine's shutdown hook flushes its data), SIGKILL after 30 s.
stop_gently() {
  local pid=$1
  kill "$pid" 2>/dev/null || true
  if ! wait_gone "$pid" 60; then
    say "pid $pid did not stop in 30s; killing it"
    kill -9 "$pid" 2>/dev/null || true
    wait_gone "$pid" 20 || true
  fi
}

# pids_listening PORT...: pids of the processes listening on these loopback ports.
pids_listening() {
  local p
  for p in "$@"; do
    ss -Hltnp "sport = :$p" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 || true
  done | sort -u
}

# stop_engine PID PORT...: stops PID (may be empty), then an engine whose pid file was lost,
# found by its listening ports.
stop_engine() {
  local pid=$1
  shift
  [[ -n "$pid" ]] && stop_gently "$pid"
  for pid in $(pids_listening "$@"); do
    say "stopping pid $pid still listening on one of ports $*"
    stop_gently "$pid"
  done
}
