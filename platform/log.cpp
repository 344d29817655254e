// Log routing shared by every platform: formats once, then hands the line to the sink the platform
// or the application installed.
#include <cstdarg>
#include <cstdio>

#include "acorn/platform.h"

namespace acorn {
namespace platform {
void DefaultLogSink(LogLevel level, const char* message, void* user);
}

namespace {
LogSink g_sink = platform::DefaultLogSink;
void* g_user = nullptr;
LogLevel g_level = LogLevel::kWarning;
}  // namespace

void SetLogSink(LogSink sink, void* user) {
  g_sink = sink;
  g_user = user;
}

void SetLogLevel(LogLevel level) { g_level = level; }

void Log(LogLevel level, const char* fmt, ...) {
  if (level < g_level || g_sink == nullptr) return;
  char buffer[512];
  va_list args;
  va_start(args, fmt);
  std::vsnprintf(buffer, sizeof buffer, fmt, args);
  va_end(args);
  g_sink(level, buffer, g_user);
}

}  // namespace acorn
