#!/usr/bin/env bash
# HTTP load comparison on loopback, side by side in one run, with the same ES256
# tokens and the same JWKS for every server (see docs/benchmarks.md, "Load runs"):
#
#   bare           axum 0.8, no authentication (the ceiling)
#   quickstart     rampgate's quickstart example (audit trail, metrics,
#                  JwtLayer, its ramp contract), trusting an external issuer
#                  through RAMPGATE_ISSUER / RAMPGATE_AUDIENCE / RAMPGATE_JWKS_URL
#   layers         rampgate's JwtLayer and the quickstart's contract alone,
#                  without the audit trail and metrics
#   jwt_authorizer axum 0.7 + jwt-authorizer 0.15
#   axum_jwt_auth  axum 0.8 + axum-jwt-auth 0.7
#
# all serving `GET /me` (the same JSON body), each verifier taking its keys from
# the same JWKS endpoint (`jwks`, serving the issuer's public keys).
#
#   benches/load/run.sh            # from anywhere, on a fresh machine
#
# Needs: cargo, curl, taskset, awk and wrk; wrk is installed with apt-get when
# it is missing and this runs as root. 2 cores: each server runs alone pinned to
# core 0, wrk (and the JWKS endpoint) on core 1.
# Cases, per server, after a warm-up: `reused` (one valid token on every request,
# RUNS runs), `fresh` (a different valid token on every request, from
# FRESH distinct tokens, RUNS runs); verifying servers also get one `badsig` run
# (a validly formed token with a forged signature) and one `garbage` run, where
# every answer must be a 401. In the valid runs every answer must be a 2xx.
# Results: out/results/ (raw wrk output, raw.tsv, machine.txt, summary.md).
# Traffic goes to 127.0.0.1 only, and every run is bounded by its duration.
#
# gRPC: then, unless GRPC=0, grpc.sh (also runnable alone; its header says
# more) runs the gRPC servers the same way, on the same tokens' key and JWKS,
# with its own load client (grpcload, raw HTTP/2, checking every grpc-status):
#   grpc_example      rampgate's gRPC example (examples/grpc), tonic 0.14
#   grpc_bare         the same greeter and health, no authentication
#   grpc_interceptor  a tonic Interceptor verifying with jsonwebtoken per call
# on Health/Check, SayHello (reused and fresh tokens) and SayHelloStream, and
# appends its table, ratios and targets to summary.md.
set -euo pipefail
cd "$(dirname "$0")"

# PORT, JWKS_PORT, DURATION, WARMUP, RUNS, FRESH, SERVER_CPU, WRK_CPU, the
# paths, cpu_ticks and start_jwks: shared with grpc.sh.
. ./common.sh
CONNS=${CONNS:-16}
read -r -a SERVERS <<< "${SERVERS:-bare quickstart layers jwt_authorizer axum_jwt_auth}"

if ! command -v wrk >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi
for tool in cargo wrk taskset curl awk; do
  command -v "$tool" >/dev/null || { echo "missing: $tool (wrk: apt-get install -y wrk)" >&2; exit 1; }
done
if [ "$(nproc)" -lt 2 ]; then echo "needs 2 cores (server and wrk pinned apart)" >&2; exit 1; fi
if curl -s -o /dev/null "http://127.0.0.1:$PORT/"; then
  echo "port $PORT is already in use; set PORT=" >&2; exit 1
fi

cargo build --release --bins
# The quickstart is the main workspace's example, built in release into its own
# target directory here so that this never touches the workspace's.
CARGO_TARGET_DIR=target/main cargo build --release --manifest-path ../../Cargo.toml --example quickstart
QUICKSTART=target/main/release/examples/quickstart
rm -rf "$RES"
mkdir -p "$RES"
"$BIN/mint" "$OUT" "$FRESH"
TOKEN=$(cat "$OUT/token.txt")
BADSIG=$(cat "$OUT/badsig.txt")
GARBAGE=$(cat "$OUT/garbage.txt")
URL="http://127.0.0.1:$PORT/me"
# A different token on every request, in order, from tokens.txt.
cat > "$OUT/fresh.lua" <<'LUA'
local tokens = {}
local i = 0
function init(args)
  for line in io.lines(args[1]) do tokens[#tokens + 1] = "Bearer " .. line end
end
function request()
  i = i + 1
  if i > #tokens then i = 1 end
  return wrk.format("GET", nil, { ["Authorization"] = tokens[i] })
end
LUA
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "nproc: $(nproc)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "kernel: $(uname -r)"
  echo "rustc: $(rustc -V)"
  echo "cargo: $(cargo -V)"
  echo "wrk: $(wrk -v 2>&1 | head -n1 || true)"
  for crate in axum jwt-authorizer axum-jwt-auth jsonwebtoken aws-lc-rs ring; do
    echo "$crate: $(grep -A1 "^name = \"$crate\"\$" Cargo.lock ../../Cargo.lock | sed -n 's/.*version = "\(.*\)"/\1/p' | sort -u | tr '\n' ' ')"
  done
  echo "loadavg at start: $(cat /proc/loadavg)"
  echo "settings: wrk -t1 -c$CONNS -d$DURATION --latency, warm-up $WARMUP, $RUNS runs per case, $FRESH fresh tokens, server on cpu $SERVER_CPU, wrk and jwks on cpu $WRK_CPU"
} > "$RES/machine.txt"
cat "$RES/machine.txt"

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
trap stop_all EXIT

start_jwks "$RES/jwks.log"

start_server() {
  local name=$1
  if [ "$name" = quickstart ]; then
    RAMPGATE_ADDR="127.0.0.1:$PORT" RAMPGATE_ISSUER=https://issuer.load.test \
      RAMPGATE_AUDIENCE=load-api RAMPGATE_JWKS_URL="$JWKS_URL" \
      taskset -c "$SERVER_CPU" "$QUICKSTART" >"$RES/$name.out" 2>"$RES/$name.log" &
  else
    taskset -c "$SERVER_CPU" "$BIN/$name" "$PORT" "$JWKS_URL" 2>"$RES/$name.log" &
  fi
  SERVER_PID=$!
  for _ in $(seq 100); do
    curl -s -o /dev/null "$URL" && return 0
    sleep 0.1
  done
  echo "$name did not start; see $RES/$name.log" >&2
  exit 1
}

# status TOKEN -> HTTP status of GET /me with that bearer token
status() { curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $1" "$URL"; }

preflight() {
  local name=$1 body
  body=$(curl -s -H "Authorization: Bearer $TOKEN" "$URL")
  [ "$body" = '{"client_id":"load-client","scopes":["profile:read"],"sub":"load-user"}' ] ||
    { echo "$name: unexpected /me body: $body" >&2; exit 1; }
  [ "$(status "$TOKEN")" = 200 ] || { echo "$name: valid token not accepted" >&2; exit 1; }
  [ "$(status "$(head -n1 "$OUT/tokens.txt")")" = 200 ] || { echo "$name: fresh token not accepted" >&2; exit 1; }
  if [ "$name" != bare ]; then
    for t in "$BADSIG" "$GARBAGE"; do
      local got
      got=$(status "$t")
      if [ "$got" != 401 ]; then
        # rampgate must answer 401; a peer's other refusal is recorded, not fatal.
        [ "$name" != quickstart ] || { echo "$name: invalid token answered $got, not 401" >&2; exit 1; }
        echo "  note: $name answers $got (not 401) to the ${t:0:12}... token" | tee -a "$RES/notes.txt"
      fi
    done
  fi
}

# to_ms "1.23ms" -> 1.23 (wrk prints us, ms or s)
to_ms() {
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
    else if (v ~ /m$/) { sub(/m$/, "", v); printf "%.3f", v * 60000 }
    else { sub(/s$/, "", v); printf "%.3f", v * 1000 }
  }'
}

FAILED=0
printf 'server\tcase\trun\treq_s\tp50_ms\tp99_ms\trequests\tnon2xx\tsocket_errors\tserver_cpu_pct\twrk_cpu_pct\tloadavg1\n' > "$RES/raw.tsv"

# run_wrk SERVER CASE RUN TOKEN EXPECT(ok|deny)
run_wrk() {
  local name=$1 case=$2 run=$3 token=$4 expect=$5
  local file="$RES/$name-$case-$run.txt" load t0 t1 s0 s1
  load=$(cut -d' ' -f1 /proc/loadavg)
  t0=$(cpu_ticks "$SERVER_PID"); s0=$(date +%s.%N)
  local TIMEFORMAT=%P wrkcpu
  local how=(-H "Authorization: Bearer $token") after=()
  if [ "$token" = FRESH ]; then how=(-s "$OUT/fresh.lua"); after=(-- "$OUT/tokens.txt"); fi
  wrkcpu=$( { time taskset -c "$WRK_CPU" wrk -t1 -c"$CONNS" -d"$DURATION" --latency \
    "${how[@]}" "$URL" "${after[@]}" > "$file" ; } 2>&1 )
  wrkcpu=$(printf '%.0f' "$wrkcpu")
  t1=$(cpu_ticks "$SERVER_PID"); s1=$(date +%s.%N)
  local rps p50 p99 total non2xx errors cpu
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$file")
  p50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$file")")
  p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$file")")
  total=$(awk '/requests in/ {print $1}' "$file")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$file"); non2xx=${non2xx:-0}
  errors=$(awk '/Socket errors:/ {sub(/^ *Socket errors: */, ""); gsub(/, /, ";"); print}' "$file"); errors=${errors:-none}
  cpu=$(awk -v a="$t0" -v b="$t1" -v c="$s0" -v d="$s1" -v hz="$CLK_TCK" 'BEGIN {printf "%.0f", (b - a) / hz / (d - c) * 100}')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
    "$name" "$case" "$run" "$rps" "$p50" "$p99" "$total" "$non2xx" "$errors" "$cpu" "$wrkcpu" "$load" >> "$RES/raw.tsv"
  local verdict=ok
  if [ "$expect" = ok ] && [ "$non2xx" != 0 ]; then verdict="FAIL: $non2xx non-2xx responses"; FAILED=1; fi
  if [ "$expect" = deny ] && [ "$non2xx" != "$total" ]; then verdict="FAIL: $non2xx non-2xx of $total"; FAILED=1; fi
  printf '  %-8s %-8s run %s: %10s req/s  p50 %8s ms  p99 %8s ms  non-2xx %s/%s  cpu server %s%% wrk %s%%  load %s  [%s]\n' \
    "$name" "$case" "$run" "$rps" "$p50" "$p99" "$non2xx" "$total" "$cpu" "$wrkcpu" "$load" "$verdict"
}

for name in "${SERVERS[@]}"; do
  echo "== $name"
  start_server "$name"
  head -n1 "$RES/$name.log"
  preflight "$name"
  taskset -c "$WRK_CPU" wrk -t1 -c"$CONNS" -d"$WARMUP" \
    -H "Authorization: Bearer $TOKEN" "$URL" > "$RES/$name-warmup.txt"
  for run in $(seq "$RUNS"); do
    run_wrk "$name" reused "$run" "$TOKEN" ok
  done
  for run in $(seq "$RUNS"); do
    run_wrk "$name" fresh "$run" FRESH ok
  done
  if [ "$name" != bare ]; then
    run_wrk "$name" badsig 1 "$BADSIG" deny
    run_wrk "$name" garbage 1 "$GARBAGE" deny
  fi
  stop_server
done

# Medians over each case's runs; ratios from this run's medians; the targets of
# the performance work (quickstart, reused token: >= 0.85x bare and >= 4x
# jwt_authorizer; fresh token: >= 1.0x jwt_authorizer).
awk -F"\t" -v runs="$RUNS" -v servers="${SERVERS[*]}" '
  function median(list,   n, a, i, j, t) {
    n = split(list, a, " ")
    if (n == 0) return 0
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  function ratio(a, b) { return (b > 0) ? sprintf("%.2f", a / b) : "n/a" }
  function target(name, value, min) {
    if (value == "n/a") return
    printf "- %s = %s (target >= %s): %s\n", name, value, min, (value + 0 >= min) ? "met" : "NOT met"
  }
  NR == 1 { next }
  $2 == "reused" || $2 == "fresh" {
    k = $1 SUBSEP $2
    rps[k] = rps[k] " " $4; p50[k] = p50[k] " " $5; p99[k] = p99[k] " " $6; cpu[k] = cpu[k] " " $10; wcpu[k] = wcpu[k] " " $11
  }
  $2 == "badsig" || $2 == "garbage" { inv[$1, $2] = $4; invok[$1, $2] = ($8 == $7) ? "all refused" : "MISMATCH " $8 "/" $7 }
  END {
    n = split(servers, names, " ")
    print "| Server | Token | req/s (median of " runs ") | The runs | p50 ms | p99 ms | Server CPU % | wrk CPU % |"
    print "|---|---|---|---|---|---|---|---|"
    for (c = 1; c <= 2; c++) {
      cs = (c == 1) ? "reused" : "fresh"
      for (i = 1; i <= n; i++) {
        s = names[i]; k = s SUBSEP cs; m[k] = median(rps[k])
        printf "| %s | %s | %.0f |%s | %s | %s | %s | %s |\n", s, cs, m[k], rps[k], median(p50[k]), median(p99[k]), median(cpu[k]), median(wcpu[k])
      }
    }
    print ""
    q = "quickstart"
    for (c = 1; c <= 2; c++) {
      cs = (c == 1) ? "reused" : "fresh"
      line = "Ratios, " cs " token:"
      for (i = 1; i <= n; i++) if (names[i] != q) line = line sprintf(" quickstart/%s = %s;", names[i], ratio(m[q, cs], m[names[i], cs]))
      print line
    }
    if (("layers", "reused") in m) printf "Authorization layers alone: layers/bare = %s (reused), layers/jwt_authorizer = %s (fresh)\n", ratio(m["layers", "reused"], m["bare", "reused"]), ratio(m["layers", "fresh"], m["jwt_authorizer", "fresh"])
    print ""
    print "Targets:"
    target("quickstart/bare, reused token", ratio(m[q, "reused"], m["bare", "reused"]), 0.85)
    target("quickstart/jwt_authorizer, reused token", ratio(m[q, "reused"], m["jwt_authorizer", "reused"]), 4)
    target("quickstart/jwt_authorizer, fresh token", ratio(m[q, "fresh"], m["jwt_authorizer", "fresh"]), 1.0)
    print ""
    print "| Server | Forged-signature token req/s | Malformed token req/s |"
    print "|---|---|---|"
    for (i = 1; i <= n; i++) {
      s = names[i]
      if (s == "bare") continue
      printf "| %s | %s (%s) | %s (%s) |\n", s, inv[s, "badsig"], invok[s, "badsig"], inv[s, "garbage"], invok[s, "garbage"]
    }
  }' "$RES/raw.tsv" > "$RES/summary.md"
echo
cat "$RES/summary.md"
if [ -f "$RES/notes.txt" ]; then { echo; cat "$RES/notes.txt"; } | tee -a "$RES/summary.md"; fi
GRPC_FAILED=0
if [ "${GRPC:-1}" != 0 ]; then
  stop_server
  echo
  echo "== gRPC runs (grpc.sh; GRPC=0 skips them)"
  PORT=$PORT JWKS_PORT=$JWKS_PORT DURATION=$DURATION WARMUP=$WARMUP RUNS=$RUNS FRESH=$FRESH \
    SERVER_CPU=$SERVER_CPU WRK_CPU=$WRK_CPU GRPC_SHARED=1 ./grpc.sh || GRPC_FAILED=1
fi
if [ "$FAILED" != 0 ]; then echo "some runs had unexpected status codes; see $RES/raw.tsv" >&2; exit 1; fi
if [ "$GRPC_FAILED" != 0 ]; then echo "the gRPC runs failed; see $RES/grpc-raw.tsv" >&2; exit 1; fi
