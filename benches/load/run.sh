#!/usr/bin/env bash
# HTTP load comparison on loopback, side by side in one run, with the same ES256
# tokens and the same JWKS for every server (see docs/benchmarks.md, "Load runs"):
#
#   bare                  axum 0.8, no authentication (the ceiling)
#   quickstart            rampgate's quickstart example (audit trail, metrics,
#                         JwtLayer, its ramp contract), trusting an external
#                         issuer through RAMPGATE_ISSUER / RAMPGATE_AUDIENCE /
#                         RAMPGATE_JWKS_URL
#   layers                rampgate's JwtLayer and the quickstart's contract
#                         alone, without the audit trail and metrics
#   jwt_authorizer        axum 0.7 + jwt-authorizer 0.15
#   axum_jwt_auth         axum 0.8 + axum-jwt-auth 0.7
#   oauth_resource_server axum 0.8 + oauth-resource-server 0.3 (its jwks_uri
#                         set, so no discovery; the token's scope required)
#
# all serving `GET /me` (the same JSON body), each verifier taking its keys from
# the same JWKS endpoint (`jwks`, serving the issuer's public keys).
#
#   benches/load/run.sh            # from anywhere, on a fresh machine
#   SERVERS="bare layers" DURATION=2s RUNS=1 benches/load/run.sh   # a subset
#
# Needs: cargo, curl, taskset, awk and wrk; wrk is installed with apt-get when
# it is missing and this runs as root. 2 cores: each server runs alone pinned to
# core 0, wrk (and the JWKS endpoint) on core 1.
# RUNS rounds; in each, every server in turn is started afresh, warmed up and
# run once per case, so that a drift in the machine's speed falls on all of
# them alike. Cases: `reused` (one valid token on every request); `mixed`,
# verifying servers only (the reused token, and on every 100th request a fresh
# one from mixed.txt, never one the server has seen: does a cache miss stall
# the other requests?); `fresh` (a different valid token on every request,
# from FRESH distinct tokens); in the last round verifying servers also get
# one `badsig` run (a validly formed token with a forged signature) and one
# `garbage` run, where every answer must be a 401 (another refusal from a
# peer is noted in notes.txt). In the valid runs every answer must be a 2xx.
# Every run is `wrk -t1 -cCONNS` with a Lua script whose done() prints p50, p99
# and p99.9 (closed loop: latency as wrk measures it, no coordinated-omission
# correction).
# Results: out/results/ (raw wrk output; raw.tsv, one line per run: server,
# case, run, req_s, p50_ms, p99_ms, p999_ms, requests, non2xx, socket_errors,
# server_cpu_pct, wrk_cpu_pct, loadavg1, server_user_us, server_sys_us (the
# server's CPU time per request, user and system); machine.txt; summary.md: a
# heading with the date and cpu, medians per case, the mixed case's latency
# beside the reused case's, ratios to the quickstart, each server's CPU time
# per request over bare's, and the targets).
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
# paths, cpu_ticks, cpu_split and start_jwks: shared with grpc.sh.
. ./common.sh
CONNS=${CONNS:-16}
read -r -a SERVERS <<< "${SERVERS:-bare quickstart layers jwt_authorizer axum_jwt_auth oauth_resource_server}"

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
# Every run is a wrk script ending in DONE, which prints the latency
# percentiles that --latency does not (p99.9), in us, on one line:
#   latency_us p50 N p99 N p99.9 N
DONE='
function done(summary, latency, requests)
  io.write(string.format("latency_us p50 %d p99 %d p99.9 %d\n",
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9)))
  if report then report() end
end'
# One token, the file's first line, on every request: wrk builds the request
# once, as with -H.
cat > "$OUT/static.lua" <<LUA
function init(args)
  local f = assert(io.open(args[1]))
  wrk.headers["Authorization"] = "Bearer " .. f:read("*l")
  f:close()
end
$DONE
LUA
# A different token on every request, in order, from tokens.txt. Its
# report() prints "fresh_wrapped true|false": whether the list ran out and
# began again (then some tokens were sent twice).
cat > "$OUT/fresh.lua" <<LUA
local tokens = {}
local threads = {}
local i = 0
wrapped = false
function setup(thread) threads[#threads + 1] = thread end
function init(args)
  for line in io.lines(args[1]) do tokens[#tokens + 1] = "Bearer " .. line end
end
function request()
  i = i + 1
  if i > #tokens then i = 1; wrapped = true end
  return wrk.format("GET", nil, { ["Authorization"] = tokens[i] })
end
function report()
  io.write(string.format("fresh_wrapped %s\n", tostring(threads[1]:get("wrapped"))))
end
$DONE
LUA
# The reused token (token.txt), except on every 100th request: the next token
# of mixed.txt, from line START on, so 1 % are cache misses. Its report() prints
#   mixed_fresh sent N next LINE wrapped true|false
# (the line the next run starts from; wrapped: mixed.txt ran out and began again).
cat > "$OUT/mixed.lua" <<LUA
i = 0
sent = 0
wrapped = false
local n = 0
local reused
local tokens = {}
local threads = {}
function setup(thread) threads[#threads + 1] = thread end
function init(args)
  local f = assert(io.open(args[1]))
  reused = wrk.format("GET", nil, { ["Authorization"] = "Bearer " .. f:read("*l") })
  f:close()
  for line in io.lines(args[2]) do tokens[#tokens + 1] = "Bearer " .. line end
  i = tonumber(args[3]) - 1
end
function request()
  n = n + 1
  if n % 100 ~= 0 then return reused end
  i = i + 1
  if i > #tokens then i = 1; wrapped = true end
  sent = sent + 1
  return wrk.format("GET", nil, { ["Authorization"] = tokens[i] })
end
function report()
  local t = threads[1]
  io.write(string.format("mixed_fresh sent %d next %d wrapped %s\n",
    t:get("sent"), t:get("i") + 1, tostring(t:get("wrapped"))))
end
$DONE
LUA
{
  machine axum jwt-authorizer axum-jwt-auth oauth-resource-server jsonwebtoken aws-lc-rs ring
  echo "cargo: $(cargo -V)"
  echo "wrk: $(wrk -v 2>&1 | head -n1 || true)"
  echo "settings: wrk -t1 -c$CONNS -d$DURATION --latency, $RUNS rounds (every server started afresh in each, in turn; one run per case per round), warm-up $WARMUP per start, $FRESH fresh tokens (and $FRESH more for mixed, 1 % of its requests), server on cpu $SERVER_CPU, wrk and jwks on cpu $WRK_CPU"
} > "$RES/machine.txt"
cat "$RES/machine.txt"

trap stop_all EXIT

start_jwks "$RES/jwks.log"

start_server() {
  local name=$1
  launch_server "$name" quickstart "$QUICKSTART" "$PORT" "$RES/$name.log"
  await_server "$name" "$RES/$name.log" 100 curl -s -o /dev/null "$URL"
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

# latency_ms FILE PERCENTILE -> that percentile in ms, from the DONE line
latency_ms() {
  awk -v p="$2" '$1 == "latency_us" { for (i = 2; i < NF; i += 2) if ($i == p) printf "%.3f", $(i + 1) / 1000 }' "$1"
}

FAILED=0
printf 'server\tcase\trun\treq_s\tp50_ms\tp99_ms\tp999_ms\trequests\tnon2xx\tsocket_errors\tserver_cpu_pct\twrk_cpu_pct\tloadavg1\tserver_user_us\tserver_sys_us\n' > "$RES/raw.tsv"

# run_wrk SERVER CASE RUN EXPECT(ok|deny) SCRIPT SCRIPT_ARGS...
run_wrk() {
  local name=$1 case=$2 run=$3 expect=$4 script=$5
  shift 5
  local file="$RES/$name-$case-$run.txt" load u0 y0 u1 y1 s0 s1
  load=$(cut -d' ' -f1 /proc/loadavg)
  read -r u0 y0 <<< "$(cpu_split "$SERVER_PID")"; s0=$(date +%s.%N)
  local TIMEFORMAT=%P wrkcpu
  wrkcpu=$( { time taskset -c "$WRK_CPU" wrk -t1 -c"$CONNS" -d"$DURATION" --latency \
    -s "$OUT/$script" "$URL" -- "$@" > "$file" ; } 2>&1 )
  wrkcpu=$(printf '%.0f' "$wrkcpu")
  read -r u1 y1 <<< "$(cpu_split "$SERVER_PID")"; s1=$(date +%s.%N)
  [ -n "$u0" ] && [ -n "$u1" ] || { echo "$name $case: the server exited during the run" >&2; exit 1; }
  local rps p50 p99 p999 total non2xx errors cpu usr sys
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$file")
  p50=$(latency_ms "$file" p50)
  p99=$(latency_ms "$file" p99)
  p999=$(latency_ms "$file" p99.9)
  total=$(awk '/requests in/ {print $1}' "$file")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$file"); non2xx=${non2xx:-0}
  errors=$(awk '/Socket errors:/ {sub(/^ *Socket errors: */, ""); gsub(/, /, ";"); print}' "$file"); errors=${errors:-none}
  cpu=$(awk -v a="$((u0 + y0))" -v b="$((u1 + y1))" -v c="$s0" -v d="$s1" -v hz="$CLK_TCK" 'BEGIN {printf "%.0f", (b - a) / hz / (d - c) * 100}')
  # The server's CPU time per request, user and system apart: what the
  # server's own code costs, and what the kernel's loopback TCP costs it.
  read -r usr sys <<< "$(awk -v u="$((u1 - u0))" -v y="$((y1 - y0))" -v n="$total" -v hz="$CLK_TCK" \
    'BEGIN {f = (n > 0) ? 1e6 / hz / n : 0; printf "%.2f %.2f", u * f, y * f}')"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
    "$name" "$case" "$run" "$rps" "$p50" "$p99" "$p999" "$total" "$non2xx" "$errors" "$cpu" "$wrkcpu" "$load" "$usr" "$sys" >> "$RES/raw.tsv"
  local verdict=ok
  if [ "$expect" = ok ] && [ "$non2xx" != 0 ]; then verdict="FAIL: $non2xx non-2xx responses"; FAILED=1; fi
  if [ "$expect" = deny ] && [ "$non2xx" != "$total" ]; then verdict="FAIL: $non2xx non-2xx of $total"; FAILED=1; fi
  printf '  %-21s %-8s run %s: %10s req/s  p50 %8s ms  p99 %8s ms  p99.9 %8s ms  non-2xx %s/%s  cpu server %s%% wrk %s%%  load %s  [%s]\n' \
    "$name" "$case" "$run" "$rps" "$p50" "$p99" "$p999" "$non2xx" "$total" "$cpu" "$wrkcpu" "$load" "$verdict"
}

# Rounds: each round starts every server in turn, a new process each time,
# and runs each case once on it. A machine whose speed drifts during the run
# (a shared host's neighbours) then slows every server alike, instead of
# whichever happened to run its cases at the slow moment; and a new process
# has never seen a fresh token, nor cached one.
declare -A NEXT
for name in "${SERVERS[@]}"; do NEXT[$name]=1; done
for run in $(seq "$RUNS"); do
  for name in "${SERVERS[@]}"; do
    echo "== $name, round $run of $RUNS"
    start_server "$name"
    if (( run == 1 )); then head -n1 "$RES/$name.log"; fi
    preflight "$name"
    taskset -c "$WRK_CPU" wrk -t1 -c"$CONNS" -d"$WARMUP" \
      -s "$OUT/static.lua" "$URL" -- "$OUT/token.txt" > "$RES/$name-warmup-$run.txt"
    run_wrk "$name" reused "$run" ok static.lua "$OUT/token.txt"
    if [ "$name" != bare ]; then
      # Each round goes on from where the previous one stopped in mixed.txt.
      run_wrk "$name" mixed "$run" ok mixed.lua "$OUT/token.txt" "$OUT/mixed.txt" "${NEXT[$name]}"
      file="$RES/$name-mixed-$run.txt"
      next=$(awk '$1 == "mixed_fresh" {print $5}' "$file")
      NEXT[$name]=${next:-1}
      if grep -q '^mixed_fresh .* wrapped true$' "$file"; then
        echo "  note: $name mixed run $run used up mixed.txt's $FRESH tokens and reused some; raise FRESH" | tee -a "$RES/notes.txt"
      fi
    fi
    run_wrk "$name" fresh "$run" ok fresh.lua "$OUT/tokens.txt"
    if [ "$name" != bare ] && grep -q '^fresh_wrapped true$' "$RES/$name-fresh-$run.txt"; then
      echo "  note: $name fresh run $run used up tokens.txt's $FRESH tokens and sent some twice; raise FRESH" | tee -a "$RES/notes.txt"
    fi
    if [ "$name" != bare ] && (( run == RUNS )); then
      run_wrk "$name" badsig 1 deny static.lua "$OUT/badsig.txt"
      run_wrk "$name" garbage 1 deny static.lua "$OUT/garbage.txt"
    fi
    stop_server
  done
done

# Medians over each case's runs; ratios from this run's medians; the targets of
# the performance work: the quickstart's reused-token throughput >= 0.85x bare
# and >= 3x every peer, its fresh-token throughput >= 1.0x every peer. The
# heading names the machine and the date, for the docs to quote.
field() { sed -n "s/^$1: //p" "$RES/machine.txt"; }
{
echo "# HTTP load run, $(field date), $(field cpu), $(field nproc) cores"
echo
echo "Settings: $(field settings); load average at start $(field 'loadavg at start' | cut -d' ' -f1-3)."
echo
awk -F"\t" -v runs="$RUNS" -v servers="${SERVERS[*]}" -v peers="jwt_authorizer axum_jwt_auth oauth_resource_server" '
  function median(list,   n, a, i, j, t) {
    n = split(list, a, " ")
    if (n == 0) return 0
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  function ratio(a, b) { return (b > 0) ? sprintf("%.2f", a / b) : "n/a" }
  # rr(S1, S2, CASE): S1 req/s over S2 req/s (medians), n/a unless both ran CASE
  function rr(s1, s2, c) { return (((s1, c) in m) && ((s2, c) in m)) ? ratio(m[s1, c], m[s2, c]) : "n/a" }
  function ms(list) { return sprintf("%.3f", median(list)) }
  function target(name, value, min) {
    if (value == "n/a") { printf "- %s: not measured (not in SERVERS)\n", name; return }
    printf "- %s = %s (target >= %s): %s\n", name, value, min, (value + 0 >= min + 0) ? "met" : "NOT met"
  }
  NR == 1 { next }
  $2 == "reused" || $2 == "fresh" || $2 == "mixed" {
    k = $1 SUBSEP $2; ran[k] = 1
    rps[k] = rps[k] " " $4; p50[k] = p50[k] " " $5; p99[k] = p99[k] " " $6; p999[k] = p999[k] " " $7
    cpu[k] = cpu[k] " " $11; wcpu[k] = wcpu[k] " " $12
    usr[k] = usr[k] " " $14; sys[k] = sys[k] " " $15
  }
  $2 == "badsig" || $2 == "garbage" { inv[$1, $2] = $4; invok[$1, $2] = ($9 == $8) ? "all refused" : "MISMATCH " $9 "/" $8 }
  END {
    n = split(servers, names, " ")
    print "| Server | Token | req/s (median of " runs ") | The runs | p50 ms | p99 ms | p99.9 ms | Server CPU % | Server CPU us/request, user + system | wrk CPU % |"
    print "|---|---|---|---|---|---|---|---|---|---|"
    nc = split("reused mixed fresh", cases, " ")
    for (c = 1; c <= nc; c++) {
      cs = cases[c]
      for (i = 1; i <= n; i++) {
        s = names[i]; k = s SUBSEP cs
        if (!(k in ran)) continue
        m[k] = median(rps[k])
        mu[k] = median(usr[k]); my[k] = median(sys[k])
        printf "| %s | %s | %.0f |%s | %s | %s | %s | %.0f | %.2f + %.2f | %.0f |\n", s, cs, m[k], rps[k], ms(p50[k]), ms(p99[k]), ms(p999[k]), median(cpu[k]), mu[k], my[k], median(wcpu[k])
      }
    }
    print ""
    print "A cache miss must not stall other requests: the latency with the reused token alone, and while 1 % of requests carry a fresh token (`mixed`); medians of the runs."
    print ""
    print "| Server | reused p50 / p99 / p99.9 ms | mixed p50 / p99 / p99.9 ms | p99 mixed/reused | p99.9 mixed/reused |"
    print "|---|---|---|---|---|"
    for (i = 1; i <= n; i++) {
      s = names[i]; r = s SUBSEP "reused"; x = s SUBSEP "mixed"
      if (!(x in ran) || !(r in ran)) continue
      printf "| %s | %s / %s / %s | %s / %s / %s | %s | %s |\n", s, ms(p50[r]), ms(p99[r]), ms(p999[r]), ms(p50[x]), ms(p99[x]), ms(p999[x]), ratio(median(p99[x]), median(p99[r])), ratio(median(p999[x]), median(p999[r]))
    }
    print ""
    q = "quickstart"
    for (c = 1; c <= nc; c++) {
      cs = cases[c]
      if (!((q, cs) in m)) continue
      line = "Ratios, " cs " token:"
      for (i = 1; i <= n; i++) if (names[i] != q && ((names[i], cs) in m)) line = line sprintf(" quickstart/%s = %s;", names[i], rr(q, names[i], cs))
      print line
    }
    # Where the reused-token gap to bare lies: in the code of the server (user
    # time) or in the work of the kernel for it (system time).
    for (i = 1; i <= n; i++) {
      s = names[i]
      if (s == "bare" || !((s, "reused") in m) || !(("bare", "reused") in m)) continue
      printf "Server CPU per request over bare, reused token: %s %+.2f us user, %+.2f us system\n", s, mu[s, "reused"] - mu["bare", "reused"], my[s, "reused"] - my["bare", "reused"]
    }
    if (("layers", "reused") in m) printf "Authorization layers alone: layers/bare = %s (reused), layers/jwt_authorizer = %s (fresh)\n", rr("layers", "bare", "reused"), rr("layers", "jwt_authorizer", "fresh")
    print ""
    print "Targets: the quickstart reused-token throughput >= 0.85x bare axum and >= 3x every peer; with a fresh token >= 1.0x every peer."
    print ""
    target("quickstart/bare, reused token", rr(q, "bare", "reused"), "0.85")
    np = split(peers, peer, " ")
    for (i = 1; i <= np; i++) target("quickstart/" peer[i] ", reused token", rr(q, peer[i], "reused"), "3")
    for (i = 1; i <= np; i++) target("quickstart/" peer[i] ", fresh token", rr(q, peer[i], "fresh"), "1.0")
    print ""
    print "| Server | Forged-signature token req/s | Malformed token req/s |"
    print "|---|---|---|"
    for (i = 1; i <= n; i++) {
      s = names[i]
      if (s == "bare") continue
      printf "| %s | %s (%s) | %s (%s) |\n", s, inv[s, "badsig"], invok[s, "badsig"], inv[s, "garbage"], invok[s, "garbage"]
    }
  }' "$RES/raw.tsv"
} > "$RES/summary.md"
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
