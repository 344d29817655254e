# Cross toolchain for a Cortex-M55 microcontroller with no OS: Debian's gcc-arm-none-eabi with
# newlib, hard-float ABI with the M55's FPU and MVE (Helium). Used by the `cortex-m55`
# preset; scripts/firmware/test.sh builds examples/firmware with it and runs the image on QEMU's
# mps3-an547 board (a Cortex-M55).
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)

set(CMAKE_C_COMPILER arm-none-eabi-gcc)
set(CMAKE_CXX_COMPILER arm-none-eabi-g++)
set(CMAKE_ASM_COMPILER arm-none-eabi-gcc)
set(CMAKE_AR arm-none-eabi-ar)
set(CMAKE_RANLIB arm-none-eabi-ranlib)
set(CMAKE_OBJCOPY arm-none-eabi-objcopy)
set(CMAKE_SIZE arm-none-eabi-size)
set(CMAKE_STRIP arm-none-eabi-strip)

# No host linking while CMake checks the compiler: there is no startup code or linker script yet.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

# One function and one object per section, so that --gc-sections drops everything the image
# does not call (the loader's file paths, the tools' writers, unused kernels).
set(ACORN_M55_FLAGS "-mcpu=cortex-m55 -mthumb -mfloat-abi=hard -ffunction-sections -fdata-sections")
set(CMAKE_C_FLAGS_INIT "${ACORN_M55_FLAGS}")
set(CMAKE_CXX_FLAGS_INIT "${ACORN_M55_FLAGS} -fno-exceptions -fno-rtti -fno-threadsafe-statics")
set(CMAKE_ASM_FLAGS_INIT "${ACORN_M55_FLAGS}")
# Full newlib, not nano: its printf has %zu and 64-bit integers, which the runtime's messages use.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-Wl,--gc-sections -Wl,--no-warn-execstack")

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
