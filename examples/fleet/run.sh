#!/usr/bin/env bash
# Two rampgate replicas sharing revocations through one Redis, on loopback.
#
#   examples/fleet/run.sh            # from anywhere; Ctrl-C stops everything
#
# Needs bash 4.3 or later, curl for the printed commands, and redis-server.
#
# Starts, each on a free loopback port, in a temporary directory of its own:
#   - one redis-server, persistence off (no RDB, no AOF);
#   - one issuer shared by both replicas: by default a third quickstart process
#     used only for its embedded DEVELOPMENT issuer (it mints tokens for anyone:
#     never expose it beyond loopback), or the issuer you name with
#     RAMPGATE_ISSUER and RAMPGATE_AUDIENCE (and RAMPGATE_JWKS_URL, else OIDC
#     discovery);
#   - two quickstart replicas (built with `--features redis`), each with
#     RAMPGATE_REDIS_URL pointing at that redis-server and its own audit file.
# Then prints the commands to try them and to revoke a token with the
# `rampgate` CLI, and waits. On exit (Ctrl-C, SIGTERM, or a failed step) it
# stops every process it started and removes its directory.
#
# Environment:
#   QUICKSTART        the quickstart binary (default: built here with cargo)
#   FLEET_CLI      the rampgate CLI binary (default: built here with cargo)
#   REDIS_SERVER      the redis-server binary (default: redis-server on PATH)
#   FLEET_REDIS_PORT  redis-server's port (default: a free one)
#   FLEET_ADDR_A, FLEET_ADDR_B  the replicas' listen addresses (default 127.0.0.1:0)
#   RAMPGATE_CONFIG   passed to both replicas (e.g. [revocation] max_stale_secs, [admin])
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
dir=$(mktemp -d "${TMPDIR:-/tmp}/rampgate-fleet.XXXXXX")
pids=()

cleanup() {
    trap - EXIT INT TERM
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

die() {
    echo "fleet: $*" >&2
    exit 1
}

# Waits until 127.0.0.1:$1 accepts connections (bash's /dev/tcp), 10 s at most.
wait_port() {
    for _ in $(seq 1 200); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
            return 0
        fi
        sleep 0.05
    done
    return 1
}

# Waits until file $1 has a line matching $2 (process $3 must stay alive); prints it.
wait_line() {
    for _ in $(seq 1 1200); do
        if grep -m1 -e "$2" "$1" 2>/dev/null; then
            return 0
        fi
        kill -0 "$3" 2>/dev/null || { cat "$1" "$1.err" >&2 2>/dev/null; die "process $3 exited (output above)"; }
        sleep 0.1
    done
    die "no line matching '$2' in $1 within 120 s"
}

# The `jti` claim of a JWT (decoded, NOT verified: only to print it).
jti_of() {
    local payload
    payload=$(printf '%s' "$1" | cut -d. -f2 | tr '_-' '/+')
    case $(( ${#payload} % 4 )) in
        2) payload="$payload==" ;;
        3) payload="$payload=" ;;
    esac
    printf '%s' "$payload" | base64 -d 2>/dev/null | sed -n 's/.*"jti":"\([^"]*\)".*/\1/p'
}

# --- binaries -----------------------------------------------------------------
redis_server=${REDIS_SERVER:-redis-server}
command -v "$redis_server" >/dev/null 2>&1 \
    || die "redis-server not found: install it (apt-get install redis-server, brew install redis) or set REDIS_SERVER"
if [ -z "${QUICKSTART:-}" ]; then
    (cd "$root" && cargo build --quiet --example quickstart --features redis)
    QUICKSTART=$target/debug/examples/quickstart
fi
if [ -z "${FLEET_CLI:-}" ]; then
    (cd "$root" && cargo build --quiet -p rampgate-cli --bin rampgate)
    FLEET_CLI=$target/debug/rampgate
fi

# --- redis-server -------------------------------------------------------------
port=${FLEET_REDIS_PORT:-}
if [ -z "$port" ]; then
    for _ in $(seq 1 50); do
        candidate=$(( 20000 + RANDOM % 40000 ))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then
            port=$candidate
            break
        fi
    done
    [ -n "$port" ] || die "no free port found for redis-server"
fi
"$redis_server" --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
    --protected-mode yes --dir "$dir" >"$dir/redis.log" 2>&1 &
pids+=($!)
wait_port "$port" || { cat "$dir/redis.log" >&2; die "redis-server did not start on port $port"; }
redis_url=redis://127.0.0.1:$port

# --- the shared issuer --------------------------------------------------------
token=""
other=""
if [ -z "${RAMPGATE_ISSUER:-}" ]; then
    env -u RAMPGATE_CONFIG -u RAMPGATE_CONTRACT -u RAMPGATE_REDIS_URL -u RAMPGATE_AUDIT \
        -u RAMPGATE_JWKS_URL -u RAMPGATE_AUDIENCE \
        RAMPGATE_ADDR=127.0.0.1:0 "$QUICKSTART" >"$dir/issuer.out" 2>"$dir/issuer.out.err" &
    pid_issuer=$!
    pids+=("$pid_issuer")
    line=$(wait_line "$dir/issuer.out" '^embedded dev issuer: ' "$pid_issuer")
    # "embedded dev issuer: http://127.0.0.1:PORT (audience AUD)"
    RAMPGATE_ISSUER=$(printf '%s' "$line" | sed -n 's/^embedded dev issuer: \([^ ]*\) (audience \(.*\))$/\1/p')
    RAMPGATE_AUDIENCE=$(printf '%s' "$line" | sed -n 's/^embedded dev issuer: \([^ ]*\) (audience \(.*\))$/\2/p')
    # Its printed tokens, valid for an hour: alice's (for /me) and bob's.
    wait_line "$dir/issuer.out" 'insufficient_scope' "$pid_issuer" >/dev/null
    token=$(grep -m1 "Bearer .*/me *$" "$dir/issuer.out" | sed -n "s/.*Bearer \([^']*\)'.*/\1/p")
    other=$(grep -m1 'insufficient_scope' "$dir/issuer.out" | sed -n "s/.*Bearer \([^']*\)'.*/\1/p")
    [ -n "$RAMPGATE_ISSUER" ] && [ -n "$token" ] && [ -n "$other" ] \
        || die "could not read the dev issuer's address and tokens from $dir/issuer.out"
fi
: "${RAMPGATE_AUDIENCE:?RAMPGATE_ISSUER is set: set RAMPGATE_AUDIENCE too}"

# --- the replicas -------------------------------------------------------------
start_replica() { # name addr (not in a subshell: its pid joins $pids)
    env RAMPGATE_ADDR="$2" RAMPGATE_ISSUER="$RAMPGATE_ISSUER" RAMPGATE_AUDIENCE="$RAMPGATE_AUDIENCE" \
        RAMPGATE_REDIS_URL="$redis_url" RAMPGATE_AUDIT="$dir/audit-$1.jsonl" \
        "$QUICKSTART" >"$dir/$1.out" 2>"$dir/$1.out.err" &
    pids+=($!)
}
start_replica a "${FLEET_ADDR_A:-127.0.0.1:0}"
pid_a=$!
start_replica b "${FLEET_ADDR_B:-127.0.0.1:0}"
pid_b=$!
addr_a=$(wait_line "$dir/a.out" '^listening on ' "$pid_a" | sed 's/^listening on //')
addr_b=$(wait_line "$dir/b.out" '^listening on ' "$pid_b" | sed 's/^listening on //')

cat <<INFO

fleet ready (logs and audit files in $dir, removed on exit)
  redis-server  $redis_url (persistence off)
  issuer        $RAMPGATE_ISSUER (audience $RAMPGATE_AUDIENCE)
  replica a     http://$addr_a  (audit: $dir/audit-a.jsonl)
  replica b     http://$addr_b  (audit: $dir/audit-b.jsonl)

In another shell:
export FLEET_REDIS_URL=$redis_url
export FLEET_A=http://$addr_a
export FLEET_B=http://$addr_b
export FLEET_CLI=$FLEET_CLI
INFO
if [ -n "$token" ]; then
    cat <<INFO
export TOKEN=$token
export OTHER=$other
export JTI=$(jti_of "$token")

Both replicas accept both tokens (200):
  for r in "\$FLEET_A" "\$FLEET_B"; do for t in "\$TOKEN" "\$OTHER"; do
    curl -s -o /dev/null -w '%{http_code} ' -H "Authorization: Bearer \$t" "\$r/me"; done; echo; done
INFO
else
    cat <<INFO
export TOKEN=...   # a token of $RAMPGATE_ISSUER for $RAMPGATE_AUDIENCE, with a jti
export JTI=...     # its jti
INFO
fi
cat <<'INFO'
Revoke the token's jti for the whole fleet, through Redis (no token, no replica needed):
  "$FLEET_CLI" revoke jti "$JTI" --until 1h --redis "$FLEET_REDIS_URL"
  "$FLEET_CLI" revocations list --redis "$FLEET_REDIS_URL"
Both replicas now refuse it (401 token_revoked_jti) and still accept the other:
  curl -s -H "Authorization: Bearer $TOKEN" "$FLEET_A/me"; echo
  curl -s -H "Authorization: Bearer $TOKEN" "$FLEET_B/me"; echo
  curl -s -H "Authorization: Bearer $OTHER" "$FLEET_B/me"; echo
Each replica's health (revocations: connected, synced, stale_secs) and metrics:
  curl -s "$FLEET_A/ready"; echo
  curl -s "$FLEET_B/metrics" | grep rampgate_revocation
Lift it again:
  "$FLEET_CLI" revocations remove jti "$JTI" --redis "$FLEET_REDIS_URL"

Ctrl-C stops the fleet.
INFO

# Until interrupted, or until one of the processes exits.
wait -n "${pids[@]}" || true
die "a process of the fleet exited; its output is in $dir (about to be removed):
$(tail -n 5 "$dir"/*.out.err "$dir/redis.log" 2>/dev/null)"
