#!/usr/bin/env bash
# Runs the PyTorch peer (../shared/bench/torch_peer.py) and Functional's `bench` verb in the same session, pinned
# to the same cores with the same thread count, and prints the ratio table (Functional / PyTorch median time).
# Setup once: apt-get install -y python3-torch   (and optionally libopenblas0 for the OpenBLAS GEMM path)
# Usage: Scripts/bench-vs-torch.sh [THREADS] [FUNCTIONAL_BLAS]     e.g. Scripts/bench-vs-torch.sh 2 managed
set -euo pipefail
cd "$(dirname "$0")/.."
threads="${1:-2}"
blas="${2:-auto}"
cores=$([ "$threads" = 1 ] && echo 0 || echo "0-$((threads - 1))")
peer="${PEER:-../shared/bench/torch_peer.py}"
out="$(mktemp -d)"

# No build servers left running: they would share the cores with the measurements.
dotnet build Scripts/App -c Release -v quiet -nologo --disable-build-servers >/dev/null
taskset -c "$cores" env OMP_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads" GLIBC_TUNABLES=glibc.malloc.hugetlb=1 \
  /usr/bin/python3 "$peer" --threads "$threads" | tee "$out/torch.txt"
taskset -c "$cores" env FUNCTIONAL_THREADS="$threads" FUNCTIONAL_BLAS="$blas" \
  dotnet Scripts/App/bin/Release/net10.0/functional.dll bench | tee "$out/functional.txt"

echo
printf '%-4s %-16s %12s %12s %8s\n' tag workload torch_ms functional_ms ratio
awk '
  FNR == NR && $1 !~ /^#/ { for (i = 4; i <= NF; i++) if ($i ~ /^median_ms=/) { split($i, a, "="); t[$1 " " $2] = a[2] } next }
  $1 !~ /^#/ { for (i = 4; i <= NF; i++) if ($i ~ /^median_ms=/) { split($i, a, "="); k = $1 " " $2;
      if (k in t) printf "%-4s %-16s %12.3f %12.3f %7.2fx\n", $1, $2, t[k], a[2], a[2] / t[k] } }
' "$out/torch.txt" "$out/functional.txt"
