# shellcheck shell=bash
# Pieces the CI scripts share. Sourced (`. .ci/lib.sh`) by a script that has already changed to the repository root.

# find_fixtures: prints the shared fixtures folder, the first D/shared/fixtures for D the repository or a folder above
# it (beside a clone: ../shared/fixtures), as tests/DepthSharp.Tests/Fixtures.cs finds them; fails if there is none.
find_fixtures() {
  local dir="$PWD"
  until [ -d "$dir/shared/fixtures" ]; do
    [ "$dir" != / ] || return 1
    dir="$(dirname "$dir")"
  done
  (cd "$dir/shared/fixtures" && pwd)
}

# ensure_cli: prints the path of the Release build of the tool's depthsharp.dll, building it first if it is missing
# (the build's messages go to stderr).
ensure_cli() {
  local dll="$PWD/src/DepthSharp.Cli/bin/Release/net10.0/depthsharp.dll"
  [ -f "$dll" ] || dotnet build src/DepthSharp.Cli -c Release -nologo -v:q >&2 || return 1
  echo "$dll"
}

# free_port: prints a TCP port free on 127.0.0.1 now.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }

# wait_for SECONDS COMMAND...: runs COMMAND every 0.2 s until it succeeds; fails if it has not within SECONDS.
wait_for() {
  local limit=$(($(date +%s) + $1)); shift
  until "$@"; do [ "$(date +%s)" -lt "$limit" ] || return 1; sleep 0.2; done
}

# wait_url URL SECONDS: waits until URL answers with a 2xx status; fails if it has not within SECONDS.
wait_url() { wait_for "$2" curl -fsS -o /dev/null "$1" 2>/dev/null; }

# make_pictures IMAGES DIR COUNT TOOL...: COUNT pictures in DIR made from the fixture pictures in IMAGES (JPEG
# baseline, progressive, EXIF-rotated and grayscale; PNG RGB and palette): two copies of each in DIR/copies, and eight
# crops of each at several places and sizes in DIR/crops, cut from the picture as TOOL (the depthsharp command line)
# reads it, upright RGB, written by `TOOL convert` (into DIR/.upright, removed at the end). Trimmed to the first COUNT
# by path.
make_pictures() {
  local images="$1" dir="$2" count="$3"; shift 3
  local upright="$dir/.upright" src name k
  mkdir -p "$dir/copies" "$dir/crops" "$upright" || return 1
  for src in "$images"/{baseline,progressive,exif_orientation,grayscale,png_rgb,png_palette}*.{jpg,png}; do
    [ -f "$src" ] || continue
    case "$src" in *.expected.png) continue ;; esac
    name="$(basename "${src%.*}")"
    for k in 1 2; do cp "$src" "$dir/copies/$name-$k.${src##*.}" || return 1; done
    "$@" convert "$src" "$upright/$name.png" >/dev/null 2>&1 || return 1
    python3 .ci/crop_png.py "$upright/$name.png" "$dir/crops/$name" || return 1
  done
  rm -r "$upright" && find "$dir" -type f | sort | tail -n +$((count + 1)) | xargs -r rm
}
