// The tokenizer and chat template of a Hugging Face model directory, attached to the bundle:
// tokenizer.json when present, else a SentencePiece tokenizer.model; the chat template from
// tokenizer_config.json. A directory with neither converts too, with no tokenizer in the bundle.
#pragma once

#include <string>

#include "bundle_writer.h"

namespace acorn {
namespace convert {

// Sets the writer's tokenizer and chat template from `dir`. *what receives a short description
// ("tokenizer.json (BPE, 128256 tokens)", or "none").
Status AttachHfTokenizer(const std::string& dir, BundleWriter* writer, std::string* what);

// tokenizer_config.json's text: bos_token / eos_token strings and the chat template. Values of the
// wrong type are errors naming `label` and the key.
Status ApplyTokenizerConfig(const std::string& text, const std::string& label, BundleWriter* writer);

}  // namespace convert
}  // namespace acorn
