#!/usr/bin/env bash
# Installs a build of acorn into a fresh prefix and builds applications against that prefix only:
# the CMake consumer (find_package(acorn): the C example on the shared and the static library, a
# C++ program including every installed header) and the C example through pkg-config. Each must
# give the in-tree example's greedy reply. Also checks what the package holds: no private header,
# and a CPU-only application that does not depend on CUDA.
#
# usage: consume_installed.sh BUILD_DIR SOURCE_DIR MODEL IN_TREE_MINIMAL [WORK_DIR]
set -euo pipefail
build=$1 src=$2 model=$3 in_tree=$4
work=${5:-$(mktemp -d)}
rm -rf "$work" && mkdir -p "$work"
prefix=$work/prefix
prompt="What is 2 plus 3?"

echo "== install into $prefix"
cmake --install "$build" --prefix "$prefix" > "$work/install.log"
fail() { echo "consume_installed: $*" >&2; exit 1; }
for f in include/acorn/acorn.h include/acorn/model.h include/acorn/kernel.h include/acorn/version.h; do
  [ -f "$prefix/$f" ] || fail "the package lacks $f"
done
libdir=$(dirname "$(find "$prefix" -name 'libacorn.so.*' -type f | head -1)")
[ -f "$libdir/libacorn.a" ] || fail "the package lacks libacorn.a"
[ -f "$libdir/cmake/acorn/acornConfig.cmake" ] || fail "the package lacks acornConfig.cmake"
[ -f "$libdir/pkgconfig/acorn.pc" ] || fail "the package lacks acorn.pc"
for private in kernel_table.h accelerator.h bound_graph.h acorn_generated.h limits.h; do
  if find "$prefix/include" -name "$private" | grep -q .; then fail "private header $private was installed"; fi
done
# No installed header may include one that is not installed.
for h in "$prefix"/include/acorn/*.h; do
  for inc in $(sed -n 's/^#include "\(.*\)".*/\1/p' "$h"); do
    [ -f "$prefix/include/$inc" ] || fail "$(basename "$h") includes \"$inc\", which is not installed"
  done
done

expected=$("$in_tree" "$model" "$prompt")
[ -n "$expected" ] || fail "the in-tree example gave an empty reply"
check_reply() {
  local name=$1 got
  got=$("$2" "$model" "$prompt") || fail "$name failed"
  [ "$got" == "$expected" ] || fail "$name replied '$got', the in-tree example '$expected'"
  echo "$name: $got"
}

with_cuda=OFF
[ -n "$(find "$prefix" -name 'libacorn_cuda.so.*' -type f)" ] && with_cuda=ON
echo "== CMake consumer (find_package(acorn), CUDA component: $with_cuda)"
cmake -S "$src/tests/package/consumer" -B "$work/consumer" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" -DMINIMAL_SOURCE="$src/examples/minimal/main.c" -DWITH_CUDA=$with_cuda \
  > "$work/consumer-configure.log" \
  || { cat "$work/consumer-configure.log"; fail "the consumer does not configure"; }
cmake --build "$work/consumer" > "$work/consumer-build.log" 2>&1 \
  || { cat "$work/consumer-build.log"; fail "the consumer does not build"; }
check_reply "find_package, shared library" "$work/consumer/minimal_shared"
check_reply "find_package, static library" "$work/consumer/minimal_static"
"$work/consumer/cxx_api" "$model" || fail "the C++ consumer failed"
if readelf -d "$work/consumer/minimal_shared" | grep -Ei "NEEDED.*(cuda|cudart)"; then
  fail "a CPU-only application depends on CUDA"
fi
readelf -d "$work/consumer/minimal_shared" | grep -q "libacorn.so" || fail "minimal_shared does not use libacorn.so"

# The CUDA backend from an application that linked only libacorn: loaded by name when installed
# (then it runs, or says why the device is unusable), a clear error when not.
probe=$("$work/consumer/backend_probe" "$model" cuda || true)
echo "backend_probe cuda: $probe"
if [ "$with_cuda" = ON ]; then
  case "$probe" in
    *"could not be loaded"*) fail "libacorn_cuda is installed but libacorn did not load it: $probe" ;;
    loaded|*"backend cuda is unavailable"*) ;;
    *) fail "unexpected answer for cuda: $probe" ;;
  esac
  linked=$("$work/consumer/backend_probe_cuda" "$model" cuda || true)
  echo "backend_probe_cuda cuda: $linked"
  [ "$linked" = "$probe" ] || fail "linking acorn::cuda gave '$linked', loading it by name '$probe'"
  static=$("$work/consumer/backend_probe_cuda_static" "$model" cuda || true)
  echo "backend_probe_cuda_static cuda: $static"
  [ "$static" = "$probe" ] || fail "linking acorn::cuda_static gave '$static', loading it by name '$probe'"
else
  case "$probe" in
    *"could not be loaded"*) ;;
    *) fail "without libacorn_cuda, asking for cuda should say it could not be loaded: $probe" ;;
  esac
fi

echo "== pkg-config consumer"
export PKG_CONFIG_PATH=$libdir/pkgconfig
cc -std=c11 -Wall -Wextra -Werror -pedantic "$src/examples/minimal/main.c" -o "$work/minimal_pc" \
  $(pkg-config --cflags --libs acorn) -Wl,-rpath,"$(pkg-config --variable=libdir acorn)" \
  || fail "the C example does not build with pkg-config"
check_reply "pkg-config, shared library" "$work/minimal_pc"
echo "== the installed package works"
