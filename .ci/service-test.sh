#!/usr/bin/env bash
# The service scaled out, for real, on loopback: Debian's redis-server, three `depthsharp serve` replicas of the tiny
# Depth Anything fixture sharing results through it, and Debian's haproxy in front with deploy/haproxy/haproxy.cfg.
# Checks: every replica serves requests; a repeated picture is answered from the cache by a replica that did not
# compute it, and its result links work on any replica; the results equal `depthsharp estimate`'s (npy bytes); one
# replica killed (SIGKILL) under load leaves at most KILL_BOUND failed requests; one stopped with SIGTERM refuses new
# connections but finishes the requests it holds (drain) and exits 0; with Redis gone the service still answers, by computing.
# Called by .ci/run (which installs haproxy and redis-server); runs alone too after a Release build. KEEP=1 keeps its
# work folder (the replicas', Redis's and HAProxy's logs) instead of deleting it.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
start=$SECONDS
. .ci/lib.sh
fail() { echo "service: $*" >&2; exit 1; }

fixtures="$(find_fixtures)" || fail "no shared/fixtures beside or above the repository"
model="$fixtures/models/depth_anything_tiny_relative"
photo="$fixtures/images/exif_focal_35mm.jpg"
cli="$(ensure_cli)"
load="$repo/.ci/service-load.py"

# Requests in flight at once in the kill test, and the failures it may leave: at most those in flight on the killed
# replica, which HAProxy replays on another (retry-on empty-response, option redispatch), so 0 is what it should see.
CONCURRENCY=6
KILL_BOUND=$CONCURRENCY

work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
show_logs() { for f in "$work"/*.log; do echo "--- $f" >&2; tail -n 20 "$f" >&2; done; }
json() { python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2], {}, {"d": d}))' "$@"; }

# --- Redis, three replicas, HAProxy ------------------------------------------------------------------------------
redis_port="$(free_port)"
redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no >"$work/redis.log" 2>&1 &
redis_pid=$!
pids+=("$redis_pid")

declare -A replica_port replica_pid
for n in 1 2 3; do
  replica_port[$n]="$(free_port)"
  dotnet "$cli" serve --model "$model" --urls "http://127.0.0.1:${replica_port[$n]}" --threads 1 --max-queue 16 \
    --redis "127.0.0.1:$redis_port" --replica-name "replica$n" --forwarded-headers --shutdown-timeout 20 \
    >"$work/replica$n.log" 2>&1 &
  replica_pid[$n]=$!
  pids+=("${replica_pid[$n]}")
done
for n in 1 2 3; do
  wait_url "http://127.0.0.1:${replica_port[$n]}/api/health" 120 || { show_logs; fail "replica$n never became healthy"; }
done

lb_port="$(free_port)"
DEPTHSHARP_LISTEN="127.0.0.1:$lb_port" DEPTHSHARP_REPLICA_1="127.0.0.1:${replica_port[1]}" \
DEPTHSHARP_REPLICA_2="127.0.0.1:${replica_port[2]}" DEPTHSHARP_REPLICA_3="127.0.0.1:${replica_port[3]}" \
  haproxy -db -f deploy/haproxy/haproxy.cfg >"$work/haproxy.log" 2>&1 &
pids+=($!)
lb="http://127.0.0.1:$lb_port"
wait_url "$lb/api/health" 30 || { show_logs; fail "haproxy never answered"; }
echo "service: redis, 3 replicas and haproxy up after $((SECONDS - start)) s"

python3 "$load" pictures "$work/pictures" 300

# --- every replica serves -----------------------------------------------------------------------------------------
declare -A served computed_by
for i in 0 1 2 3 4 5; do
  line="$(python3 "$load" post "$lb" "$work/pictures/picture000$i.png" "$work/answer$i.json")"
  [ "$(json <(echo "$line") 'd["status"]')" = 200 ] || { show_logs; fail "picture $i: $line"; }
  [ "$(json <(echo "$line") 'd["cache"]')" = miss ] || fail "a new picture was not a cache miss: $line"
  by="$(json <(echo "$line") 'd["served_by"]')"
  [ "$(json <(echo "$line") 'd["computed_by"]')" = "$by" ] || fail "a miss was not computed by the replica that served it: $line"
  served[$by]=1
  computed_by[$i]="$by"
done
[ "${#served[@]}" = 3 ] || fail "round robin reached ${!served[*]}, not all three replicas"
echo "service: six new pictures through haproxy were computed by ${!served[*]}"

# --- a repeated picture comes from the cache, from a replica that did not compute it --------------------------------
hit=""
for _ in 1 2 3; do
  line="$(python3 "$load" post "$lb" "$work/pictures/picture0000.png" "$work/again.json")"
  [ "$(json <(echo "$line") 'd["cache"]')" = hit ] || fail "the repeated picture was not a cache hit: $line"
  [ "$(json <(echo "$line") 'd["computed_by"]')" = "${computed_by[0]}" ] || fail "the hit names another computing replica: $line"
  if [ "$(json <(echo "$line") 'd["served_by"]')" != "${computed_by[0]}" ]; then hit="$line"; break; fi
done
[ -n "$hit" ] || fail "the repeated picture was never served by a replica other than ${computed_by[0]}"
[ "$(json "$work/answer0.json" 'sorted(d.items())')" = "$(json "$work/again.json" 'sorted(d.items())')" ] \
  || fail "the cached answer differs from the computed one"
echo "service: the repeated picture was a cache hit: $hit"

# Its links work on every replica, the one that computed it and the others (from Redis).
id="$(json "$work/answer0.json" 'd["id"]')"
for n in 1 2 3; do
  curl -fsS -o "$work/result$n.npy" "http://127.0.0.1:${replica_port[$n]}/api/results/$id/npy" || fail "replica$n has no /api/results/$id/npy"
  [ "$(curl -fsS "http://127.0.0.1:${replica_port[$n]}/api/results/$id" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')" = "$id" ] \
    || fail "replica$n's /api/results/$id is not that result"
  cmp -s "$work/result1.npy" "$work/result$n.npy" || fail "replica$n's npy differs from replica1's"
done

# --- results equal the library's ----------------------------------------------------------------------------------
mkdir -p "$work/library"
cp "$work/pictures/picture0000.png" "$photo" "$work/library/"
dotnet "$cli" estimate "$work/library/picture0000.png" "$work/library/$(basename "$photo")" --model "$model" --threads 1 \
  --format npy --output "$work/estimate" 2>"$work/estimate.log" || { cat "$work/estimate.log" >&2; fail "depthsharp estimate failed"; }
cmp "$work/estimate/picture0000.npy" "$work/result1.npy" || fail "the service's depth for picture0000 differs from depthsharp estimate's"
line="$(python3 "$load" post "$lb" "$photo" "$work/photo.json")"
photo_id="$(json <(echo "$line") 'd["id"]')"
curl -fsS -o "$work/photo.npy" "$lb/api/results/$photo_id/npy"
cmp "$work/estimate/$(basename "${photo%.*}").npy" "$work/photo.npy" || fail "the service's depth for $(basename "$photo") differs from depthsharp estimate's"
echo "service: npy bytes equal depthsharp estimate's for picture0000.png and $(basename "$photo")"

# --- one replica killed under load --------------------------------------------------------------------------------
python3 "$load" load "$lb" "$work/pictures" 100 120 "$CONCURRENCY" "${replica_pid[2]}" 30 "$work/kill.json"
wait "${replica_pid[2]}" 2>/dev/null || true
echo "service: SIGKILL to replica2 after 30 of 120 answers ($CONCURRENCY at a time): $(json "$work/kill.json" \
  '"%d failed, %d ok, by replica %s, in %s s" % (d["failed"], d["ok"], d["by_replica"], d["seconds"])')"
failed="$(json "$work/kill.json" 'd["failed"]')"
[ "$failed" -le "$KILL_BOUND" ] || { json "$work/kill.json" 'd["failures"]' >&2; fail "$failed requests failed with replica2 killed (bound $KILL_BOUND)"; }
[ "$(json "$work/kill.json" 'd["by_replica"].get("replica2", 0)')" -gt 0 ] || fail "replica2 served nothing before it was killed"
# HAProxy's log: the requests it sent to the dead replica and replayed (retries field, after the termination state).
retried="$(python3 -c 'import re, sys; print(sum(1 for l in open(sys.argv[1]) if (m := re.search(r" [-A-Za-z]{4} \d+/\d+/\d+/\d+/\+?(\d+) ", l)) and int(m[1]) > 0))' "$work/haproxy.log")"
echo "service: haproxy replayed $retried request(s) on another replica"
[ "$retried" -gt 0 ] || fail "no request reached the killed replica: the kill was not exercised"

# --- one replica stopped with SIGTERM drains the requests it holds ---------------------------------------------------
# Sent to replica3 directly (HAProxy would replay a cut request elsewhere and hide a missing drain): four requests
# begun (each past the server's 100 Continue, half of its picture sent), SIGTERM, then the rest once the listener is closed. A drained
# server closes its listener (a new connection is refused: the balancer goes elsewhere) and answers all four.
python3 "$load" drain "http://127.0.0.1:${replica_port[3]}" "$work/pictures" 220 4 "${replica_pid[3]}" "$work/drain.json"
code=0; wait "${replica_pid[3]}" || code=$?
echo "service: SIGTERM to replica3 with 4 requests half sent: $(json "$work/drain.json" \
  '"%d of 4 answered 200 after the signal, new connection refused: %s" % (d["ok"], d["new_connection_refused"])'), exit code $code"
[ "$(json "$work/drain.json" 'd["ok"]')" = 4 ] || { json "$work/drain.json" 'd["answers"]' >&2; fail "replica3 cut requests it held"; }
[ "$(json "$work/drain.json" 'set(a["served_by"] for a in d["answers"]) == {"replica3"}')" = True ] || fail "the drained answers did not come from replica3"
[ "$(json "$work/drain.json" 'd["new_connection_refused"]')" = True ] || fail "replica3 still accepted connections after SIGTERM"
[ "$code" = 0 ] || fail "replica3 exited with $code after SIGTERM"
grep -q '^stopped$' "$work/replica3.log" || fail "replica3 did not log its stop"

# --- Redis gone: still answering, by computing -----------------------------------------------------------------------
kill "$redis_pid"; wait "$redis_pid" 2>/dev/null || true
line="$(python3 "$load" post "$lb" "$work/pictures/picture0299.png" "$work/noredis.json")"
[ "$(json <(echo "$line") 'd["status"]')" = 200 ] && [ "$(json <(echo "$line") 'd["cache"]')" = unavailable ] \
  || { show_logs; fail "without Redis: $line"; }
curl -fsS "$lb/api/health" | grep -q '"status":"degraded"' || fail "/api/health is not degraded without Redis"
grep -q "Redis at 127.0.0.1:$redis_port is unreachable" "$work/replica1.log" || fail "replica1 did not log Redis's outage"
echo "service: without Redis the remaining replica answered by computing (X-Cache: unavailable) and /api/health is degraded"

echo "service: passed in $((SECONDS - start)) s"
