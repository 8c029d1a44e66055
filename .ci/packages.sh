#!/usr/bin/env bash
# The packages as a user gets them: pack, check each package's contents, install the tool from artifacts/ and run
# `estimate` and `serve` from it, then build a fresh project that takes the libraries from artifacts/ only and runs the
# README's three examples (library, hosting, ImageSharp) on a fixture model. Called by .ci/run; runs alone too.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
start=$SECONDS
. .ci/lib.sh
fail() { echo "packages: $*" >&2; exit 1; }

fixtures="$(find_fixtures)" || fail "no shared/fixtures beside or above the repository"
model="$fixtures/models/depth_pro_tiny"
picture="$fixtures/images/exif_focal_35mm.jpg"   # 160x240, EXIF 35 mm focal length: 173.3 px

work="$(mktemp -d)"
server_pids=()
cleanup() {
  for pid in "${server_pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# --- pack --------------------------------------------------------------------------------------------------------
rm -rf artifacts
dotnet pack DepthSharp.slnx -c Release -o artifacts -nologo -v:q
version="$(sed -n 's:.*<VersionPrefix>\(.*\)</VersionPrefix>.*:\1:p' Directory.Build.props)"
[ -n "$version" ] || fail "no VersionPrefix in Directory.Build.props"

# --- contents ----------------------------------------------------------------------------------------------------
# has PACKAGE PATH...: each path is in the package.
has() {
  local package="artifacts/$1"; shift
  [ -f "$package" ] || fail "$package was not made"
  local listing; listing="$(unzip -Z1 "$package")"
  for path in "$@"; do grep -qxF "$path" <<<"$listing" || fail "$package lacks $path"; done
}
# nuspec PACKAGE TEXT...: the package's .nuspec contains each text.
nuspec() {
  local package="artifacts/$1"; shift
  local spec; spec="$(unzip -p "$package" '*.nuspec')"
  for text in "$@"; do grep -qF "$text" <<<"$spec" || fail "$package's nuspec lacks $text"; done
}
for id in DepthSharp DepthSharp.Extensions.Hosting DepthSharp.ImageSharp; do
  dll="$id.dll"; [ "$id" = DepthSharp ] && dll=DepthSharp.Core.dll
  # The XML docs travel with each library (every public member has one: the build fails on a missing doc).
  has "$id.$version.nupkg" "lib/net10.0/$dll" "lib/net10.0/${dll%.dll}.xml" README.md
  has "$id.$version.snupkg" "lib/net10.0/${dll%.dll}.pdb"
  nuspec "$id.$version.nupkg" '<license type="expression">Apache-2.0</license>' '<readme>README.md</readme>' '<repository type="git" url="http' "commit=\"$(git rev-parse HEAD)\""
done
nuspec "DepthSharp.Extensions.Hosting.$version.nupkg" '<dependency id="DepthSharp" version="'"$version"'"'
nuspec "DepthSharp.ImageSharp.$version.nupkg" '<dependency id="SixLabors.ImageSharp" version="2.1.'
has "DepthSharp.Cli.$version.nupkg" tools/any/any/DotnetToolSettings.xml README.md
nuspec "DepthSharp.Cli.$version.nupkg" '<packageType name="DotnetTool" />'
for rid in linux-x64 linux-arm64 osx-arm64 win-x64 any; do
  grep -qF "Id=\"DepthSharp.Cli.$rid\"" <(unzip -p "artifacts/DepthSharp.Cli.$version.nupkg" tools/any/any/DotnetToolSettings.xml) \
    || fail "DepthSharp.Cli does not point at DepthSharp.Cli.$rid"
  root="tools/net10.0/$rid"
  has "DepthSharp.Cli.$rid.$version.nupkg" "$root/depthsharp.dll" "$root/depthsharp.runtimeconfig.json" "$root/DotnetToolSettings.xml" \
    "$root/DepthSharp.Core.dll" "$root/DepthSharp.Web.dll" "$root/DepthSharp.Extensions.Hosting.dll" "$root/System.CommandLine.dll"
  has "DepthSharp.Cli.$rid.$version.snupkg" "$root/depthsharp.pdb"
  # The page, its script and three.js travel embedded in the web assembly.
  web="$(unzip -p "artifacts/DepthSharp.Cli.$rid.$version.nupkg" "$root/DepthSharp.Web.dll" | tr -c '[:print:]' '\n')"
  for resource in site/index.html site/app.js site/vendor/three.module.js site/vendor/three.core.js site/vendor/OrbitControls.js; do
    grep -qxF "$resource" <<<"$web" || fail "DepthSharp.Cli.$rid's DepthSharp.Web.dll does not embed $resource"
  done
done
echo "packages: contents checked ($(ls artifacts | wc -l) files in artifacts/, version $version)"

# --- a source with the local packages, the normal feed for their dependencies ----------------------------------------
# A package cache of its own, so that no copy of an earlier pack with the same version is taken from ~/.nuget/packages.
export NUGET_PACKAGES="$work/nuget-packages"
cat >"$work/nuget.config" <<EOF
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="artifacts" value="$repo/artifacts" />
    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
  </packageSources>
  <packageSourceMapping>
    <packageSource key="artifacts"><package pattern="DepthSharp*" /></packageSource>
    <packageSource key="nuget.org"><package pattern="*" /></packageSource>
  </packageSourceMapping>
</configuration>
EOF

# --- the tool ----------------------------------------------------------------------------------------------------
dotnet tool install DepthSharp.Cli --version "$version" --tool-path "$work/tools" --configfile "$work/nuget.config" >/dev/null
tool="$work/tools/depthsharp"
"$tool" estimate "$picture" --model "$model" --output "$work/estimate" 2>"$work/estimate.log" || { cat "$work/estimate.log" >&2; fail "installed depthsharp estimate failed"; }
json="$work/estimate/exif_focal_35mm.json"
[ -f "$json" ] || fail "estimate wrote no $json"
for field in '"model_type": "depth_pro"' '"width": 160' '"height": 240' '"depth_kind": "metric"' '"focal_length_source": "exif"'; do
  grep -qF "$field" "$json" || fail "estimate's JSON lacks $field: $(cat "$json")"
done
# npy: magic, then a float32 header of the picture's shape; 160 x 240 floats after the header.
npy="$work/estimate/exif_focal_35mm.npy"
head -c 6 "$npy" | grep -q "NUMPY" || fail "estimate's .npy has no NumPy magic"
grep -aq "'descr': '<f4'.*'shape': (240, 160)" <(head -c 128 "$npy") || fail "estimate's .npy header is not float32 (240, 160)"
[ "$(stat -c %s "$npy")" -ge $((240 * 160 * 4)) ] || fail "estimate's .npy is short"
pngcheck -q "$work/estimate/exif_focal_35mm.png" >/dev/null || fail "estimate's .png does not pass pngcheck"
echo "packages: installed tool's estimate wrote depth, JSON and PNG"

port="$(free_port)"
"$tool" serve --model "$model" --urls "http://127.0.0.1:$port" >"$work/serve.log" 2>&1 &
server_pids+=($!)
wait_url "http://127.0.0.1:$port/api/health" 120 || { cat "$work/serve.log" >&2; fail "installed depthsharp serve never became healthy"; }
curl -fsS "http://127.0.0.1:$port/" | grep -q importmap || fail "serve's page is not served"
curl -fsS -o "$work/three.module.js" "http://127.0.0.1:$port/vendor/three.module.js"
[ "$(stat -c %s "$work/three.module.js")" -gt 100000 ] && grep -q "REVISION" "$work/three.module.js" || fail "serve's three.module.js is not three.js"
curl -fsS -H "Content-Type: image/jpeg" --data-binary "@$picture" "http://127.0.0.1:$port/api/depth" | grep -q '"width":160' || fail "serve's /api/depth did not answer with the depth"
kill "${server_pids[0]}"; wait "${server_pids[0]}" 2>/dev/null || true
echo "packages: installed tool's serve answered /, /vendor/three.module.js and /api/depth"

# --- a project of a user's, with the README's examples -------------------------------------------------------------
app="$work/app"
mkdir -p "$app" "$work/photos"
cp "$picture" "$work/photos/"
cat >"$app/ReadmeExamples.csproj" <<EOF
<Project Sdk="Microsoft.NET.Sdk.Web">
  <PropertyGroup>
    <TargetFramework>net10.0</TargetFramework>
    <ImplicitUsings>enable</ImplicitUsings>
    <Nullable>enable</Nullable>
    <!-- The examples' bodies are wrapped in async methods; one without an await of its own is fine. -->
    <NoWarn>\$(NoWarn);CS1998</NoWarn>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="DepthSharp" Version="$version" />
    <PackageReference Include="DepthSharp.Extensions.Hosting" Version="$version" />
    <PackageReference Include="DepthSharp.ImageSharp" Version="$version" />
  </ItemGroup>
</Project>
EOF
cp "$work/nuget.config" "$app/nuget.config"
# example NAME: the README's C# block marked <!-- example: NAME ... -->, with the model and pictures of this run.
example() {
  awk -v name="$1" '
    $0 ~ "^<!-- example: " name "[ >]" { marked = 1; next }
    marked && /^```csharp/ { inside = 1; next }
    inside && /^```/ { exit }
    inside { print }' README.md \
  | sed -e "s|\"apple/DepthPro-hf\"|\"$model\"|g" -e "s|\"photo.jpg\"|\"$picture\"|g" -e "s|\"photos/\"|\"$work/photos/\"|g"
}
{
  for name in library hosting imagesharp; do example "$name" | grep -E '^using [A-Za-z0-9_.]+;$' || true; done | sort -u
  echo 'switch (args[0])'
  echo '{'
  echo '    case "library": await Library(args[1..]); break;'
  echo '    case "hosting": await Hosting(args[1..]); break;'
  echo '    case "imagesharp": await ImageSharp(args[1..]); break;'
  echo '}'
  for name in library hosting imagesharp; do
    method="$(tr '[:lower:]' '[:upper:]' <<<"${name:0:1}")${name:1}"
    [ "$name" = imagesharp ] && method=ImageSharp
    echo "static async Task $method(string[] args)"
    echo '{'
    example "$name" | grep -vE '^using [A-Za-z0-9_.]+;$'
    echo '}'
  done
} >"$app/Program.cs"
[ "$(example library | wc -l)" -gt 3 ] && [ "$(example hosting | wc -l)" -gt 3 ] && [ "$(example imagesharp | wc -l)" -gt 3 ] \
  || fail "README.md lacks one of the marked examples (library, hosting, imagesharp)"
dotnet build "$app" -c Release -nologo -v:q -o "$app/bin" >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; cat -n "$app/Program.cs" >&2; fail "the README's examples do not build against the packages"; }
for id in depthsharp depthsharp.extensions.hosting depthsharp.imagesharp; do
  grep -qF "\"source\": \"$repo/artifacts\"" "$NUGET_PACKAGES/$id/$version/.nupkg.metadata" || fail "$id did not come from artifacts/"
done

(cd "$work" && dotnet "$app/bin/ReadmeExamples.dll" library) >"$work/library.out"
grep -qE '^160x240, focal 173\.3[0-9]* px \(Exif\), ' "$work/library.out" || fail "the library example printed: $(cat "$work/library.out")"
echo "packages: README's library example: $(head -n 1 "$work/library.out")"

(cd "$work" && dotnet "$app/bin/ReadmeExamples.dll" imagesharp)
for png in depth16.png depth.png; do
  pngcheck -q "$work/$png" >/dev/null || fail "the ImageSharp example's $png does not pass pngcheck"
done
pngcheck "$work/depth16.png" | grep -qF "(160x240, 16-bit grayscale" || fail "depth16.png is not 160x240 16-bit grey: $(pngcheck "$work/depth16.png")"
pngcheck "$work/depth.png" | grep -qF "(160x240, 24-bit RGB" || fail "depth.png is not 160x240 RGB: $(pngcheck "$work/depth.png")"
echo "packages: README's ImageSharp example wrote depth16.png and depth.png"

port="$(free_port)"
DepthEstimation__Model="$model" ASPNETCORE_URLS="http://127.0.0.1:$port" dotnet "$app/bin/ReadmeExamples.dll" hosting >"$work/hosting.log" 2>&1 &
server_pids+=($!)
wait_url "http://127.0.0.1:$port/health" 120 || { cat "$work/hosting.log" >&2; fail "the hosting example never became healthy"; }
answer="$(curl -fsS -H "Content-Type: image/jpeg" --data-binary "@$picture" "http://127.0.0.1:$port/depth")"
grep -q '"width":160,"height":240,"kind":"Metric"' <<<"$answer" || fail "the hosting example answered: $answer"
echo "packages: README's hosting example: /health 200, /depth $answer"

echo "packages: all checks passed in $((SECONDS - start)) s"
