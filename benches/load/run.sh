#!/usr/bin/env bash
# HTTP load comparison: bare axum, rampgate::JwtLayer, and a jsonwebtoken
# middleware, all serving `GET /me` on 127.0.0.1 and verifying ES256 tokens
# against the same public key. See docs/benchmarks.md ("Load runs").
#
#   benches/load/run.sh            # from anywhere; about 5 minutes once built
#
# Needs: cargo, wrk (`apt-get install -y wrk`), taskset, curl, and 2 cores.
# Each server runs alone, pinned to core 0; wrk is pinned to core 1.
# Per server: a 3 s warm-up, then RUNS valid-token runs; rampgate and peer also
# get one run with a bad-signature token and one with a malformed token, where
# every response must be a 401 (wrk's "Non-2xx" count must equal its request count).
# Results: out/results/ (raw wrk output, raw.tsv, machine.txt, summary.md).
# Traffic goes to 127.0.0.1 only, and every run is bounded by its duration.
set -euo pipefail
cd "$(dirname "$0")"

PORT=${PORT:-18080}
DURATION=${DURATION:-15s}
WARMUP=${WARMUP:-3s}
RUNS=${RUNS:-3}
CONNS=${CONNS:-32}
SERVER_CPU=${SERVER_CPU:-0}
WRK_CPU=${WRK_CPU:-1}
SERVERS=(bare rampgate peer)

for tool in cargo wrk taskset curl awk; do
  command -v "$tool" >/dev/null || { echo "missing: $tool (wrk: apt-get install -y wrk)" >&2; exit 1; }
done
if [ "$(nproc)" -lt 2 ]; then echo "needs 2 cores (server and wrk pinned apart)" >&2; exit 1; fi
if curl -s -o /dev/null "http://127.0.0.1:$PORT/"; then
  echo "port $PORT is already in use; set PORT=" >&2; exit 1
fi

cargo build --release
BIN=target/release
OUT=out
RES=$OUT/results
rm -rf "$RES"
mkdir -p "$RES"
"$BIN/mint" "$OUT"
TOKEN=$(cat "$OUT/token.txt")
BADSIG=$(cat "$OUT/badsig.txt")
GARBAGE=$(cat "$OUT/garbage.txt")
URL="http://127.0.0.1:$PORT/me"
CLK_TCK=$(getconf CLK_TCK)

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "nproc: $(nproc)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "kernel: $(uname -r)"
  echo "rustc: $(rustc -V)"
  echo "cargo: $(cargo -V)"
  echo "wrk: $(wrk -v 2>&1 | head -n1 || true)"
  echo "jsonwebtoken: $(grep -A1 '^name = "jsonwebtoken"' Cargo.lock | sed -n 's/^version = "\(.*\)"/\1/p')"
  echo "axum: $(grep -A1 '^name = "axum"$' Cargo.lock | sed -n 's/^version = "\(.*\)"/\1/p')"
  echo "p256: $(grep -A1 '^name = "p256"' Cargo.lock | sed -n 's/^version = "\(.*\)"/\1/p')"
  echo "loadavg at start: $(cat /proc/loadavg)"
  echo "settings: wrk -t1 -c$CONNS -d$DURATION --latency, warm-up $WARMUP, $RUNS runs, server on cpu $SERVER_CPU, wrk on cpu $WRK_CPU"
} > "$RES/machine.txt"
cat "$RES/machine.txt"

SERVER_PID=
stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
  fi
}
trap stop_server EXIT

start_server() {
  local name=$1
  taskset -c "$SERVER_CPU" "$BIN/$name" "$PORT" "$OUT/jwk.json" 2>"$RES/$name.log" &
  SERVER_PID=$!
  for _ in $(seq 50); do
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
  [ "$body" = '{"sub":"load-user"}' ] || { echo "$name: unexpected /me body: $body" >&2; exit 1; }
  [ "$(status "$TOKEN")" = 200 ] || { echo "$name: valid token not accepted" >&2; exit 1; }
  if [ "$name" != bare ]; then
    for t in "$BADSIG" "$GARBAGE"; do
      [ "$(status "$t")" = 401 ] || { echo "$name: invalid token not refused with 401" >&2; exit 1; }
    done
  fi
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

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
  wrkcpu=$( { time taskset -c "$WRK_CPU" wrk -t1 -c"$CONNS" -d"$DURATION" --latency \
    -H "Authorization: Bearer $token" "$URL" > "$file" ; } 2>&1 )
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
    run_wrk "$name" valid "$run" "$TOKEN" ok
  done
  if [ "$name" != bare ]; then
    run_wrk "$name" badsig 1 "$BADSIG" deny
    run_wrk "$name" garbage 1 "$GARBAGE" deny
  fi
  stop_server
done

# Medians over the valid-token runs; ratios from this run's medians.
awk -F"\t" -v runs="$RUNS" '
  function median(list,   n, a, i, j, t) {
    n = split(list, a, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  NR == 1 { next }
  $2 == "valid" { rps[$1] = rps[$1] " " $4; p50[$1] = p50[$1] " " $5; p99[$1] = p99[$1] " " $6; cpu[$1] = cpu[$1] " " $10; wcpu[$1] = wcpu[$1] " " $11 }
  $2 != "valid" { inv[$1, $2] = $4; invok[$1, $2] = ($8 == $7) ? "all " $8 " were 401" : "MISMATCH " $8 "/" $7 }
  END {
    split("bare rampgate peer", names, " ")
    print "| Server | req/s (median of " runs ") | the runs | p50 ms | p99 ms | server CPU % | wrk CPU % |"
    print "|---|---|---|---|---|---|---|"
    for (k = 1; k <= 3; k++) {
      s = names[k]; m[s] = median(rps[s])
      printf "| %s | %.0f |%s | %s | %s | %s | %s |\n", s, m[s], rps[s], median(p50[s]), median(p99[s]), median(cpu[s]), median(wcpu[s])
    }
    print ""
    printf "rampgate/bare = %.3f, rampgate/peer = %.3f, peer/bare = %.3f (req/s medians)\n", m["rampgate"] / m["bare"], m["rampgate"] / m["peer"], m["peer"] / m["bare"]
    print ""
    print "| Server | bad-signature token req/s | malformed token req/s |"
    print "|---|---|---|"
    for (k = 2; k <= 3; k++) {
      s = names[k]
      printf "| %s | %s (%s) | %s (%s) |\n", s, inv[s, "badsig"], invok[s, "badsig"], inv[s, "garbage"], invok[s, "garbage"]
    }
  }' "$RES/raw.tsv" > "$RES/summary.md"
echo
cat "$RES/summary.md"
if [ "$FAILED" != 0 ]; then echo "some runs had unexpected status codes; see $RES/raw.tsv" >&2; exit 1; fi
