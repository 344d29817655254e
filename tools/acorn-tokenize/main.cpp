// acorn-tokenize: prints the token ids of a text (as a JSON array on one line), or the text of a
// list of ids, with a tokenizer.json or the tokenizer inside a .acorn bundle; with a bundle, also
// the prompt a conversation becomes under its chat template (what acorn-chat feeds the model).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "tool_main.h"
#include <nlohmann/json.hpp>

#include "acorn/bundle.h"
#include "acorn/chat_template.h"
#include "acorn/tokenizer.h"
#include "sentencepiece_model.h"
#include "tokenizer/tokenizer_bundle.h"
#include "tokenizer_json.h"

namespace {

const char kHelp[] =
    "usage: acorn-tokenize TOKENIZER [--text S | --text-file F] [--no-special]\n"
    "       acorn-tokenize TOKENIZER --decode ID,ID,... [--skip-special]\n"
    "       acorn-tokenize BUNDLE.acorn --chat MESSAGES.json [--no-generation-prompt] [--print-text]\n"
    "\n"
    "Encodes text into token ids, or decodes ids into text, exactly as Hugging Face `tokenizers`\n"
    "would (encode(text, add_special_tokens=True).ids; decode(ids, skip_special_tokens=False)).\n"
    "\n"
    "TOKENIZER       a Hugging Face tokenizer.json, a .acorn bundle (its tokenizer table), or a\n"
    "                SentencePiece BPE tokenizer.model (read as HF's Llama 2 tokenizer.json is laid out)\n"
    "--text S        the text to encode\n"
    "--text-file F   encode the bytes of file F, exactly, as one text (no newline is stripped)\n"
    "                (with neither, the text is read from standard input, all of it)\n"
    "--no-special    do not add the post-processor's special tokens (add_special_tokens=False)\n"
    "--decode IDS    comma-separated ids; prints the decoded text and one newline\n"
    "--skip-special  when decoding, drop special tokens (skip_special_tokens=True)\n"
    "--chat F        render the conversation in F (a JSON array of {\"role\", \"content\"}, roles system,\n"
    "                user, assistant) with the bundle's chat template, as transformers'\n"
    "                apply_chat_template does, and print the prompt's ids as acorn-chat encodes them\n"
    "                (special tokens typed in a message stay text)\n"
    "--no-generation-prompt  leave out the opening of the assistant's turn (add_generation_prompt=False)\n"
    "--print-text    with --chat, print the rendered prompt text itself, byte for byte, instead\n"
    "\n"
    "Encoding prints the ids as a JSON array on one line. Text that is not valid UTF-8 is\n"
    "repaired first: each maximal ill-formed byte sequence becomes U+FFFD.\n";

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::stringstream buffer;
  buffer << in.rdbuf();
  *out = buffer.str();
  return true;
}

bool EndsWith(const std::string& s, const char* suffix) {
  const size_t n = std::strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

acorn::Result<acorn::TokenizerSpec> LoadSpec(const std::string& path) {
  uint8_t head[12] = {};
  std::ifstream in(path, std::ios::binary);
  if (!in) return ACORN_ERROR(kIo, "cannot read %s", path.c_str());
  in.read(reinterpret_cast<char*>(head), sizeof(head));
  // A bundle is opened as the runtime opens it (size-prefixed FlatBuffer, verified whole); a file
  // named .acorn that is not one gets the loader's message rather than a JSON parse error.
  if (EndsWith(path, ".acorn") || acorn::Bundle::HasIdentifier(head, static_cast<size_t>(in.gcount()))) {
    auto bundle = acorn::Bundle::Open(path.c_str());
    if (!bundle.ok()) return bundle.status();
    auto spec = acorn::TokenizerSpecFromBundle((*bundle)->flatbuffer()->tokenizer());
    if (!spec.ok()) return acorn::Status(spec.status().code(), path + ": " + spec.status().message());
    return spec;
  }
  if (EndsWith(path, ".model")) return acorn::LoadSentencePieceModelFile(path);
  std::string bytes;
  if (!ReadFile(path, &bytes)) return ACORN_ERROR(kIo, "cannot read %s", path.c_str());
  return acorn::ParseTokenizerJson(bytes);
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "acorn-tokenize: %s\n", message.c_str());
  return 1;
}

void PrintIds(const std::vector<int32_t>& ids) {
  std::string out = "[";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) out += ",";
    out += std::to_string(ids[i]);
  }
  out += "]\n";
  std::fwrite(out.data(), 1, out.size(), stdout);
}

// --chat: the bundle's template renders the conversation, which is encoded as Chat::RenderTokens does.
int RenderChat(const std::string& bundle_path, const acorn::Tokenizer& tokenizer, const std::string& messages_path,
               bool add_generation_prompt, bool print_text) {
  auto bundle = acorn::Bundle::Open(bundle_path.c_str());
  if (!bundle.ok()) return Fail(bundle.status().ToString());
  std::string bytes;
  if (!ReadFile(messages_path, &bytes)) return Fail("cannot read " + messages_path);
  const nlohmann::json j = nlohmann::json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  const nlohmann::json* list = j.is_object() && j.contains("messages") ? &j["messages"] : &j;
  if (!list->is_array()) return Fail(messages_path + ": expected a JSON array of {\"role\", \"content\"} messages");
  std::vector<acorn::ChatMessage> messages;
  for (const auto& m : *list) {
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string() || !m.contains("content") ||
        !m["content"].is_string()) {
      return Fail(messages_path + ": each message needs a string \"role\" and a string \"content\"");
    }
    messages.push_back({m["role"].get<std::string>(), m["content"].get<std::string>()});
  }
  auto chat_template = acorn::ChatTemplate::FromBundle(**bundle, &tokenizer);
  if (!chat_template.ok()) return Fail(chat_template.status().ToString());
  acorn::TokenizeOptions options;
  options.add_special_tokens = false;  // the template wrote BOS itself
  auto text = chat_template->Render(messages, add_generation_prompt, &options.untrusted);
  if (!text.ok()) return Fail(text.status().ToString());
  if (print_text) {
    std::fwrite(text->data(), 1, text->size(), stdout);
    return 0;
  }
  std::vector<int32_t> ids;
  acorn::Status encoded = tokenizer.Encode(*text, options, &ids);
  if (!encoded.ok()) return Fail(encoded.message());
  PrintIds(ids);
  return 0;
}

}  // namespace

static int Main(int argc, char** argv) {
  std::string tokenizer_path, text, text_file, decode_list, chat_file;
  bool have_text = false, have_file = false, have_decode = false, add_special = true, skip_special = false;
  bool have_chat = false, generation_prompt = true, print_text = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](const char* flag) -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "acorn-tokenize: %s needs a value\n", flag);
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--help" || arg == "-h") {
      std::fputs(kHelp, stdout);
      return 0;
    } else if (arg == "--text") {
      text = value("--text");
      have_text = true;
    } else if (arg == "--text-file") {
      text_file = value("--text-file");
      have_file = true;
    } else if (arg == "--decode") {
      decode_list = value("--decode");
      have_decode = true;
    } else if (arg == "--no-special") {
      add_special = false;
    } else if (arg == "--skip-special") {
      skip_special = true;
    } else if (arg == "--chat") {
      chat_file = value("--chat");
      have_chat = true;
    } else if (arg == "--no-generation-prompt") {
      generation_prompt = false;
    } else if (arg == "--print-text") {
      print_text = true;
    } else if (!arg.empty() && arg[0] == '-') {
      std::fprintf(stderr, "acorn-tokenize: unknown option %s\n\n%s", arg.c_str(), kHelp);
      return 2;
    } else if (tokenizer_path.empty()) {
      tokenizer_path = arg;
    } else {
      std::fprintf(stderr, "acorn-tokenize: unexpected argument %s\n\n%s", arg.c_str(), kHelp);
      return 2;
    }
  }
  if (tokenizer_path.empty() || (have_text && have_file) || (have_decode && (have_text || have_file)) ||
      (have_chat && (have_text || have_file || have_decode)) || (!have_chat && (print_text || !generation_prompt))) {
    std::fputs(kHelp, stderr);
    return 2;
  }
  auto spec = LoadSpec(tokenizer_path);
  if (!spec.ok()) return Fail(spec.status().ToString());
  auto tokenizer = acorn::Tokenizer::Create(std::move(spec).value());
  if (!tokenizer.ok()) return Fail(tokenizer.status().ToString());
  if (have_chat) return RenderChat(tokenizer_path, *tokenizer, chat_file, generation_prompt, print_text);

  if (have_decode) {
    std::vector<int32_t> ids;
    const char* p = decode_list.c_str();
    while (*p) {
      char* end;
      long v = std::strtol(p, &end, 10);
      if (end == p || v < INT32_MIN || v > INT32_MAX) return Fail("--decode expects comma-separated integers");
      ids.push_back(static_cast<int32_t>(v));
      p = end;
      while (*p == ',' || *p == ' ') ++p;
    }
    std::string out = tokenizer->Decode(ids, skip_special);
    out.push_back('\n');
    std::fwrite(out.data(), 1, out.size(), stdout);
    return 0;
  }
  if (have_file) {
    if (!ReadFile(text_file, &text)) return Fail("cannot read " + text_file);
  } else if (!have_text) {
    std::stringstream buffer;
    buffer << std::cin.rdbuf();
    text = buffer.str();
  }
  acorn::TokenizeOptions options;
  options.add_special_tokens = add_special;
  std::vector<int32_t> ids;
  // A hostile tokenizer's pattern can run out of regex steps on this text: say so, print no ids.
  acorn::Status encoded = tokenizer->Encode(text, options, &ids);
  if (!encoded.ok()) return Fail(encoded.message());
  PrintIds(ids);
  return 0;
}

int main(int argc, char** argv) { return acorn::tools::GuardedMain("acorn-tokenize", Main, argc, argv); }
