#!/usr/bin/env bash
# Builds the libFuzzer targets (the "fuzz" preset: clang, ASan + UBSan) and runs each for a while.
#
#   scripts/fuzz.sh [SECONDS_EACH] [TARGET...]
#
# SECONDS_EACH (default 60) is the time per target; TARGETs are names such as model_step or gguf
# (default: every target the build has). Each target keeps a corpus that grows from run to run in
# $ACORN_FUZZ_CORPUS/<target> (default build/fuzz-corpus), starting from the committed seeds
# (tests/fuzz/seeds/<target>/) and the generated ones (acorn_fuzz_seeds). A crash, leak, timeout or
# out-of-memory is saved under $ACORN_FUZZ_CORPUS/findings/<target>/; the script prints executions
# and findings per target and exits 1 if any target found something.
#
# Long runs, e.g. overnight on every core: ACORN_FUZZ_FORK=$(nproc) scripts/fuzz.sh 28800 model_step
# Other settings: ACORN_FUZZ_TIMEOUT (seconds one input may take, default 10), ACORN_FUZZ_RSS_MB
# (default 2048), ACORN_FUZZ_ARGS (extra libFuzzer flags). Replay a finding with
#   build/fuzz/tests/fuzz/acorn_<target>_fuzzer FILE
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
shift || true
corpus_root=${ACORN_FUZZ_CORPUS:-build/fuzz-corpus}
timeout_s=${ACORN_FUZZ_TIMEOUT:-10}
rss_mb=${ACORN_FUZZ_RSS_MB:-2048}
fork=${ACORN_FUZZ_FORK:-0}
extra_args=${ACORN_FUZZ_ARGS:-}
bin_dir=build/fuzz/tests/fuzz

launcher=()
if command -v ccache >/dev/null 2>&1; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
echo "== fuzz: configure and build (preset fuzz)"
cmake --preset fuzz "${launcher[@]}" >/dev/null
cmake --build --preset fuzz -j "$(nproc)"

if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  targets=()
  for f in "$bin_dir"/acorn_*_fuzzer; do
    [ -x "$f" ] || continue
    name=${f##*/acorn_}
    targets+=("${name%_fuzzer}")
  done
fi
if [ "${#targets[@]}" -eq 0 ]; then
  echo "fuzz.sh: no fuzz targets were built" >&2
  exit 1
fi

mkdir -p "$corpus_root"
corpus_root=$(cd "$corpus_root" && pwd)
generated="$corpus_root/generated"
rm -rf "$generated"
"$bin_dir/acorn_fuzz_seeds" "$generated" >/dev/null

summary=()
failed=0
for t in "${targets[@]}"; do
  bin="$bin_dir/acorn_${t}_fuzzer"
  if [ ! -x "$bin" ]; then
    echo "fuzz.sh: no target '$t' ($bin was not built)" >&2
    failed=1
    continue
  fi
  corpus="$corpus_root/$t"
  findings="$corpus_root/findings/$t"
  log="$corpus_root/logs/$t.log"
  mkdir -p "$corpus" "$findings" "${log%/*}"
  inputs=("$corpus")
  [ -d "tests/fuzz/seeds/$t" ] && inputs+=("tests/fuzz/seeds/$t")
  [ "$t" = chat_template ] && inputs+=("tests/fixtures/chat")  # the real templates
  [ -d "$generated/$t" ] && inputs+=("$generated/$t")
  args=(-max_total_time="$seconds" -timeout="$timeout_s" -rss_limit_mb="$rss_mb" -print_final_stats=1
        -artifact_prefix="$findings/")
  [ -f "tests/fuzz/$t.dict" ] && args+=(-dict="tests/fuzz/$t.dict")
  [ "$fork" -gt 0 ] && args+=(-fork="$fork" -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
  # shellcheck disable=SC2206
  [ -n "$extra_args" ] && args+=($extra_args)
  before=$(find "$findings" -type f | wc -l)
  echo "== fuzz: $t for ${seconds}s (corpus $corpus)"
  start=$(date +%s)
  rc=0
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    "$bin" "${args[@]}" "${inputs[@]}" >"$log" 2>&1 || rc=$?
  elapsed=$(( $(date +%s) - start ))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  if [ -z "$execs" ]; then  # -fork prints its own totals; a crash ends without stats
    execs=$(grep -o '^#[0-9]*' "$log" | tail -n 1 | tr -d '#')
  fi
  new=$(( $(find "$findings" -type f | wc -l) - before ))
  if [ "$rc" -ne 0 ] || [ "$new" -gt 0 ]; then
    failed=1
    echo "fuzz.sh: $t: FINDING (exit $rc, $new new file(s) in $findings); log: $log"
    grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error:|    #[0-9] )' "$log" | head -n 20 || true
  fi
  summary+=("$(printf '%-16s %12s %7ss %8s %9s' "$t" "${execs:-?}" "$elapsed" "$(find "$corpus" -type f | wc -l)" "$new")")
done

echo "== fuzz: summary"
printf '%-16s %12s %8s %8s %9s\n' target executions time corpus findings
printf '%s\n' "${summary[@]}"
exit "$failed"
