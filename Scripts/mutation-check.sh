#!/usr/bin/env bash
# The mutation check: how many small, realistic bugs the test suite catches.
#
# Each mutant of Scripts/mutants.tsv is one text substitution in the library (Core.FSharp/, Api.CSharp/). The script
# copies the repository once to a work directory, builds it and runs the tests unmodified (the baseline must pass),
# then for each mutant: applies the substitution, builds incrementally (Release), runs Core.Properties (the mutant's
# focus tests first, then the rest) and then Api.Tests, stopping at the first failure, and reverts. A mutant is
# killed when the build fails, a test fails or a test run times out; it survives when everything passes. At the end:
# killed/survived per mutant, the score and the wall time, also written to the summary file.
#
# A mutant is identified by its text, not by its path: the text must occur exactly once in the *.fs and *.cs files
# under Core.FSharp/ and Api.CSharp/ (else it is reported as invalid, neither killed nor survived), so mutants keep
# working when code moves between files.
#
# Usage: Scripts/mutation-check.sh [--validate] [--only ID[,ID...]] [--mutants FILE] [--work DIR] [--summary FILE]
#   --validate      only check that every mutant applies exactly once (no build, a second or so)
#   --only IDS      run only these mutants (comma-separated ids)
#   --mutants FILE  the mutant list (default Scripts/mutants.tsv)
#   --work DIR      the copy to build in (default: a new temporary directory, removed at the end)
#   --summary FILE  where to write the summary (default mutation-summary.txt in the repository root)
#   --skip-baseline build the unmodified tree but do not run its tests (when another run of the same commit
#                   checked them already, e.g. a second worker over another part of the list)
# Environment: MUTATION_TIMEOUT (seconds per test run, default 900). Needs bash, python3, tar, dotnet.
#
# Not part of CI's default run: the full list takes a few hours on a loaded two-core machine (one incremental build
# and up to two test runs per mutant).
set -uo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
mutants="$repo/Scripts/mutants.tsv"
summary="$repo/mutation-summary.txt"
work=""
only=""
validate=0
baseline=1
timeout_s="${MUTATION_TIMEOUT:-900}"

while [ $# -gt 0 ]; do
  case "$1" in
    --validate) validate=1 ;;
    --only) only="$2"; shift ;;
    --mutants) mutants="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"; shift ;;
    --work) work="$2"; shift ;;
    --summary) summary="$2"; shift ;;
    --skip-baseline) baseline=0 ;;
    -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
    *) echo "mutation-check: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done

[ -f "$mutants" ] || { echo "mutation-check: no mutant list at $mutants" >&2; exit 2; }

# The helper for the text work: list the mutants, validate one against a tree, apply or revert one.
# The list is tab-separated: id, focus, description, find, replace; '#' starts a comment line. In find and replace,
# \t is a tab, \n a newline and \\ a backslash. Focus is a comma-separated list of test class names (or -).
tool="$(mktemp)"
trap 'rm -f "$tool"' EXIT
cat >"$tool" <<'PY'
import os, sys

def unescape(s):
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            n = s[i + 1]
            out.append({"t": "\t", "n": "\n", "\\": "\\"}.get(n, "\\" + n))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)

def load(path):
    ms, seen = [], set()
    with open(path, encoding="utf-8") as f:
        for no, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            cols = line.split("\t")
            if len(cols) != 5:
                sys.exit(f"{path}:{no}: expected 5 tab-separated columns (id, focus, description, find, replace), got {len(cols)}")
            mid, focus, desc, find, repl = cols
            if mid in seen:
                sys.exit(f"{path}:{no}: duplicate id {mid}")
            seen.add(mid)
            ms.append((mid, focus, desc, unescape(find), unescape(repl)))
    return ms

def sources(root):
    for top in ("Core.FSharp", "Api.CSharp"):
        for d, dirs, files in os.walk(os.path.join(root, top)):
            dirs[:] = [x for x in dirs if x not in ("bin", "obj")]
            for name in files:
                if name.endswith((".fs", ".fsi", ".cs")):
                    yield os.path.join(d, name)

def locate(root, find):
    hits = []
    for p in sources(root):
        with open(p, encoding="utf-8") as f:
            k = f.read().count(find)
        if k:
            hits.append((p, k))
    return hits

def main():
    cmd, path = sys.argv[1], sys.argv[2]
    ms = load(path)
    if cmd == "list":
        # id \t focus \t description, one a line
        for mid, focus, desc, _, _ in ms:
            print(f"{mid}\t{focus}\t{desc}")
        return
    root = sys.argv[3]
    if cmd == "validate":
        bad = 0
        for mid, _, desc, find, repl in ms:
            hits = locate(root, find)
            total = sum(k for _, k in hits)
            if find == repl:
                print(f"invalid  {mid}: the replacement equals the text"); bad += 1
            elif total != 1:
                where = ", ".join(f"{os.path.relpath(p, root)} ×{k}" for p, k in hits) or "nowhere"
                print(f"invalid  {mid}: the text occurs {total} times ({where})"); bad += 1
            else:
                print(f"ok       {mid}: {os.path.relpath(hits[0][0], root)}")
        print(f"{len(ms) - bad} of {len(ms)} mutants apply exactly once")
        sys.exit(1 if bad else 0)
    mid = sys.argv[4]
    m = [x for x in ms if x[0] == mid]
    if not m:
        sys.exit(f"no mutant {mid}")
    _, _, _, find, repl = m[0]
    if cmd == "apply":
        hits = locate(root, find)
        if sum(k for _, k in hits) != 1:
            sys.exit(3)
        p = hits[0][0]
        with open(p, encoding="utf-8") as f:
            text = f.read()
        with open(p + ".mutation-original", "w", encoding="utf-8") as f:
            f.write(text)
        with open(p, "w", encoding="utf-8") as f:
            f.write(text.replace(find, repl, 1))
        print(os.path.relpath(p, root))
    elif cmd == "revert":
        for top in ("Core.FSharp", "Api.CSharp"):
            for d, _, files in os.walk(os.path.join(root, top)):
                for name in files:
                    if name.endswith(".mutation-original"):
                        o = os.path.join(d, name)
                        os.replace(o, o[: -len(".mutation-original")])

main()
PY

py() { python3 "$tool" "$@"; }

if [ "$validate" = 1 ]; then
  py validate "$mutants" "$repo"
  exit $?
fi

py validate "$mutants" "$repo" >/dev/null || echo "mutation-check: some mutants are invalid (see --validate); they are reported as such"

started=$(date +%s)
own_work=0
if [ -z "$work" ]; then
  work="$(mktemp -d "${TMPDIR:-/tmp}/functional-mutation.XXXXXX")"
  own_work=1
fi
mkdir -p "$work"
log="$work/logs"
mkdir -p "$log"
echo "mutation-check: copying the tree to $work"
# The sources only (bin/ and obj/ of an earlier run in the same work directory are kept: incremental builds).
mkdir -p "$work/tree"
tar -C "$repo" --exclude=.git --exclude=bin --exclude=obj --exclude=TestResults --exclude='mutation-summary*' -cf - . \
  | tar -C "$work/tree" -xf - || { echo "mutation-check: copying the tree failed" >&2; exit 2; }
tree="$work/tree"
cd "$tree" || exit 2
py revert "$mutants" "$tree" x 2>/dev/null || true

core=Properties/Core.Properties/Core.Properties.fsproj
api=Properties/Api.Tests/Api.Tests.csproj

build() { timeout "$timeout_s" dotnet build "$1" -c Release -nologo -v q -p:TreatWarningsAsErrors=false >"$2" 2>&1; }
run_tests() { # project, log, [filter]
  if [ -n "${3:-}" ]; then
    timeout "$timeout_s" dotnet test "$1" -c Release --no-build -nologo --filter "$3" >"$2" 2>&1
  else
    timeout "$timeout_s" dotnet test "$1" -c Release --no-build -nologo >"$2" 2>&1
  fi
}

echo "mutation-check: baseline build and tests (the unmodified tree must pass)"
dotnet restore Functional.sln >"$log/restore.log" 2>&1 || { echo "restore failed: $log/restore.log" >&2; exit 2; }
for p in "$core" "$api"; do
  name="$(basename "$p" .fsproj)"; name="${name%.csproj}"
  build "$p" "$log/baseline-build-$name.log" || { echo "baseline build of $p failed: $log/baseline-build-$name.log" >&2; exit 2; }
  if [ "$baseline" = 1 ]; then
    run_tests "$p" "$log/baseline-test-$name.log" || { echo "baseline tests of $p failed: $log/baseline-test-$name.log" >&2; exit 2; }
  fi
done

results="$work/results.tsv"
: >"$results"
killed=0; survived=0; invalid=0
while IFS=$'\t' read -r id focus desc; do
  if [ -n "$only" ] && [[ ",$only," != *",$id,"* ]]; then continue; fi
  t0=$(date +%s)
  file="$(py apply "$mutants" "$tree" "$id")"
  if [ $? -ne 0 ] || [ -z "$file" ]; then
    verdict="invalid"; how="the text does not occur exactly once"
  else
    verdict="survived"; how="every test passed"
    if ! build "$core" "$log/$id-build.log"; then
      verdict="killed"; how="the build failed"
    else
      include=""; exclude=""
      if [ "$focus" != "-" ] && [ -n "$focus" ]; then
        IFS=',' read -ra parts <<<"$focus"
        for c in "${parts[@]}"; do
          include="${include:+$include|}FullyQualifiedName~$c"
          exclude="${exclude:+$exclude&}FullyQualifiedName!~$c"
        done
        if ! run_tests "$core" "$log/$id-focus.log" "$include"; then
          verdict="killed"; how="Core.Properties (focus: $focus) failed"
        fi
      fi
      if [ "$verdict" = survived ] && ! run_tests "$core" "$log/$id-core.log" "$exclude"; then
        verdict="killed"; how="Core.Properties failed"
      fi
      if [ "$verdict" = survived ]; then
        if ! build "$api" "$log/$id-build-api.log"; then
          verdict="killed"; how="the build of Api.Tests failed"
        elif ! run_tests "$api" "$log/$id-api.log"; then
          verdict="killed"; how="Api.Tests failed"
        fi
      fi
    fi
    py revert "$mutants" "$tree" "$id"
  fi
  case "$verdict" in killed) killed=$((killed + 1)) ;; survived) survived=$((survived + 1)) ;; *) invalid=$((invalid + 1)) ;; esac
  secs=$(( $(date +%s) - t0 ))
  printf '%s\t%s\t%s\t%ss\t%s\t%s\n' "$id" "$verdict" "${file:-?}" "$secs" "$how" "$desc" | tee -a "$results"
done < <(py list "$mutants")

# Leave the copy's build output consistent with the unmodified sources (a later --work run reuses it).
build "$core" "$log/final-build.log" || true

total=$((killed + survived))
wall=$(( $(date +%s) - started ))
{
  echo "Mutation check of $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?') on $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "mutants: $mutants"
  if [ "$total" -gt 0 ]; then
    echo "score: $killed of $total killed ($(( 100 * killed / total )) %), $survived survived, $invalid invalid"
  else
    echo "score: no mutant ran ($invalid invalid)"
  fi
  echo "wall time: $((wall / 60)) min $((wall % 60)) s"
  echo
  printf 'id\tverdict\tfile\ttime\thow\tdescription\n'
  cat "$results"
} >"$summary"
echo
sed -n '1,4p' "$summary"
grep -P '\tsurvived\t' "$results" | sed 's/^/survivor: /'
if [ "$own_work" = 1 ]; then rm -rf "$work"; fi
[ "$survived" -eq 0 ] && [ "$invalid" -eq 0 ]
