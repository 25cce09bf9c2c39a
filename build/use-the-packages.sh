#!/usr/bin/env bash
# Packs the libraries and uses them as a new user would, each way the README's "Use it in your project" shows,
# in a fresh temporary folder: a console app that installs Functional.Api from the local folder feed, an F# script
# with #r "nuget: Functional.Core", a .NET 10 file-based app with #:package, and the dotnet tool. The programs are
# the README's own code blocks (each follows a "<!-- use-the-packages: FILE -->" line), so the README cannot drift.
# Each one trains briefly and must print its result line. Usage: build/use-the-packages.sh [--no-build]
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
version="$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' "$repo/Directory.Build.props")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
feed="$work/feed"

echo "-- dotnet pack (version $version) into $feed"
dotnet pack "$repo/Functional.sln" -c Release -o "$feed" "$@" >"$work/pack.log" 2>&1 || { cat "$work/pack.log"; exit 1; }
expected="Functional.Api.$version.nupkg Functional.Api.$version.snupkg Functional.Core.$version.nupkg Functional.Core.$version.snupkg Functional.Tool.$version.nupkg Functional.Tool.$version.snupkg"
actual="$(cd "$feed" && ls | sort | tr '\n' ' ' | sed 's/ $//')"
[ "$actual" = "$expected" ] || { echo "packages: expected '$expected', got '$actual'" >&2; exit 1; }
# The README's block after the marker line for $1, with the feed path put in.
block() {
  awk -v want="<!-- use-the-packages: $1 -->" '
    $0 == want { found = 1; next }
    found == 1 && /^```/ { if (inside) exit; inside = 1; next }
    inside { print }' "$repo/README.md" | sed "s:/path/to/feed:$feed:g"
}
# A nuget.config with the folder feed beside the machine's enabled sources; Functional.* only from the folder.
sources="$(dotnet nuget list source --format short 2>/dev/null | awk '$1 ~ /^E/ { print $2 }')"
nuget_config() {
  {
    echo '<?xml version="1.0" encoding="utf-8"?>'
    echo '<configuration>'
    echo '  <packageSources>'
    echo "    <clear />"
    echo "    <add key=\"functional-local\" value=\"$feed\" />"
    n=0; for url in $sources; do n=$((n + 1)); echo "    <add key=\"source$n\" value=\"$url\" />"; done
    echo '  </packageSources>'
    echo '  <packageSourceMapping>'
    echo '    <packageSource key="functional-local"><package pattern="Functional.*" /></packageSource>'
    n=0; for url in $sources; do n=$((n + 1)); echo "    <packageSource key=\"source$n\"><package pattern=\"*\" /></packageSource>"; done
    echo '  </packageSourceMapping>'
    echo '</configuration>'
  } >"$1/nuget.config"
}
export NUGET_PACKAGES="$work/packages"   # a fresh package cache: the packages really come from the feed
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

expect() { # name, file with output, pattern
  if grep -Eq "$3" "$2"; then echo "   $1: $(grep -E "$3" "$2" | tail -n 1)"; else echo "$1 failed:" >&2; cat "$2" >&2; exit 1; fi
}

echo "-- a fresh console app with Functional.Api $version from the folder feed"
mkdir "$work/app" && cd "$work/app"
nuget_config "$work/app"
dotnet new console --name FreshApp --output . >"$work/new.log" 2>&1 || { cat "$work/new.log"; exit 1; }
dotnet add package Functional.Api --version "$version" >"$work/add.log" 2>&1 || { cat "$work/add.log"; exit 1; }
# What the package brought, as NuGet extracted it into the fresh cache.
for f in README.md LICENSE NOTICE buildTransitive/Functional.Core.targets lib/net10.0/Functional.Core.dll lib/net10.0/Functional.Core.xml; do
  [ -f "$NUGET_PACKAGES/functional.core/$version/$f" ] || { echo "Functional.Core $version has no $f" >&2; exit 1; }
done
block Program.cs >Program.cs
dotnet run -c Release >"$work/app.log" 2>&1 || { cat "$work/app.log"; exit 1; }
expect "console app" "$work/app.log" '^[0-9]+ iterations in .* test accuracy [0-9.]+ ?%$'
grep -q '"System.GC.LOHThreshold": 67108864' bin/Release/net10.0/FreshApp.runtimeconfig.json \
  && grep -q '"System.Runtime.TieredCompilation": false' bin/Release/net10.0/FreshApp.runtimeconfig.json \
  || { echo "the package's runtime settings are missing from the app:" >&2; cat bin/Release/net10.0/FreshApp.runtimeconfig.json >&2; exit 1; }
dotnet build -c Release -p:FunctionalPerformanceSettings=false >"$work/off.log" 2>&1 || { cat "$work/off.log"; exit 1; }
if grep -q 'System.GC.LOHThreshold\|TieredCompilation' bin/Release/net10.0/FreshApp.runtimeconfig.json; then
  echo "FunctionalPerformanceSettings=false left settings in the app:" >&2; cat bin/Release/net10.0/FreshApp.runtimeconfig.json >&2; exit 1
fi
echo "   runtime settings: in the app's runtimeconfig.json, and gone with FunctionalPerformanceSettings=false"

echo "-- an F# script with #r \"nuget: Functional.Core, $version\""
mkdir "$work/script" && cd "$work/script"
nuget_config "$work/script"
block train.fsx >train.fsx
dotnet fsi train.fsx >"$work/fsi.log" 2>&1 || { cat "$work/fsi.log"; exit 1; }
expect "F# script" "$work/fsi.log" '^[0-9]+ iterations; best validation accuracy 0\.[0-9]+$'

echo "-- a file-based app: dotnet run app.cs with #:package Functional.Api@$version"
mkdir "$work/file" && cd "$work/file"
nuget_config "$work/file"
block app.cs >app.cs
dotnet run app.cs >"$work/file.log" 2>&1 || { cat "$work/file.log"; exit 1; }
expect "file-based app" "$work/file.log" '^[0-9]+ iterations; best validation accuracy [0-9.]+ ?%$'

echo "-- the dotnet tool Functional.Tool"
cd "$work"
dotnet tool install --tool-path "$work/tools" --add-source "$feed" Functional.Tool --version "$version" >"$work/tool.log" 2>&1 \
  || { cat "$work/tool.log"; exit 1; }
"$work/tools/functional" --help >"$work/tool-help.log" 2>&1 || { cat "$work/tool-help.log"; exit 1; }
expect "dotnet tool" "$work/tool-help.log" '^  train'
echo "used the packages four ways"
