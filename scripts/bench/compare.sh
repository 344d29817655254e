#!/usr/bin/env bash
# acorn and llama.cpp on the same weights, in one run: for each shape and dtype, a random-weight GGUF
# (scripts/bench/make_random_gguf.py) that llama-bench reads as it is and acorn-convert turns into a
# bundle byte for byte; then llama-bench and acorn-bench, pp512 and tg128, the same repetitions.
# Prints every raw result, then one table of medians and ratios. Not part of CI.
#
# usage: scripts/bench/compare.sh [options]
#   --backend cuda|cpu     (default cuda)
#   --llama-bench PATH     llama.cpp's llama-bench (scripts/llamacpp/build.sh builds it from the
#                          llama-cpp-python sdist); without it only acorn runs
#   --gguf FILE            one GGUF of your own instead of the random shapes (llama architecture)
#   --shapes "A B"         llama3.2-1b llama2-7b (default both)
#   --dtypes "A B"         q4_0 q8_0 f16 (default "q4_0 q8_0")
#   --reps N               repetitions (default 3)
#   --threads "N M"        CPU thread counts, each measured on the same files (default: all cores)
#   --fa "0 1"             llama.cpp flash-attention settings to run (default both)
#   --acorn DIR            acorn build folder (default build/cuda, else build/release)
#   --work DIR             scratch for the model files (default /tmp/acorn-compare)
set -uo pipefail
cd "$(dirname "$0")/../.."
backend=cuda llama_bench="" shapes="llama3.2-1b llama2-7b" dtypes="q4_0 q8_0" reps=3 threads=$(nproc) own= fas="0 1"
acorn=""
work=/tmp/acorn-compare
while [ $# -gt 0 ]; do
  case "$1" in
    --backend) backend=$2; shift 2 ;;
    --llama-bench) llama_bench=$2; shift 2 ;;
    --shapes) shapes=$2; shift 2 ;;
    --dtypes) dtypes=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --fa) fas=$2; shift 2 ;;
    --acorn) acorn=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --gguf) own=$2; shapes=$(basename "${2%.gguf}"); dtypes=file; shift 2 ;;
    -h|--help) sed -n 2,18p "$0"; exit 0 ;;
    *) echo "compare.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ -z "$acorn" ]; then acorn=build/cuda; [ -x $acorn/tools/acorn-bench/acorn-bench ] || acorn=build/release; fi
for t in acorn-convert acorn-bench; do
  [ -x "$acorn/tools/$t/$t" ] || { echo "compare.sh: $acorn/tools/$t/$t missing: build acorn first" >&2; exit 1; }
done
mkdir -p "$work"
summary=$work/summary.txt
: > "$summary"
ngl=()
[ "$backend" = cuda ] && ngl=(-ngl 99)

echo "== memory bandwidth"
"$acorn/tools/acorn-bench/acorn-bench" --bandwidth --backend "$backend" -t "$(echo $threads | tr ' ' ,)" -r 5 |
  tee "$work/bandwidth.txt"

for shape in $shapes; do
  for dtype in $dtypes; do
    gguf=$work/$shape.$dtype.gguf
    bundle=$work/$shape.$dtype.acorn
    echo "== $shape $dtype"
    if [ -n "$own" ]; then
      gguf=$own
    else
      python3 scripts/bench/make_random_gguf.py --shape "$shape" --dtype "$dtype" -o "$gguf" || exit 1
    fi
    "$acorn/tools/acorn-convert/acorn-convert" "$gguf" -o "$bundle" --quiet --max-tokens 512 --context 1024 || exit 1
    for th in $threads; do
      if [ -n "$llama_bench" ]; then
        for fa in $fas; do
          "$llama_bench" -m "$gguf" "${ngl[@]}" -p 512 -n 128 -r "$reps" -t "$th" -fa $fa 2>/dev/null |
            tee "$work/llama.$shape.$dtype.t$th.fa$fa.txt"
          for test in pp512 tg128; do
            v=$(grep -E "\| +$test +\|" "$work/llama.$shape.$dtype.t$th.fa$fa.txt" | awk -F'|' '{print $(NF-1)}' | awk '{print $1}')
            echo "$shape $dtype $th llama.cpp(fa=$fa) $test ${v:-?}" >> "$summary"
          done
        done
      fi
      "$acorn/tools/acorn-bench/acorn-bench" -m "$bundle" --backend "$backend" -p 512 -n 128 -r "$reps" -t "$th" |
        tee "$work/acorn.$shape.$dtype.t$th.txt"
      for test in pp512 tg128; do
        v=$(grep -E "\| $test \|" "$work/acorn.$shape.$dtype.t$th.txt" | awk -F'|' '{print $5}' | tr -d ' ')
        echo "$shape $dtype $th acorn $test ${v:-?}" >> "$summary"
      done
    done
    [ -n "$own" ] || rm -f "$gguf"
    rm -f "$bundle"
  done
done
echo
echo "== medians (tokens/s)"
printf "| shape | dtype | threads | test | acorn | llama.cpp | llama.cpp (flash attn) | acorn / best llama.cpp |\n|---|---|---|---|---|---|---|---|\n"
for shape in $shapes; do
  for dtype in $dtypes; do
    for th in $threads; do
      for test in pp512 tg128; do
        pick() { awk -v s="$shape" -v d="$dtype" -v n="$th" -v w="$1" -v t="$test" '$1==s && $2==d && $3==n && $4==w && $5==t {print $6}' "$summary"; }
        a=$(pick acorn) l0=$(pick "llama.cpp(fa=0)") l1=$(pick "llama.cpp(fa=1)")
        ratio=$(awk -v a="${a:-0}" -v x="${l0:-0}" -v y="${l1:-0}" 'BEGIN{b=(x>y?x:y); if (b>0 && a>0) printf "%.2f", a/b; else print "-"}')
        echo "| $shape | $dtype | $th | $test | ${a:--} | ${l0:--} | ${l1:--} | $ratio |"
      done
    done
  done
done
