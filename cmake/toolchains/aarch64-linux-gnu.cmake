# Cross build for 64-bit ARM Linux with Debian's cross compilers (g++-aarch64-linux-gnu) and the
# arm64 multiarch libraries (libzstd-dev:arm64, libgtest-dev:arm64); scripts/arm64/test.sh installs
# them. Tests run under qemu-aarch64 through CMAKE_CROSSCOMPILING_EMULATOR, so ctest and GoogleTest's
# test discovery work unchanged; QEMU_CPU in the environment picks the emulated CPU model.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(ACORN_CROSS_TRIPLE aarch64-linux-gnu)
set(CMAKE_C_COMPILER ${ACORN_CROSS_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${ACORN_CROSS_TRIPLE}-g++)
# Debian multiarch: arm64 libraries in /usr/lib/aarch64-linux-gnu, headers shared in /usr/include.
set(CMAKE_LIBRARY_ARCHITECTURE ${ACORN_CROSS_TRIPLE})
# Programs (flatc) run on the build machine; libraries are searched for in the arm64 paths only
# (CMAKE_LIBRARY_ARCHITECTURE above), never the build machine's own.
set(CMAKE_FIND_ROOT_PATH /usr/${ACORN_CROSS_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)

find_program(ACORN_QEMU_AARCH64 qemu-aarch64)
if(ACORN_QEMU_AARCH64)
  if(EXISTS /lib/ld-linux-aarch64.so.1)
    # Multiarch arm64 C library (libc6:arm64, libstdc++6:arm64): the loader and the libraries it
    # finds through /etc/ld.so.cache are one version. Pointing qemu at the cross sysroot (-L) as
    # well would pair that sysroot's loader with the multiarch libc, a mismatch that hangs in
    # pthread_create.
    set(CMAKE_CROSSCOMPILING_EMULATOR ${ACORN_QEMU_AARCH64})
  else()
    # Only the cross compiler's sysroot: qemu finds the arm64 loader and libraries there.
    set(CMAKE_CROSSCOMPILING_EMULATOR ${ACORN_QEMU_AARCH64} -L /usr/${ACORN_CROSS_TRIPLE})
  endif()
endif()
