// The entry point every acorn tool and example runs through: whatever escapes the tool's own error
// handling (an allocation the system refuses, an exception from a library) ends as one line on
// stderr and exit code 1, never as an abort with a core dump.
#pragma once

#include <cstdio>
#include <exception>
#include <new>

namespace acorn {
namespace tools {

inline int GuardedMain(const char* tool, int (*main_fn)(int, char**), int argc, char** argv) {
  try {
    return main_fn(argc, argv);
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "%s: out of memory; try a smaller model, context or batch, or close other programs\n", tool);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", tool, e.what());
  }
  return 1;
}

}  // namespace tools
}  // namespace acorn
