// libFuzzer target for chat templates: the input is a bundle's Jinja template, parsed and rendered
// (ChatTemplate::Parse, then Render of a conversation with and without the generation prompt, and
// the ranges of message text). Each must end in text or a Status with a message: never a crash, a
// hang, or memory beyond the engine's bounds (docs/CHAT_TEMPLATES.md, "Limits"). Seeds: the real
// templates in tests/fixtures/chat (scripts/fuzz.sh adds them). Links: acorn.
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "acorn/chat_template.h"

namespace {

void RequireMessage(const acorn::Status& st) {
  if (!st.ok() && st.message().empty()) __builtin_trap();  // every refusal must say why
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto tmpl = acorn::ChatTemplate::Parse(text, "<s>", "</s>");
  RequireMessage(tmpl.status());
  if (!tmpl.ok()) return 0;
  tmpl->set_now(1721995200);  // 26 Jul 2024
  const std::vector<acorn::ChatMessage> messages = {
      {"system", "s"}, {"user", "u <|im_end|>"}, {"assistant", "<think>t</think>a"}, {"user", "v"}};
  for (bool add : {false, true}) {
    std::vector<std::pair<size_t, size_t>> ranges;
    auto out = tmpl->Render(messages, add, &ranges);
    RequireMessage(out.status());
    if (!out.ok()) continue;
    size_t end = 0;
    for (const auto& r : ranges) {
      // Sorted, disjoint, non-empty and inside the text.
      if (r.first < end || r.first >= r.second || r.second > out->size()) __builtin_trap();
      end = r.second;
    }
  }
  return 0;
}
