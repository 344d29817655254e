#!/usr/bin/env bash
# Estimates the ARM64 kernels' inner loops with llvm-mca, beside ggml's NEON loops compiled the
# same way, since no ARM hardware is at hand. An estimate, not a measurement: llvm-mca models the
# core's pipeline from LLVM's scheduling model, with every load hitting L1 and no branch misses.
#
# For each ARM level (neon = armv8-a, dotprod = armv8.2-a+dotprod, i8mm = +i8mm) it compiles
# acorn's kernels (kernels/cpu/matmul_neon*.cpp, each tile exported by a small wrapper) and
# llama.cpp's ggml-cpu/arch/arm/quants.c (fetched at run time from PyPI's llama-cpp-python source by
# scripts/llamacpp/fetch.sh; never committed) with clang --target=aarch64-linux-gnu -O3 and the
# level's -march; scripts/arm64/mca_loop.py finds each function's hot loop in the assembly and runs
# llvm-mca on it per CPU model. Prints a Markdown table: cycles per 32-value block (per block
# product of one row and one token for the integer kernels; per row for the float ones).
#
# usage: scripts/arm64/estimate.sh [CPU...]   (default: apple-m1 cortex-x1 neoverse-v1 cortex-a55)
#   ACORN_LLAMACPP_WORK: where fetch.sh keeps llama.cpp (default /tmp/acorn-llamacpp)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
cpus=("$@")
[ ${#cpus[@]} -eq 0 ] && cpus=(apple-m1 cortex-x1 neoverse-v1 cortex-a55)
for tool in clang++ clang llvm-mca python3; do
  command -v $tool >/dev/null || { echo "estimate.sh: $tool not found (apt-get install clang llvm)" >&2; exit 1; }
done
work=$(mktemp -d /tmp/acorn-arm64-estimate.XXXXXX)
trap 'rm -rf "$work"' EXIT
target=(--target=aarch64-linux-gnu -O3)
declare -A march=([neon]=armv8-a [dotprod]=armv8.2-a+dotprod [i8mm]=armv8.2-a+dotprod+i8mm)
declare -A source=([neon]=matmul_neon.cpp [dotprod]=matmul_neon_dotprod.cpp [i8mm]=matmul_neon_i8mm.cpp)

# acorn: one translation unit per level that includes the level's kernel file and exports its tiles.
for level in neon dotprod i8mm; do
  {
    echo "#include \"$root/kernels/cpu/${source[$level]}\""
    echo "namespace acorn { namespace cpu { namespace internal {"
    echo "#define TILE(name, ...) extern \"C\" void name(const MatMulArgs& a, int64_t n, int64_t t) { __VA_ARGS__(a, n, t); }"
    case $level in
      neon)
        echo "TILE(q4_0_decode, TileQ<NeonOps, kDecodeRows, 1, true>)"
        echo "TILE(q8_0_decode, TileQ<NeonOps, kDecodeRows, 1, false>)"
        echo "TILE(q4_0_prefill, TileQ<NeonOps, kRows, kToks, true>)"
        echo "TILE(q8_0_prefill, TileQ<NeonOps, kRows, kToks, false>)"
        echo "TILE(f32_decode, TileF<NeonFOps, float, kRows, 1>)"
        echo "TILE(f16_decode, TileF<NeonFOps, uint16_t, kRows, 1>)"
        echo "extern \"C\" void quantize(const float* x, int64_t K, int8_t* q, float* d, int32_t* s) { QuantizeRowNeon(x, K, q, d, s); }" ;;
      dotprod)
        echo "TILE(q4_0_decode, TileQ<DotprodOps, kDecodeRows, 1, true>)"
        echo "TILE(q8_0_decode, TileQ<DotprodOps, kDecodeRows, 1, false>)"
        echo "TILE(q4_0_prefill, TileQ<DotprodOps, kDotRows, kDotToks, true>)"
        echo "TILE(q8_0_prefill, TileQ<DotprodOps, kDotRows, kDotToks, false>)" ;;
      i8mm)
        echo "TILE(q4_0_prefill, TileMmla<kRowPairs, kTokPairs, true>)"
        echo "TILE(q8_0_prefill, TileMmla<kRowPairs, kTokPairs, false>)" ;;
    esac
    echo "}}}"
  } > "$work/acorn_$level.cpp"
  clang++ "${target[@]}" -std=c++17 -march="${march[$level]}" -DACORN_ARM64_KERNELS=1 -I"$root/kernels/cpu" \
    -I"$root/kernels/reference" -I"$root/runtime/include" -I"$root/runtime" -I"$root/platform/include" \
    -S "$work/acorn_$level.cpp" -o "$work/acorn_$level.s"
done

# ggml: quants.c as llama.cpp builds it for each level.
ggml=""
if src=$(bash scripts/llamacpp/fetch.sh "${ACORN_LLAMACPP_WORK:-/tmp/acorn-llamacpp}" 2>"$work/fetch.log" | tail -n1) &&
   [ -f "$src/ggml/src/ggml-cpu/arch/arm/quants.c" ]; then
  ggml=$src/ggml
  for level in neon dotprod i8mm; do
    clang "${target[@]}" -march="${march[$level]}" -D_GNU_SOURCE -I"$ggml/include" -I"$ggml/src" -I"$ggml/src/ggml-cpu" \
      -S "$ggml/src/ggml-cpu/arch/arm/quants.c" -o "$work/ggml_$level.s"
  done
else
  echo "estimate.sh: could not fetch llama.cpp (see below); the ggml columns stay empty" >&2
  cat "$work/fetch.log" >&2
fi

# cycles ASM FUNCTION MNEMONIC UNITS: per-unit cycles for each CPU, space separated ("-" if absent).
cycles() {
  [ -f "$1" ] || { for _ in "${cpus[@]}"; do printf -- "- "; done; return; }
  python3 scripts/arm64/mca_loop.py "$@" "${cpus[@]}" | awk '{ printf "%s ", ($2 == "error" ? "-" : $3) }'
}

# kernel | level | unit | acorn function, its loop's mnemonic, units per iteration | ggml's
rows=(
  "q4_0 × Q8_0, decode|neon|4 rows × 1 block; ggml 2 blocks|q4_0_decode smull 4|ggml_vec_dot_q4_0_q8_0 smull 2"
  "q4_0 × Q8_0, decode|dotprod|as above|q4_0_decode sdot 4|ggml_vec_dot_q4_0_q8_0 sdot 2"
  "q8_0 × Q8_0, decode|neon|4 rows × 1 block; ggml 2 blocks|q8_0_decode smull 4|ggml_vec_dot_q8_0_q8_0 smull 2"
  "q8_0 × Q8_0, decode|dotprod|as above|q8_0_decode sdot 4|ggml_vec_dot_q8_0_q8_0 sdot 2"
  "q4_0 × Q8_0, prefill|neon|4 rows × 2 tokens|q4_0_prefill smull 8|"
  "q4_0 × Q8_0, prefill|dotprod|4 rows × 4 tokens|q4_0_prefill sdot 16|"
  "q4_0 × Q8_0, prefill|i8mm|4 rows × 4 tokens; ggml 2 × 2|q4_0_prefill smmla 16|ggml_vec_dot_q4_0_q8_0 smmla 4"
  "q8_0 × Q8_0, prefill|neon|4 rows × 2 tokens|q8_0_prefill smull 8|"
  "q8_0 × Q8_0, prefill|dotprod|4 rows × 4 tokens|q8_0_prefill sdot 16|"
  "q8_0 × Q8_0, prefill|i8mm|4 rows × 4 tokens; ggml 2 × 2|q8_0_prefill smmla 16|ggml_vec_dot_q8_0_q8_0 smmla 4"
  "f32 × f32, decode|neon|4 rows × 4 values|f32_decode fmla 0.5|"
  "f16 × f32, decode|neon|4 rows × 4 values|f16_decode fcvtl 0.5|"
  "quantize f32 → Q8_0|neon|1 block|quantize fcvtas 1|quantize_row_q8_0 fcvtns 1"
)
header="| kernel | level | loop iteration |"
rule="|---|---|---|"
for cpu in "${cpus[@]}"; do header+=" acorn $cpu | ggml $cpu |"; rule+="---:|---:|"; done
echo "$header"
echo "$rule"
for row in "${rows[@]}"; do
  IFS='|' read -r kernel level unit ours theirs <<< "$row"
  read -r -a a <<< "$(cycles "$work/acorn_$level.s" $ours)"
  if [ -n "$theirs" ] && [ -n "$ggml" ]; then read -r -a g <<< "$(cycles "$work/ggml_$level.s" $theirs)"; else g=(); fi
  line="| $kernel | $level | $unit |"
  for i in "${!cpus[@]}"; do line+=" ${a[$i]:--} | ${g[$i]:--} |"; done
  echo "$line"
done
echo
echo "llvm-mca $(llvm-mca --version | sed -n 's/.*LLVM version \([0-9.]*\).*/\1/p'), clang $(clang --version | sed -n 's/.*clang version \([0-9.]*\).*/\1/p')${ggml:+, llama.cpp from $(basename "$(dirname "$(dirname "$(dirname "$ggml")")")")}"
