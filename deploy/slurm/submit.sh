#!/usr/bin/env bash
# Submits a DepthSharp batch run to Slurm: a job array of SHARDS tasks (at most PARALLEL at once), then a verify job that
# runs once every task has succeeded (--dependency=afterok). Running it again after a failed or cancelled task submits
# the same split again: pictures already done are skipped, so only the missing ones are computed.
#
# Usage: deploy/slurm/submit.sh INPUT OUTPUT [estimate options...]    e.g. --model /shared/models/DepthPro-hf --format npy
# Environment: SHARDS (default 4), PARALLEL (default: no limit), SBATCH_EXTRA (more sbatch options, e.g. "--partition=gpu
# --time=12:00:00"), DEPTHSHARP (the command that runs the tool; default depthsharp). Prints the two job ids.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
input="$1" output="$2"
shift 2
shards="${SHARDS:-4}"
limit="${PARALLEL:+%$PARALLEL}"
read -ra extra <<<"${SBATCH_EXTRA:-}"
# The tasks' logs go beside the done logs; the folder must exist before Slurm opens them.
mkdir -p "$output/.depthsharp"
array="$(sbatch --parsable "${extra[@]}" --array="0-$((shards - 1))$limit" --output="$output/.depthsharp/slurm-%A_%a.out" \
  "$here/depthsharp-array.sbatch" "$input" "$output" "$@")"
array="${array%%;*}"
verify="$(sbatch --parsable "${extra[@]}" --dependency="afterok:$array" --output="$output/.depthsharp/verify-%j.out" \
  "$here/depthsharp-verify.sbatch" "$input" "$output")"
echo "array $array verify ${verify%%;*}"
