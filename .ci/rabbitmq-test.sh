#!/usr/bin/env bash
# RabbitMQ end-to-end test of the queue workers (issue #19 item 2): a private broker (Debian's rabbitmq-server as
# rabbit@localhost on 127.0.0.1:16872, distribution port 16873, everything under a temporary folder) gets 200 pictures
# from `depthsharp enqueue`: 195 copies and crops of fixture pictures and 5 broken ones planted among them. Workers A
# and B (the tiny Depth Anything model) consume the queue; A is killed with SIGKILL mid-run and C is started in its
# place, then stopped with SIGTERM mid-run (--finish-within 0: its picture in hand is cancelled and requeued, exit 0);
# B finishes the queue and is stopped with SIGTERM once it is empty. Then:
# - nothing lost: `depthsharp verify` finds every good picture done and only the broken ones failed (exit 2);
# - no output written twice, counted two ways: the "written" lines per picture in all workers' done logs
#   (.depthsharp/done-worker-HOST-PID.jsonl, appended once per picture after its JSON, the last file, is renamed into
#   place) and the workers' own "INPUT: OUTPUTS" lines, printed once per committed picture; the killed worker's
#   picture in hand is either not committed (redone by another) or committed and found up to date by the next worker;
# - the dead-letter queue holds exactly the broken pictures, read back with `depthsharp dead-letters` and counted by
#   rabbitmqctl, and the work queue is empty.
# Needs root, Debian's rabbitmq-server, python3 and the built tool (src/DepthSharp.Cli/bin/Release/net10.0).
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
started=$(date +%s)
. .ci/lib.sh
fail() { echo "rabbitmq test FAILED: $*" >&2; exit 1; }
dll="$(ensure_cli)"
tool=(dotnet "$dll")
fixtures="$(find_fixtures)" || fail "no shared/fixtures beside or above $repo"
model="$fixtures/models/depth_anything_tiny_relative"
images="$fixtures/images"
elapsed() { echo "$(($(date +%s) - started)) s"; }

work="$(mktemp -d /tmp/depthsharp-rabbitmq.XXXXXX)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  [ -f "$work/rabbit.pid" ] && kill "$(cat "$work/rabbit.pid")" 2>/dev/null || true
  [ -n "${broker:-}" ] && kill "$broker" 2>/dev/null || true
  sleep 1
  [ -n "${KEEP_RABBITMQ_TEST:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

# --- the broker, started now and awaited once the pictures are made: run as root straight from its own bin folder
# (Debian's wrappers switch to the rabbitmq user and its system folders), with its own HOME for the Erlang cookie
# that rabbitmqctl reads too ------------------------------------------------------------------------------------------
rabbit_env=(HOME="$work" RABBITMQ_NODENAME=rabbit@localhost RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT=16872
  RABBITMQ_DIST_PORT=16873 RABBITMQ_MNESIA_BASE="$work/mnesia" RABBITMQ_LOG_BASE="$work/log"
  RABBITMQ_ENABLED_PLUGINS_FILE="$work/enabled_plugins" RABBITMQ_PID_FILE="$work/rabbit.pid"
  RABBITMQ_CONFIG_FILE="$work/rabbitmq" RABBITMQ_ADVANCED_CONFIG_FILE="$work/advanced.config")
echo "[]." >"$work/enabled_plugins"
bin=/usr/lib/rabbitmq/bin
ctl() { env "${rabbit_env[@]}" "$bin/rabbitmqctl" -n rabbit@localhost -q "$@"; }
env "${rabbit_env[@]}" "$bin/rabbitmq-server" >"$work/server.out" 2>&1 &
broker=$!
amqp="amqp://guest:guest@127.0.0.1:16872/"
queue=pictures

# --- 200 pictures: fixture pictures copied, crops of them, and 5 broken ones among them --------------------------------
photos="$work/photos"
make_pictures "$images" "$photos" 195 "${tool[@]}" || fail "could not make the pictures"
# Broken pictures, named to sort among the good ones: each is refused by the decoder (ImageFormatException).
cp "$images/bad_truncated.jpg" "$photos/copies/grayscale-broken-1.jpg"
cp "$images/bad_header_only.jpg" "$photos/crops/baseline-broken-2.jpg"
cp "$images/bad_not_an_image.png" "$photos/crops/png_rgb-broken-3.png"
cp "$images/bad_crc.png" "$photos/copies/png_palette-broken-4.png"
head -c 2000 "$photos/copies/$(ls "$photos/copies" | grep -m1 '^baseline.*\.jpg$')" >"$photos/copies/baseline-broken-5.jpg"
broken="$(find "$photos" -name '*-broken-*' | sort)"
count=$(find "$photos" -type f | wc -l)
[ "$count" -eq 200 ] && [ "$(wc -l <<<"$broken")" -eq 5 ] || fail "made $count pictures, not 200 with 5 broken"

ctl wait --timeout 120 "$work/rabbit.pid" >/dev/null || { tail -n 30 "$work/server.out" >&2; fail "the broker did not start"; }
ctl list_feature_flags name state | grep -qP '^quorum_queue\tenabled' || fail "the quorum_queue feature flag is not enabled"
echo "rabbitmq test: 200 pictures made and the broker up after $(elapsed)"

# --- enqueue ----------------------------------------------------------------------------------------------------------
code=0
"${tool[@]}" enqueue "$photos" --amqp "amqp://guest:guest@127.0.0.1:16999/" --queue "$queue" 2>"$work/unreachable.txt" || code=$?
[ "$code" -eq 75 ] && [ "$(wc -l <"$work/unreachable.txt")" -eq 1 ] && grep -q "127.0.0.1:16999" "$work/unreachable.txt" \
  || fail "enqueue to a closed port: exit $code, $(cat "$work/unreachable.txt")"
"${tool[@]}" enqueue "$photos" --amqp "$amqp" --queue "$queue" 2>"$work/enqueue.txt" || { cat "$work/enqueue.txt" >&2; fail "enqueue"; }
queued() { ctl list_queues name messages_ready messages_unacknowledged | awk -v q="$1" '$1 == q { print $2, $3 }'; }
# The broker's queue counts lag a few seconds behind.
all_queued() { read -r ready unacked < <(queued "$queue"); [ "$ready" -eq 200 ]; }
wait_for 20 all_queued || fail "$ready messages on the queue after enqueue, not 200"
echo "rabbitmq test: 200 pictures enqueued after $(elapsed)"

# --- the workers ------------------------------------------------------------------------------------------------------
out="$work/out"
options=(--model "$model" --format npy color --threads 1)
start_worker() { # NAME [extra options]: starts a worker, its stderr in $work/NAME.log, its pid in $work/NAME.pid
  local name="$1"; shift
  "${tool[@]}" worker --amqp "$amqp" --queue "$queue" --output "$out" "${options[@]}" "$@" 2>"$work/$name.log" &
  echo $! >"$work/$name.pid"
  pids+=($!)
}
done_by() { grep -c '^/.*\.json$' "$work/$1.log" || true; }
start_worker a
start_worker b
test_done() { [ "$(done_by "$1")" -ge "$2" ]; }
wait_for 120 test_done a 20 || { tail "$work/a.log" >&2; fail "worker a did not get through 20 pictures"; }
kill -9 "$(cat "$work/a.pid")"
echo "rabbitmq test: worker a killed (SIGKILL) after $(done_by a) pictures, $(elapsed)"
start_worker c --finish-within 0
wait_for 120 test_done c 10 || { tail "$work/c.log" >&2; fail "worker c did not get through 10 pictures"; }
kill -TERM "$(cat "$work/c.pid")"
code=0
wait_for 15 bash -c "! kill -0 $(cat "$work/c.pid") 2>/dev/null" || fail "worker c still running 15 s after SIGTERM"
wait "$(cat "$work/c.pid")" || code=$?
[ "$code" -eq 0 ] || { tail "$work/c.log" >&2; fail "worker c exited $code after SIGTERM"; }
grep -q '^worker stopped' "$work/c.log" || fail "worker c did not say it stopped"
echo "rabbitmq test: worker c stopped (SIGTERM) after $(done_by c) pictures: $(grep -c 'requeued$' "$work/c.log" || true) requeued, $(elapsed)"
empty() { read -r ready unacked < <(queued "$queue"); [ "$ready" -eq 0 ] && [ "$unacked" -eq 0 ]; }
wait_for 150 empty || { tail "$work/b.log" >&2; fail "the queue is not empty: $(queued "$queue")"; }
kill -TERM "$(cat "$work/b.pid")"
code=0
wait "$(cat "$work/b.pid")" || code=$?
[ "$code" -eq 0 ] || { tail "$work/b.log" >&2; fail "worker b exited $code after SIGTERM"; }
echo "rabbitmq test: queue drained, worker b stopped after $(done_by b) pictures, $(elapsed)"

# --- nothing lost -----------------------------------------------------------------------------------------------------
code=0
"${tool[@]}" verify "$photos" --output "$out" >"$work/verify.txt" 2>&1 || code=$?
[ "$code" -eq 2 ] || { cat "$work/verify.txt" >&2; fail "verify exited $code, not 2 (only the broken pictures failed)"; }
grep -q '^missing' "$work/verify.txt" && fail "verify: pictures missing: $(grep '^missing' "$work/verify.txt")"
[ "$(grep '^failed' "$work/verify.txt" | cut -f2 | sort)" = "$(sed "s|^$photos/||" <<<"$broken")" ] \
  || fail "verify's failed pictures are not the broken ones: $(grep '^failed' "$work/verify.txt")"

# --- no output written twice ------------------------------------------------------------------------------------------
read -r distinct total twice uptodate missing < <(python3 - "$out"/.depthsharp/done-worker-*.jsonl <<'PY'
import collections, json, sys
lines = [json.loads(l) for f in sys.argv[1:] for l in open(f)]
written = collections.Counter(l["path"] for l in lines if l["status"] == "written")
up = {l["path"] for l in lines if l["status"] == "up-to-date"}
failed = {l["path"] for l in lines if l["status"] == "failed"}
good = {l["path"] for l in lines} - failed
print(len(written), sum(written.values()), sum(1 for c in written.values() if c > 1), len(up), len(good - set(written) - up))
PY
)
[ "$twice" -eq 0 ] || fail "done logs: $twice pictures written more than once"
[ "$missing" -eq 0 ] || fail "done logs: $missing good pictures neither written nor found up to date"
# Only the killed worker's picture in hand can have been committed without its "written" line or acknowledgement.
[ "$distinct" -ge 194 ] && [ "$total" -eq "$distinct" ] || fail "done logs: $distinct pictures written, $total writes"
commits=$(cat "$work"/{a,b,c}.log | grep -c '^/.*\.json$' || true)
repeated=$(cat "$work"/{a,b,c}.log | grep '^/.*\.json$' | cut -d: -f1 | sort | uniq -d | wc -l)
[ "$repeated" -eq 0 ] || fail "worker logs: $repeated pictures committed twice"
leftovers="$(find "$out" -name '*.tmp' | grep -v "\.$(cat "$work/a.pid")\.[0-9a-f]*\.tmp$" || true)"
[ -z "$leftovers" ] || fail "temporary files left by a worker that was not killed: $leftovers"

# --- the dead-letter queue holds exactly the broken pictures ----------------------------------------------------------
"${tool[@]}" dead-letters --amqp "$amqp" --queue "$queue" >"$work/dead.txt" 2>/dev/null || fail "dead-letters"
[ "$(cut -f2 "$work/dead.txt" | sort)" = "$broken" ] || fail "dead letters: $(cat "$work/dead.txt"), expected $broken"
[ "$(cut -f1 "$work/dead.txt" | sort -u)" = "rejected" ] || fail "dead letters not all rejected: $(cut -f1 "$work/dead.txt" | sort | uniq -c)"
read -r dead _ < <(queued "$queue.dead")
read -r ready unacked < <(queued "$queue")
[ "$dead" -eq 5 ] && [ "$ready" -eq 0 ] && [ "$unacked" -eq 0 ] || fail "rabbitmqctl: $dead dead letters, $ready ready, $unacked unacknowledged"
# --- the delivery limit: a picture removed after it was enqueued fails on every delivery -------------------------------
mkdir -p "$work/vanishing"
cp "$images/baseline_420_q75.jpg" "$work/vanishing/gone.jpg"
limit=(--queue vanishing --delivery-limit 2)
"${tool[@]}" enqueue "$work/vanishing" --amqp "$amqp" "${limit[@]}" 2>/dev/null || fail "enqueue on the vanishing queue"
rm "$work/vanishing/gone.jpg"
"${tool[@]}" worker --amqp "$amqp" "${limit[@]}" --output "$work/vanishing-out" "${options[@]}" 2>"$work/d.log" &
pids+=($!)
dead_lettered() { read -r n _ < <(queued vanishing.dead); [ "${n:-0}" -eq 1 ]; }
wait_for 60 dead_lettered || { tail "$work/d.log" >&2; fail "the vanished picture was not dead-lettered"; }
kill -TERM "${pids[-1]}"
wait "${pids[-1]}" || fail "worker d exited $? after SIGTERM"
returns=$(grep -c 'requeued (delivery' "$work/d.log" || true)
[ "$returns" -ge 2 ] || fail "worker d requeued the vanished picture $returns times"
"${tool[@]}" dead-letters --amqp "$amqp" "${limit[@]}" >"$work/dead-limit.txt" 2>/dev/null || fail "dead-letters on the vanishing queue"
[ "$(cat "$work/dead-limit.txt")" = "$(printf 'delivery_limit\t%s' "$work/vanishing/gone.jpg")" ] \
  || fail "vanishing.dead: $(cat "$work/dead-limit.txt")"
echo "rabbitmq test: a vanished picture dead-lettered (delivery_limit) after $returns requeues, $(elapsed)"

echo "rabbitmq test: 200 pictures, 195 done ($total written once each, $commits commit lines, $uptodate found up to date after a redelivery), the 5 broken ones dead-lettered: $(elapsed) (load average $(cut -d' ' -f1 /proc/loadavg))"
