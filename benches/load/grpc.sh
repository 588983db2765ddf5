#!/usr/bin/env bash
# gRPC load comparison on loopback, side by side in one run, with the same ES256
# tokens (scope `greet`) and the same JWKS for every server:
#
#   grpc_example      rampgate's gRPC example (examples/grpc: AuthStack's JWT
#                     and contract layers around the greeter, health and
#                     reflection public), trusting an external issuer through
#                     RAMPGATE_ISSUER / RAMPGATE_AUDIENCE / RAMPGATE_JWKS_URL
#   grpc_bare         the same greeter and health on tonic 0.14, no
#                     authentication (the ceiling)
#   grpc_interceptor  the same behind a tonic `Interceptor` that verifies with
#                     jsonwebtoken 11 on every call (what a tonic user writes
#                     today: keys fetched once, no cache of verified tokens)
#
# all serving helloworld.Greeter (SayHello, SayHelloStream) and
# grpc.health.v1.Health/Check with the same replies.
#
#   benches/load/grpc.sh           # alone, from anywhere, on a fresh machine
#   benches/load/run.sh            # runs this after the HTTP runs (GRPC=0: not)
#
# The load tool is `grpcload` (src/bin/grpcload.rs, raw HTTP/2 with the h2
# crate): GRPC_CONNS connections (16, as the HTTP runs' -c16) with
# GRPC_STREAMS calls in flight on each (8: 128 in all, as the earlier
# `h2load -c16 -m8` measurement). It reads every answer to its end and counts
# it right only when grpc-status is 0 and the body is the one the example sends;
# any other answer fails the run. Latency (request to trailers; for a stream,
# the whole stream) in an HDR histogram: p50, p99, p99.9. Each server runs
# alone pinned to core SERVER_CPU (0), grpcload and the JWKS endpoint on
# WRK_CPU (1); grpcload's CPU % is recorded, and flagged when it nears 100 %.
#
# RUNS rounds; in each, every server in turn is started afresh, warmed up
# (WARMUP) and run once per case (DURATION), so that a drift in the machine's
# speed falls on every server and case alike. Cases:
#   health         Health/Check, no token (public; grpc_example, and
#                  grpc_bare for the same ratio without authentication)
#   health-token   Health/Check carrying the same token as unary-reused, as
#                  a client whose channel sends its token on every call does
#                  (grpc_example, grpc_bare): beside unary-reused, what
#                  authorising a call costs once both carry the token's bytes
#   unary-reused   SayHello, one valid token on every call
#   unary-notoken  SayHello without any token (grpc_bare only): with
#                  health, what the token's bytes alone cost a server that
#                  never reads them (the h2 crate, tonic's client and
#                  grpcload's, never indexes `authorization` in HPACK: every
#                  call carries the whole token, and the server decodes it)
#   unary-fresh    SayHello, a different valid token on every call, from
#                  FRESH distinct tokens (grpc_example, grpc_interceptor)
#   stream-reused  SayHelloStream with times = STREAM_TIMES (10), one token
#   stream-long    the same with times = STREAM_TIMES_LONG (100): authorised
#                  once per stream, what the layers add to a stream stays the
#                  same as it gets ten times longer (per message, it would
#                  grow tenfold); the target is on this case
# grpc_bare is sent the same token (none in health and unary-notoken) and
# ignores it.
# Before its runs, each server is checked: a right answer for each case; on
# the verifying servers, no token, a forged signature and a malformed token
# are UNAUTHENTICATED (16) and a token without `greet` is PERMISSION_DENIED (7).
# Settings (environment): those of run.sh (common.sh: PORT, JWKS_PORT,
# DURATION, WARMUP, RUNS, FRESH, SERVER_CPU, WRK_CPU), and GRPC_PORT (PORT),
# GRPC_CONNS, GRPC_STREAMS, STREAM_TIMES, STREAM_TIMES_LONG, GRPC_SERVERS
# (all three).
# While developing: PORT=19080 JWKS_PORT=19081 DURATION=3s RUNS=1 ./grpc.sh
# Results: out/results/grpc-* (each run's output, grpc-raw.tsv,
# grpc-machine.txt, grpc-summary.md, grpc-notes.txt: fresh-token runs that
# sent a token twice), and the gRPC section of summary.md
# (replaced, not appended twice).
# Traffic goes to 127.0.0.1 only, and every run is bounded by its duration.
set -euo pipefail
cd "$(dirname "$0")"

. ./common.sh
GRPC_PORT=${GRPC_PORT:-$PORT}
GRPC_CONNS=${GRPC_CONNS:-16}
GRPC_STREAMS=${GRPC_STREAMS:-8}
STREAM_TIMES=${STREAM_TIMES:-10}
STREAM_TIMES_LONG=${STREAM_TIMES_LONG:-100}
read -r -a GRPC_SERVERS <<< "${GRPC_SERVERS:-grpc_example grpc_bare grpc_interceptor}"
ADDR="127.0.0.1:$GRPC_PORT"
# Set by run.sh: the binaries are built, the tokens minted and the JWKS served.
GRPC_SHARED=${GRPC_SHARED:-0}

for tool in cargo taskset curl awk; do
  command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 1; }
done
if [ "$(nproc)" -lt 2 ]; then echo "needs 2 cores (server and grpcload pinned apart)" >&2; exit 1; fi
if [ "$FRESH" -le 4096 ]; then
  echo "note: FRESH=$FRESH fits in rampgate's default token cache (4096): the example's fresh tokens will be cache hits" >&2
fi
if (exec 3<>"/dev/tcp/127.0.0.1/$GRPC_PORT") 2>/dev/null; then
  echo "port $GRPC_PORT is already in use; set GRPC_PORT= (or PORT=)" >&2; exit 1
fi

if [ "$GRPC_SHARED" != 1 ]; then cargo build --release --bins; fi
# The gRPC example, built in release beside the quickstart (target/main).
CARGO_TARGET_DIR=target/main cargo build --release --manifest-path ../../Cargo.toml \
  --example grpc --features tonic,remote-jwks
GRPC_EXAMPLE=target/main/release/examples/grpc
mkdir -p "$RES"
rm -f "$RES"/grpc-*
if [ "$GRPC_SHARED" != 1 ]; then "$BIN/mint" "$OUT" "$FRESH"; fi

{
  machine tonic h2 hyper jsonwebtoken aws-lc-rs hdrhistogram
  echo "settings: grpcload -c$GRPC_CONNS -m$GRPC_STREAMS -d$DURATION, $RUNS rounds (every server started afresh in each, in turn; one run per case per round), warm-up $WARMUP per start, $FRESH fresh tokens, stream times $STREAM_TIMES and $STREAM_TIMES_LONG, server on cpu $SERVER_CPU, grpcload and jwks on cpu $WRK_CPU"
} > "$RES/grpc-machine.txt"
cat "$RES/grpc-machine.txt"

trap stop_all EXIT

if [ "$GRPC_SHARED" != 1 ]; then start_jwks "$RES/grpc-jwks.log"; fi

# once ARGS... -> one call's "grpc-status TAB grpc-message TAB messages TAB
# expected|unexpected TAB first message"
once() { "$BIN/grpcload" "$ADDR" "$@" --once; }

start_server() {
  local name=$1
  launch_server "$name" grpc_example "$GRPC_EXAMPLE" "$GRPC_PORT" "$RES/grpc-$name.log"
  await_server "$name" "$RES/grpc-$name.log" 150 once health
}

# expect NAME WHAT WANT ARGS...: one call whose grpc-status must be WANT and,
# for 0, whose answer must be the expected one.
expect() {
  local name=$1 what=$2 want=$3 got
  shift 3
  got=$(once "$@") || got="no answer"
  local status=${got%%$'\t'*}
  if [ "$status" != "$want" ] || { [ "$want" = 0 ] && [ "$(cut -f4 <<< "$got")" != expected ]; }; then
    echo "$name: $what: wanted grpc-status $want, got: $got" >&2
    exit 1
  fi
  printf '  preflight %-24s grpc-status %s  %s\n' "$what" "$status" "$(cut -f2,5 <<< "$got" | tr '\t' ' ')"
}

preflight() {
  local name=$1
  expect "$name" "health" 0 health
  if [ "$name" != grpc_interceptor ]; then
    expect "$name" "health, with the token" 0 health --token "$OUT/grpc_token.txt"
  fi
  expect "$name" "SayHello" 0 unary --token "$OUT/grpc_token.txt"
  expect "$name" "SayHello, fresh token" 0 unary --token <(head -n1 "$OUT/grpc_tokens.txt")
  expect "$name" "SayHelloStream" 0 stream --times "$STREAM_TIMES" --token "$OUT/grpc_token.txt"
  expect "$name" "SayHelloStream, long" 0 stream --times "$STREAM_TIMES_LONG" --token "$OUT/grpc_token.txt"
  if [ "$name" = grpc_bare ]; then
    expect "$name" "SayHello, no token" 0 unary
  else
    expect "$name" "no token" 16 unary
    expect "$name" "forged signature" 16 unary --token "$OUT/grpc_badsig.txt"
    expect "$name" "malformed token" 16 unary --token "$OUT/garbage.txt"
    expect "$name" "stream, no token" 16 stream --times "$STREAM_TIMES"
    expect "$name" "no scope greet" 7 unary --token "$OUT/token.txt"
  fi
}

cases_of() {
  case $1 in
    grpc_example) echo health health-token unary-reused unary-fresh stream-reused stream-long ;;
    grpc_bare) echo health health-token unary-reused unary-notoken stream-reused stream-long ;;
    *) echo unary-reused unary-fresh stream-reused stream-long ;;
  esac
}

args_of() {
  case $1 in
    health) echo health ;;
    health-token) echo health --token "$OUT/grpc_token.txt" ;;
    unary-reused) echo unary --token "$OUT/grpc_token.txt" ;;
    unary-notoken) echo unary ;;
    unary-fresh) echo unary --tokens "$OUT/grpc_tokens.txt" ;;
    stream-reused) echo stream --times "$STREAM_TIMES" --token "$OUT/grpc_token.txt" ;;
    stream-long) echo stream --times "$STREAM_TIMES_LONG" --token "$OUT/grpc_token.txt" ;;
  esac
}

FAILED=0
printf 'server\tcase\trun\tcalls_s\tmessages_s\tp50_ms\tp99_ms\tp999_ms\tmax_ms\tok_calls\terrors\terror_kinds\tserver_cpu_pct\tserver_us_per_call\tclient_cpu_pct\tloadavg1\n' > "$RES/grpc-raw.tsv"

# run_grpc SERVER CASE RUN
run_grpc() {
  local name=$1 case=$2 run=$3
  local file="$RES/grpc-$name-$case-$run.txt" load t0 t1 s0 s1 args
  read -r -a args <<< "$(args_of "$case")"
  load=$(cut -d' ' -f1 /proc/loadavg)
  t0=$(cpu_ticks "$SERVER_PID"); s0=$(date +%s.%N)
  local TIMEFORMAT=%P clientcpu
  clientcpu=$( { time taskset -c "$WRK_CPU" "$BIN/grpcload" "$ADDR" "${args[@]}" \
    -c "$GRPC_CONNS" -m "$GRPC_STREAMS" -d "$DURATION" > "$file" 2>"$file.log" ; } 2>&1 ) ||
    { echo "$name $case: grpcload failed: $(cat "$file.log")" >&2; FAILED=1; return 0; }
  clientcpu=$(printf '%.0f' "$clientcpu")
  t1=$(cpu_ticks "$SERVER_PID"); s1=$(date +%s.%N)
  local ok errors calls msgs p50 p99 p999 max kinds cpu us
  IFS=$'\t' read -r ok errors calls msgs p50 p99 p999 max kinds < "$file"
  cpu=$(awk -v a="$t0" -v b="$t1" -v c="$s0" -v d="$s1" -v hz="$CLK_TCK" 'BEGIN {printf "%.0f", (b - a) / hz / (d - c) * 100}')
  us=$(awk -v a="$t0" -v b="$t1" -v hz="$CLK_TCK" -v n="$ok" 'BEGIN {printf "%.1f", (n > 0) ? (b - a) / hz / n * 1e6 : 0}')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
    "$name" "$case" "$run" "$calls" "$msgs" "$p50" "$p99" "$p999" "$max" "$ok" "$errors" "$kinds" \
    "$cpu" "$us" "$clientcpu" "$load" >> "$RES/grpc-raw.tsv"
  local verdict=ok
  if [ "$errors" != 0 ] || [ "$ok" = 0 ]; then verdict="FAIL: $errors wrong answers ($kinds)"; FAILED=1; fi
  # As run.sh does for wrk: past FRESH calls the token list began again, and
  # rampgate's cache admits a token on its second verification.
  if [ "$case" = unary-fresh ] && (( ok + errors > FRESH )); then
    echo "  note: $name $case run $run made $((ok + errors)) calls from $FRESH tokens and sent some twice; raise FRESH" | tee -a "$RES/grpc-notes.txt"
  fi
  printf '  %-16s %-13s run %s: %7s calls/s %8s msg/s  p50 %7s  p99 %7s  p99.9 %7s ms  cpu server %s%% (%s us/call) grpcload %s%%  load %s  [%s]\n' \
    "$name" "$case" "$run" "$calls" "$msgs" "$p50" "$p99" "$p999" "$cpu" "$us" "$clientcpu" "$load" "$verdict"
}

# Rounds, as in run.sh: each round starts every server afresh, in turn, and
# runs each of its cases once, so that a drift in the machine's speed falls
# on every server and every case alike (the targets compare cases of one
# server, and servers with each other).
for run in $(seq "$RUNS"); do
  for name in "${GRPC_SERVERS[@]}"; do
    echo "== $name, round $run of $RUNS"
    start_server "$name"
    if (( run == 1 )); then
      if [ "$name" = grpc_example ]; then head -n1 "$RES/grpc-$name.out"; else head -n1 "$RES/grpc-$name.log"; fi
    fi
    preflight "$name"
    taskset -c "$WRK_CPU" "$BIN/grpcload" "$ADDR" unary --token "$OUT/grpc_token.txt" \
      -c "$GRPC_CONNS" -m "$GRPC_STREAMS" -d "$WARMUP" > "$RES/grpc-$name-warmup-$run.txt" 2>&1
    for case in $(cases_of "$name"); do
      run_grpc "$name" "$case" "$run"
    done
    stop_server
  done
done

# Medians over each case's runs; ratios from this run's medians; the targets:
# the example's authorised unary call >= 0.95x its public Health/Check and >=
# 1.0x the hand-written interceptor with a fresh token per call; its long
# stream >= 0.95x the bare one (authorised once per stream: per message, the
# stream would pay STREAM_TIMES_LONG authorisations, and what the layers add
# per stream would grow tenfold from the short stream's). Each ratio is also
# given by the servers' CPU time per call, which a busy machine skews less
# than calls/s.
awk -F"\t" -v runs="$RUNS" -v servers="${GRPC_SERVERS[*]}" -v times="$STREAM_TIMES" -v long="$STREAM_TIMES_LONG" \
    -v conns="$GRPC_CONNS" -v streams="$GRPC_STREAMS" -v duration="$DURATION" -v fresh="$FRESH" '
  function median(list,   n, a, i, j, t) {
    n = split(list, a, " ")
    if (n == 0) return 0
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  function ratio(a, b) { return (a > 0 && b > 0) ? sprintf("%.2f", a / b) : "n/a" }
  # "A / B = calls/s ratio (by server CPU per call: the inverse ratio of us/call)"
  function both(label, a, b) { printf "- %s = %s (by server CPU time per call: %s)\n", label, ratio(m[a], m[b]), ratio(u[b], u[a]) }
  function verdict(value, min) { return (value != "n/a" && value + 0 >= min) ? "met" : "NOT met" }
  # On calls/s, and on the server CPU time per call for comparison.
  function target(name, a, b, min,   r, c) {
    r = ratio(m[a], m[b]); c = ratio(u[b], u[a])
    printf "- %s = %s (target >= %s): %s (by server CPU time per call: %s, %s)\n", name, r, min, verdict(r, min), c, verdict(c, min)
  }
  NR == 1 { next }
  {
    k = $1 SUBSEP $2
    if (!(k in seen)) { seen[k] = 1; order[++nk] = k }
    calls[k] = calls[k] " " $4; msgs[k] = msgs[k] " " $5
    p50[k] = p50[k] " " $6; p99[k] = p99[k] " " $7; p999[k] = p999[k] " " $8
    cpu[k] = cpu[k] " " $13; us[k] = us[k] " " $14; ccpu[k] = ccpu[k] " " $15
    wrong[k] += $11
    if ($15 + 0 >= 90) hot = hot " " $1 "/" $2 "/" $3 " (" $15 "%)"
  }
  END {
    print "## gRPC load runs (grpc.sh)"
    print ""
    printf "grpcload -c%s -m%s (%d calls in flight), %s per run. stream: SayHelloStream with times = %s (stream-long: %s), a call being a whole stream (calls/s are streams/s). Latency: from the request to the trailers. Server CPU us/call: the server process'"'"'s CPU time over the right answers.\n", conns, streams, conns * streams, duration, times, long
    print ""
    print "| Server | Case | calls/s (median of " runs ") | The runs | messages/s | p50 ms | p99 ms | p99.9 ms | Server CPU % | Server CPU us/call | grpcload CPU % | Wrong answers |"
    print "|---|---|---|---|---|---|---|---|---|---|---|---|"
    for (i = 1; i <= nk; i++) {
      k = order[i]; split(k, sc, SUBSEP); m[k] = median(calls[k]); u[k] = median(us[k])
      printf "| %s | %s | %.0f |%s | %.0f | %.3f | %.3f | %.3f | %.0f | %.1f | %.0f | %d |\n", sc[1], sc[2], m[k], calls[k], median(msgs[k]), median(p50[k]), median(p99[k]), median(p999[k]), median(cpu[k]), u[k], median(ccpu[k]), wrong[k]
    }
    e = "grpc_example"; b = "grpc_bare"; j = "grpc_interceptor"
    print ""
    print "Ratios (calls/s, medians):"
    both("example SayHello reused / example Health", e SUBSEP "unary-reused", e SUBSEP "health")
    both("bare SayHello / bare Health (the same, without authentication)", b SUBSEP "unary-reused", b SUBSEP "health")
    both("bare SayHello without a token / bare Health (the cost of the token bytes alone, to a server that never reads them)", b SUBSEP "unary-notoken", b SUBSEP "health")
    both("example SayHello reused / example Health with the same token (authorising alone: both calls carry the token)", e SUBSEP "unary-reused", e SUBSEP "health-token")
    both("bare SayHello / bare Health with the same token (the same, without authentication)", b SUBSEP "unary-reused", b SUBSEP "health-token")
    both("example SayHello reused / bare SayHello", e SUBSEP "unary-reused", b SUBSEP "unary-reused")
    both("example SayHello reused / interceptor SayHello reused", e SUBSEP "unary-reused", j SUBSEP "unary-reused")
    both("example SayHello fresh / interceptor SayHello fresh", e SUBSEP "unary-fresh", j SUBSEP "unary-fresh")
    both("example stream / bare stream", e SUBSEP "stream-reused", b SUBSEP "stream-reused")
    both("example stream / interceptor stream", e SUBSEP "stream-reused", j SUBSEP "stream-reused")
    both("example long stream / bare long stream", e SUBSEP "stream-long", b SUBSEP "stream-long")
    s1 = e SUBSEP "stream-reused"; s2 = b SUBSEP "stream-reused"; l1 = e SUBSEP "stream-long"; l2 = b SUBSEP "stream-long"
    if ((s1 in seen) && (s2 in seen) && (l1 in seen) && (l2 in seen))
      printf "- what the example adds to a stream, in server CPU time: %.1f us with %s messages, %.1f us with %s (authorised per message, it would grow %.0f-fold)\n", u[s1] - u[s2], times, u[l1] - u[l2], long, long / times
    print ""
    print "Targets:"
    target("example SayHello reused / example Health", e SUBSEP "unary-reused", e SUBSEP "health", 0.95)
    target("example SayHello fresh / interceptor SayHello fresh", e SUBSEP "unary-fresh", j SUBSEP "unary-fresh", 1.0)
    target("example long stream / bare long stream (authorised once per stream)", e SUBSEP "stream-long", b SUBSEP "stream-long", 0.95)
    bad = 0
    for (k in wrong) bad += wrong[k]
    printf "- every answer right (grpc-status 0, the expected body): %s\n", bad ? "NO, " bad " wrong (see grpc-raw.tsv)" : "yes"
    if (fresh <= 4096) { print ""; print "Note: FRESH = " fresh " distinct tokens, no more than rampgate'"'"'s default token cache holds (4096): the example'"'"'s fresh-token calls were cache hits." }
    if (hot != "") { print ""; print "Note: grpcload neared 100 % of its core in" hot ": those runs may measure the client, not the server." }
  }' "$RES/grpc-raw.tsv" > "$RES/grpc-summary.md"
echo
cat "$RES/grpc-summary.md"
# summary.md keeps the HTTP runs' section and takes this one, once.
if [ -f "$RES/summary.md" ]; then
  awk '/^## gRPC load runs/ { exit }
    /^$/ { blank++; next }
    { for (; blank > 0; blank--) print ""; print }' "$RES/summary.md" > "$RES/summary.md.tmp"
  mv "$RES/summary.md.tmp" "$RES/summary.md"
  if [ -s "$RES/summary.md" ]; then echo >> "$RES/summary.md"; fi
fi
cat "$RES/grpc-summary.md" >> "$RES/summary.md"
if [ "$FAILED" != 0 ]; then echo "some gRPC runs had wrong answers; see $RES/grpc-raw.tsv" >&2; exit 1; fi
