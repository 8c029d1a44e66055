#!/usr/bin/env bash
# Rewrites each published library's PublicAPI.Unshipped.txt to its public API as it is now: the symbols the
# PublicApiAnalyzers report as public but unlisted (RS0016) are added, those listed but gone or no longer public
# (RS0017) are removed. Run it after a change to the public API (or a merge that brought one) and review the diff:
#   bash .ci/public-api.sh && git diff -- '*PublicAPI.Unshipped.txt'
# PublicAPI.Shipped.txt is left alone: it is moved to by hand at a release.
set -euo pipefail
cd "$(dirname "$0")/.."
projects=(src/DepthSharp/DepthSharp.csproj src/DepthSharp.Extensions.Hosting/DepthSharp.Extensions.Hosting.csproj
  src/DepthSharp.ImageSharp/DepthSharp.ImageSharp.csproj)
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

# Warnings stay warnings here, so one pass reports every project's differences (an error in the core library would stop
# the build before the others are analysed). --no-incremental: the analysers only speak when the compiler runs.
first=1
for project in "${projects[@]}"; do
  refs=true; [ $first = 1 ] || refs=false; first=0
  dotnet build "$project" -c Release -nologo --no-incremental -p:BuildProjectReferences=$refs \
    -p:TreatWarningsAsErrors=false -p:WarningsAsErrors= -clp:NoSummary >>"$log" 2>&1 || true
done

python3 - "$log" "${projects[@]}" <<'PY'
import os, re, sys
log, projects = sys.argv[1], sys.argv[2:]
text = open(log, encoding="utf-8").read()
# A diagnostic line ends with the project it belongs to: "... (https://...) [/abs/path/Project.csproj]".
pattern = re.compile(r": (?:warning|error) (RS001[67]): Symbol '(.*)' is (?:not part of the declared|part of the declared) .*\[(.+\.csproj)\]")
changes = {os.path.realpath(p): ({"RS0016": set(), "RS0017": set()}) for p in projects}
for rule, symbol, project in pattern.findall(text):
    key = os.path.realpath(project)
    if key in changes:
        changes[key][rule].add(symbol)
other = re.findall(r": error (\w+):", text)
if other:
    sys.exit("public-api: the build failed (" + ", ".join(sorted(set(other))) + "); fix it first, then run this again")
for project, found in changes.items():
    path = os.path.join(os.path.dirname(project), "PublicAPI.Unshipped.txt")
    lines = [l.rstrip("\n") for l in open(path, encoding="utf-8")] if os.path.exists(path) else []
    symbols = {l for l in lines if l and not l.startswith("#")}
    symbols = (symbols - found["RS0017"]) | found["RS0016"]
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("#nullable enable\n")
        for s in sorted(symbols, key=lambda s: (s.removeprefix("static ").removeprefix("override ").removeprefix("abstract ").removeprefix("virtual ").removeprefix("const "), s)):
            f.write(s + "\n")
    print(f"public-api: {os.path.relpath(path)}: +{len(found['RS0016'])} -{len(found['RS0017'])}, {len(symbols)} symbols")
PY
