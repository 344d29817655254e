// The C++ API from outside the tree: every installed header compiles on its own terms (no private
// header is reachable from them), and a model loads and tokenizes. `cxx_api MODEL`.
#include "acorn/acorn.h"
#include "acorn/bundle.h"
#include "acorn/chat.h"
#include "acorn/chat_template.h"
#include "acorn/dtype.h"
#include "acorn/encoder.h"
#include "acorn/generate.h"
#include "acorn/half.h"
#include "acorn/kernel.h"
#include "acorn/memory_plan.h"
#include "acorn/model.h"
#include "acorn/platform.h"
#include "acorn/sampler.h"
#include "acorn/span.h"
#include "acorn/status.h"
#include "acorn/tokenizer.h"
#include "acorn/tokenizer_spec.h"
#include "acorn/version.h"

#include <cstdio>
#include <cstring>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  if (std::strcmp(acorn_version(), ACORN_VERSION_STRING) != 0) {
    std::fprintf(stderr, "header version %s, library %s\n", ACORN_VERSION_STRING, acorn_version());
    return 1;
  }
  auto model = acorn::Model::Load(argv[1]);
  if (!model.ok()) {
    std::fprintf(stderr, "%s\n", model.status().ToString().c_str());
    return 1;
  }
  const acorn::Tokenizer* tokenizer = (*model)->tokenizer();
  if (tokenizer == nullptr) return 1;
  std::vector<int32_t> ids = tokenizer->Encode("hello", /*add_special_tokens=*/false);
  std::printf("%zu tokens, vocabulary %lld, arena %llu bytes\n", ids.size(),
              static_cast<long long>((*model)->vocab_size()),
              static_cast<unsigned long long>((*model)->plan().arena_bytes));
  return ids.empty() ? 1 : 0;
}
