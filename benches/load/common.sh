# Sourced by run.sh (HTTP) and grpc.sh (gRPC), from benches/load: the settings
# both read from the environment, where things live, and the JWKS endpoint.
# shellcheck shell=bash

PORT=${PORT:-18080}
JWKS_PORT=${JWKS_PORT:-18081}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-3s}
RUNS=${RUNS:-3}
# More than a verifying server answers in one run (about 18 000 req/s for
# 10 s), so that no fresh-token run sends a token twice: rampgate's cache
# admits a token on its second verification, which would turn a wrapped
# list into cache hits the peers, without a cache, do not get.
FRESH=${FRESH:-200000}
SERVER_CPU=${SERVER_CPU:-0}
WRK_CPU=${WRK_CPU:-1}
BIN=target/release
OUT=out
RES=$OUT/results
JWKS_URL="http://127.0.0.1:$JWKS_PORT/jwks"
CLK_TCK=$(getconf CLK_TCK)

# cpu_ticks PID -> user + system CPU time of the process so far, in clock ticks
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# cpu_split PID -> "USER SYSTEM": the two parts of the same, in clock ticks
cpu_split() { awk '{print $14, $15}' "/proc/$1/stat"; }

# start_jwks LOG: serves $OUT/jwks.json at $JWKS_URL (pinned beside the load
# tool, on WRK_CPU), sets JWKS_PID, and returns once it answers.
start_jwks() {
  taskset -c "$WRK_CPU" "$BIN/jwks" "$JWKS_PORT" "$OUT/jwks.json" 2>"$1" &
  JWKS_PID=$!
  for _ in $(seq 50); do curl -sf -o /dev/null "$JWKS_URL" && break; sleep 0.1; done
  curl -sf -o /dev/null "$JWKS_URL" || { echo "the JWKS endpoint did not start" >&2; exit 1; }
}

# launch_server NAME EXAMPLE EXAMPLE_BIN PORT LOG: starts NAME alone on
# SERVER_CPU, listening on 127.0.0.1:PORT and trusting JWKS_URL. NAME is
# either EXAMPLE (the main workspace's example at EXAMPLE_BIN, configured by
# its RAMPGATE_* settings; its stdout to LOG's .out twin) or a server of this
# bench. Its stderr is appended to LOG (a server is started once per round;
# the scripts empty their results first). Sets SERVER_PID.
launch_server() {
  local name=$1 example=$2 example_bin=$3 port=$4 log=$5
  if [ "$name" = "$example" ]; then
    RAMPGATE_ADDR="127.0.0.1:$port" RAMPGATE_ISSUER=https://issuer.load.test \
      RAMPGATE_AUDIENCE=load-api RAMPGATE_JWKS_URL="$JWKS_URL" \
      taskset -c "$SERVER_CPU" "$example_bin" >>"${log%.log}.out" 2>>"$log" &
  else
    taskset -c "$SERVER_CPU" "$BIN/$name" "$port" "$JWKS_URL" 2>>"$log" &
  fi
  SERVER_PID=$!
}

# await_server NAME LOG TRIES CHECK...: returns once CHECK succeeds (tried
# every 0.1 s, TRIES times); exits the script, pointing at LOG, when the
# server died or never answered.
await_server() {
  local name=$1 log=$2 tries=$3
  shift 3
  for _ in $(seq "$tries"); do
    "$@" >/dev/null 2>&1 && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "$name did not start; see $log" >&2
  exit 1
}

# The server under load (SERVER_PID) and the JWKS endpoint (JWKS_PID), if
# started here; stop_all is the scripts' EXIT trap.
SERVER_PID=
JWKS_PID=
stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
  fi
}
stop_all() {
  stop_server
  if [ -n "$JWKS_PID" ]; then kill "$JWKS_PID" 2>/dev/null || true; fi
}

# machine CRATE... -> the machine.txt lines both scripts begin with: date,
# cpu, kernel, rustc, the versions of CRATEs in either lockfile, the load.
machine() {
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "nproc: $(nproc)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "kernel: $(uname -r)"
  echo "rustc: $(rustc -V)"
  local crate
  for crate in "$@"; do
    echo "$crate: $(grep -A1 "^name = \"$crate\"\$" Cargo.lock ../../Cargo.lock | sed -n 's/.*version = "\(.*\)"/\1/p' | sort -u | tr '\n' ' ')"
  done
  echo "loadavg at start: $(cat /proc/loadavg)"
}
