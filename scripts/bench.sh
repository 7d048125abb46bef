#!/usr/bin/env bash
# make bench: netc's speed on the reference networks beside PyTorch's (Debian's python3-torch,
# through ../shared/anchors/torch_bench.py) and ONNX Runtime's inference (onnxruntime-node,
# through ../shared/anchors/onnx/), measured in the same run, with the ratio per row.
# Each figure is the best of ROUNDS runs (default 3), the engines taking turns, so that a
# slow spell of this shared machine does not land on one side only, nor on all of a row's
# runs.
# Environment: THREADS (default 2), ROUNDS (default 3), NETC_ORT_NODE_PATH (node_modules
# holding onnxruntime-node).
set -uo pipefail
cd "$(dirname "$0")/.."
threads=${THREADS:-2}
rounds=${ROUNDS:-3}
anchors=../shared/anchors
go build -o _netc/netc ./cmd/netc || exit 1

have_torch=false
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then have_torch=true; fi
ortpath=${NETC_ORT_NODE_PATH:-/tmp/netc-ort/node_modules}
have_ort=false
if $have_torch && [ -d "$ortpath/onnxruntime-node" ] && command -v node >/dev/null; then
  have_ort=true
  /usr/bin/python3 $anchors/onnx/export.py _netc/ortmodels >/dev/null 2>&1 || have_ort=false
fi

# netc SPEC MODE BATCH → img/s (the last line of netc bench).
netc() {
  local flags=(-batch "$3" -threads "$threads")
  [ "$2" = train ] && flags+=(-train)
  ./_netc/netc bench "specs/$1.net" "${flags[@]}" 2>/dev/null | awk '/^img\/s/ {print $2}'
}
# torch SPEC MODE BATCH → img/s; OpenBLAS's core-type overrides are lifted for this command alone.
torch() {
  $have_torch || { echo -; return; }
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE TORCH_THREADS=$threads /usr/bin/python3 $anchors/torch_bench.py "$1" "$2" "$3" 2>/dev/null || echo -
}
# ort SPEC → median ms at batch 1.
ort() {
  $have_ort || { echo -; return; }
  NODE_PATH=$ortpath ONLY=$1 THREADS=$threads node $anchors/onnx/ort_bench.js _netc/ortmodels 2 2>/dev/null |
    awk '/ b1 / {for (i = 1; i < NF; i++) if ($i == "median_ms") print $(i+1)}'
}
# best max|min: the largest or smallest number read from stdin, - if none.
best() {
  awk -v want="$1" '$1+0 > 0 && (b == "" || (want == "max" ? $1+0 > b+0 : $1+0 < b+0)) {b = $1}
    END {print (b == "" ? "-" : b)}'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a+0 > 0 && b+0 > 0) printf "%.2f", a/b; else printf "-" }'; }
ms() { awk -v r="$1" 'BEGIN { if (r+0 > 0) printf "%.3f", 1000/r; else printf "-" }'; }

# Round after round over every row, so that a row's runs are minutes apart: a slow spell
# of the machine lasts about a minute.
trains=("lenet-mnist train 64" "cifar-small train 64" "vgg-style train 64" "alexnet train 8"
  "resnet20 train 64" "mobile-cifar train 64")
nets=(lenet-mnist cifar-small vgg-style alexnet resnet20 mobile-cifar)
declare -A N T O # a row's figures, one a line
for _ in $(seq "$rounds"); do
  for row in "${trains[@]}"; do
    N[$row]+="$(netc $row)"$'\n'; T[$row]+="$(torch $row)"$'\n'
  done
  for net in "${nets[@]}"; do
    N[$net]+="$(netc "$net" infer 1)"$'\n'; T[$net]+="$(torch "$net" infer 1)"$'\n'
    [ "$net" != lenet-mnist ] && O[$net]+="$(ort "$net")"$'\n'
  done
done

printf '%-12s %-6s %5s  %12s %12s %7s\n' net mode batch netc_img/s torch_img/s ratio
for row in "${trains[@]}"; do
  set -- $row
  n=$(printf '%s' "${N[$row]}" | best max); t=$(printf '%s' "${T[$row]}" | best max)
  printf '%-12s %-6s %5s  %12s %12s %7s\n' "$1" "$2" "$3" "$n" "$t" "$(ratio "$n" "$t")"
done
echo
printf '%-12s %-6s %5s  %10s %10s %10s %9s %9s\n' net mode batch netc_ms torch_ms ort_ms vs_torch vs_ort
for net in "${nets[@]}"; do
  n=$(printf '%s' "${N[$net]}" | best max); t=$(printf '%s' "${T[$net]}" | best max)
  o=$(printf '%s' "${O[$net]:-}" | best min)
  nm=$(ms "$n"); tm=$(ms "$t")
  printf '%-12s %-6s %5s  %10s %10s %10s %9s %9s\n' "$net" infer 1 "$nm" "$tm" "$o" "$(ratio "$tm" "$nm")" "$(ratio "$o" "$nm")"
done
echo "(ratios: how many times faster netc is; best of $rounds runs each; THREADS=$threads)"
