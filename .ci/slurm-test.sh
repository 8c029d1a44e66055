#!/usr/bin/env bash
# Slurm end-to-end test of sharded batch runs (issue #19): a one-node cluster (munged, slurmctld, slurmd on loopback,
# ports 16817/16818, everything under a temporary folder) runs deploy/slurm/submit.sh on 200 pictures as
# --array=0-3%2. One running task is cancelled; its verify job must then never start (afterok), and verify must report
# missing pictures. The array is resubmitted; its verify job must complete with exit 0, every picture must have been
# written exactly once, and every output must be byte-identical to one single-process `estimate` of the same folder.
# "Written exactly once" is counted two ways: the "written" lines per picture in all done logs
# (.depthsharp/done-I-of-4.jsonl; a shard appends one right after a picture's JSON, its last file, is renamed into
# place), and the tasks' own "INPUT: OUTPUTS" lines in their Slurm logs, printed once per committed picture.
# Needs root, Debian's slurm-wlm and munge, python3 and the built tool (src/DepthSharp.Cli/bin/Release/net10.0).
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
started=$(date +%s)
. .ci/lib.sh
fail() { echo "slurm test FAILED: $*" >&2; exit 1; }
dll="$(ensure_cli)"
export DEPTHSHARP="dotnet $dll"
fixtures="$(find_fixtures)" || fail "no shared/fixtures beside or above $repo"
model="$fixtures/models/depth_anything_tiny_relative"
images="$fixtures/images"

work="$(mktemp -d /tmp/depthsharp-slurm.XXXXXX)"
chmod 755 "$work"
export SLURM_CONF="$work/slurm.conf"
cleanup() {
  scancel --quiet --full --user=root 2>/dev/null || true
  for pid in slurmd slurmctld munged; do
    [ -f "$work/$pid.pid" ] && kill "$(cat "$work/$pid.pid")" 2>/dev/null || true
  done
  sleep 1
  [ -n "${KEEP_SLURM_TEST:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

# --- the cluster ------------------------------------------------------------------------------------------------------
dd if=/dev/urandom of="$work/munge.key" bs=1024 count=1 status=none
chmod 400 "$work/munge.key"
munged --force --key-file="$work/munge.key" --socket="$work/munge.sock" --pid-file="$work/munged.pid" \
  --log-file="$work/munged.log" --seed-file="$work/munged.seed"
host="$(hostname -s)"
mkdir -p "$work/state" "$work/spool"
cat >"$SLURM_CONF" <<CONF
ClusterName=depthsharp
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmctldPort=16817
SlurmdPort=16818
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$work/munge.sock
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
MinJobAge=600
KillWait=10
NodeName=$host NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=batch Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
slurmctld -i
slurmd
for _ in $(seq 100); do
  sinfo -h -o %t 2>/dev/null | grep -qx idle && break
  sleep 0.2
done
sinfo -h -o %t | grep -qx idle || { cat "$work"/slurm*.log >&2; fail "the node did not come up"; }
echo "slurm test: cluster up after $(($(date +%s) - started)) s"

# --- 200 pictures: fixture pictures copied, and crops of them ---------------------------------------------------------
photos="$work/photos"
make_pictures "$images" "$photos" 200 dotnet "$dll" || fail "could not make the pictures"
count=$(find "$photos" -type f | wc -l)
[ "$count" -eq 200 ] || fail "made $count pictures, not 200"
options=(--model "$model" --format npy color)

# --- the reference: one process, the whole folder ---------------------------------------------------------------------
$DEPTHSHARP estimate "$photos" --output "$work/reference" --threads 1 "${options[@]}" 2>"$work/reference.log" \
  || { tail "$work/reference.log" >&2; fail "single-process estimate"; }
echo "slurm test: reference done after $(($(date +%s) - started)) s"

# --- first submission; one task cancelled mid-run ---------------------------------------------------------------------
out="$work/out"
read -r _ array1 _ verify1 < <(PARALLEL=2 deploy/slurm/submit.sh "$photos" "$out" "${options[@]}")
cancelled=""
for _ in $(seq 1200); do
  # A running task with some pictures done and most still to do.
  while read -r task; do
    [ -n "$task" ] || continue
    index="${task#*_}"
    log="$out/.depthsharp/done-$index-of-4.jsonl"
    lines=$( [ -f "$log" ] && wc -l <"$log" || echo 0)
    if [ "$lines" -ge 3 ] && [ "$lines" -le 30 ]; then
      scancel "$task"
      cancelled="$index"
      break 2
    fi
  done < <(squeue -h -r -t R -j "$array1" -o %i)
  sleep 0.1
done
[ -n "$cancelled" ] || fail "no array task could be caught mid-run"
echo "slurm test: cancelled task $cancelled after $(wc -l <"$out/.depthsharp/done-$cancelled-of-4.jsonl") pictures"
# The rest of the array ends; the verify job waits for a dependency that can never be met.
for _ in $(seq 1200); do
  [ -z "$(squeue -h -r -j "$array1" -o %i)" ] && break
  sleep 0.2
done
# slurmctld re-evaluates dependencies on its own schedule.
for _ in $(seq 300); do
  reason="$(squeue -h -j "$verify1" -o %r)"
  [ "$reason" = "DependencyNeverSatisfied" ] && break
  sleep 0.2
done
[ "$reason" = "DependencyNeverSatisfied" ] || fail "verify job $verify1 after a cancelled task: reason '$reason', not DependencyNeverSatisfied"
scancel "$verify1"
code=0
$DEPTHSHARP verify "$photos" --output "$out" >"$work/verify1.txt" 2>&1 || code=$?
[ "$code" -eq 3 ] || fail "verify after the cancelled task exited $code, not 3 (pictures missing)"
echo "slurm test: after the cancel, verify: $(tail -n 1 "$work/verify1.txt")"

# --- resubmission ---------------------------------------------------------------------------------------------------
read -r _ array2 _ verify2 < <(PARALLEL=2 deploy/slurm/submit.sh "$photos" "$out" "${options[@]}")
for _ in $(seq 1500); do
  [ -z "$(squeue -h -j "$array2,$verify2" -o %i)" ] && break
  sleep 0.2
done
state="$(scontrol -o show job "$verify2")"
grep -q "JobState=COMPLETED" <<<"$state" && grep -q "ExitCode=0:0" <<<"$state" \
  || { cat "$out"/.depthsharp/*.out >&2; fail "verify job $verify2: $(grep -o 'JobState=[A-Z_]* .*ExitCode=[0-9:]*' <<<"$state")"; }
$DEPTHSHARP verify "$photos" --output "$out" >/dev/null 2>&1 || fail "verify after the resubmission"

# --- written once, and byte-identical ---------------------------------------------------------------------------------
written="$(python3 - "$out"/.depthsharp/done-*-of-4.jsonl <<'PY'
import collections, json, sys
lines = [(f, json.loads(l)) for f in sys.argv[1:] for l in open(f)]
per = collections.Counter(l["path"] for _, l in lines if l["status"] == "written")
shards = collections.defaultdict(set)
for f, l in lines:
    shards[l["path"]].add(f)
print(len(per), sum(per.values()), sum(1 for c in per.values() if c != 1),
      sum(1 for s in shards.values() if len(s) != 1), sum(1 for _, l in lines if l["status"] == "up-to-date"))
PY
)"
read -r distinct total twice shared uptodate <<<"$written"
[ "$distinct" -eq 200 ] && [ "$total" -eq 200 ] && [ "$twice" -eq 0 ] \
  || fail "done logs: $distinct pictures written, $total writes, $twice pictures not written exactly once"
[ "$shared" -eq 0 ] || fail "$shared pictures appear in more than one shard's done log"
commits=$(cat "$out"/.depthsharp/slurm-*.out | grep -c "^$photos/.*\.json$" || true)
repeated=$(cat "$out"/.depthsharp/slurm-*.out | grep "^$photos/.*\.json$" | cut -d: -f1 | sort | uniq -d | wc -l)
[ "$commits" -eq 200 ] && [ "$repeated" -eq 0 ] || fail "task logs: $commits commits, $repeated pictures committed twice"
[ -z "$(find "$out" -name '*.tmp')" ] || fail "temporary files left behind"
diff -r --exclude=.depthsharp "$work/reference" "$out" >/dev/null || fail "outputs differ from the single-process run"
echo "slurm test: 200 pictures, each written once by one shard ($uptodate up-to-date skips on resubmission), outputs identical to one process: $(($(date +%s) - started)) s (load average $(cut -d' ' -f1 /proc/loadavg))"
