#include "tokenizer_json.h"

#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace acorn {
namespace {

using nlohmann::json;

[[noreturn]] void Fail(const std::string& where, const std::string& what) {
  throw std::runtime_error(where + ": " + what);
}

std::string TypeOf(const json& j, const std::string& where) {
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string()) Fail(where, "expected an object with a \"type\"");
  return j["type"].get<std::string>();
}

bool BoolOr(const json& j, const char* key, bool fallback) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  return j[key].get<bool>();
}

std::string StringOr(const json& j, const char* key, const std::string& fallback) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  return j[key].get<std::string>();
}

// {"String": "..."} or {"Regex": "..."}
TokenizerPattern ReadPattern(const json& j, const std::string& where) {
  if (j.is_object() && j.contains("String")) return {j["String"].get<std::string>(), false};
  if (j.is_object() && j.contains("Regex")) return {j["Regex"].get<std::string>(), true};
  if (j.is_string()) return {j.get<std::string>(), false};
  Fail(where, "pattern must be {\"String\": ...} or {\"Regex\": ...}");
}

PrependScheme ReadPrependScheme(const json& j, const std::string& where) {
  if (j.contains("prepend_scheme") && !j["prepend_scheme"].is_null()) {
    std::string s = j["prepend_scheme"].get<std::string>();
    if (s == "always") return PrependScheme::kAlways;
    if (s == "first") return PrependScheme::kFirst;
    if (s == "never") return PrependScheme::kNever;
    Fail(where, "unknown prepend_scheme \"" + s + "\"");
  }
  // Files written before prepend_scheme existed say add_prefix_space.
  return BoolOr(j, "add_prefix_space", true) ? PrependScheme::kAlways : PrependScheme::kNever;
}

SplitBehavior ReadBehavior(const json& j, const std::string& where) {
  std::string s = StringOr(j, "behavior", "Isolated");
  if (s == "Removed") return SplitBehavior::kRemoved;
  if (s == "Isolated") return SplitBehavior::kIsolated;
  if (s == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (s == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (s == "Contiguous") return SplitBehavior::kContiguous;
  Fail(where, "unknown split behavior \"" + s + "\"");
}

void ReadNormalizer(const json& j, const std::string& where, std::vector<NormalizerStep>* out) {
  if (j.is_null()) return;
  std::string type = TypeOf(j, where);
  NormalizerStep step;
  if (type == "Sequence") {
    const json& list = j.at("normalizers");
    for (size_t i = 0; i < list.size(); ++i) ReadNormalizer(list[i], where + ".normalizers[" + std::to_string(i) + "]", out);
    return;
  } else if (type == "Prepend") {
    step.kind = NormalizerKind::kPrepend;
    step.content = j.at("prepend").get<std::string>();
  } else if (type == "Replace") {
    step.kind = NormalizerKind::kReplace;
    step.pattern = ReadPattern(j.at("pattern"), where);
    step.content = j.at("content").get<std::string>();
  } else if (type == "Lowercase") {
    step.kind = NormalizerKind::kLowercase;
  } else if (type == "NFC") {
    step.kind = NormalizerKind::kNfc;
  } else if (type == "NFD") {
    step.kind = NormalizerKind::kNfd;
  } else if (type == "NFKC") {
    step.kind = NormalizerKind::kNfkc;
  } else if (type == "NFKD") {
    step.kind = NormalizerKind::kNfkd;
  } else if (type == "StripAccents") {
    step.kind = NormalizerKind::kStripAccents;
  } else if (type == "Strip") {
    step.kind = NormalizerKind::kStrip;
    step.strip_left = BoolOr(j, "strip_left", true);
    step.strip_right = BoolOr(j, "strip_right", true);
  } else if (type == "BertNormalizer") {
    step.kind = NormalizerKind::kBert;
    step.clean_text = BoolOr(j, "clean_text", true);
    step.handle_chinese_chars = BoolOr(j, "handle_chinese_chars", true);
    step.lowercase = BoolOr(j, "lowercase", true);
    step.strip_accents = BoolOr(j, "strip_accents", step.lowercase);  // null: follow lowercase
  } else {
    Fail(where, "normalizer type \"" + type + "\" is not supported");
  }
  out->push_back(std::move(step));
}

void ReadPreTokenizer(const json& j, const std::string& where, std::vector<PreTokenizerStep>* out) {
  if (j.is_null()) return;
  std::string type = TypeOf(j, where);
  PreTokenizerStep step;
  if (type == "Sequence") {
    const json& list = j.at("pretokenizers");
    for (size_t i = 0; i < list.size(); ++i) {
      ReadPreTokenizer(list[i], where + ".pretokenizers[" + std::to_string(i) + "]", out);
    }
    return;
  } else if (type == "ByteLevel") {
    step.kind = PreTokenizerKind::kByteLevel;
    step.add_prefix_space = BoolOr(j, "add_prefix_space", true);
    step.use_regex = BoolOr(j, "use_regex", true);
  } else if (type == "Split") {
    step.kind = PreTokenizerKind::kSplit;
    step.pattern = ReadPattern(j.at("pattern"), where);
    step.behavior = ReadBehavior(j, where);
    step.invert = BoolOr(j, "invert", false);
  } else if (type == "Metaspace") {
    step.kind = PreTokenizerKind::kMetaspace;
    step.replacement = StringOr(j, "replacement", "\xE2\x96\x81");
    step.prepend_scheme = ReadPrependScheme(j, where);
    step.split = BoolOr(j, "split", true);
  } else if (type == "BertPreTokenizer") {
    step.kind = PreTokenizerKind::kBert;
  } else if (type == "Whitespace") {
    step.kind = PreTokenizerKind::kWhitespace;
  } else if (type == "WhitespaceSplit") {
    step.kind = PreTokenizerKind::kWhitespaceSplit;
  } else if (type == "Digits") {
    step.kind = PreTokenizerKind::kDigits;
    step.individual_digits = BoolOr(j, "individual_digits", false);
  } else if (type == "Punctuation") {
    step.kind = PreTokenizerKind::kPunctuation;
    step.behavior = ReadBehavior(j, where);
  } else {
    Fail(where, "pre-tokenizer type \"" + type + "\" is not supported");
  }
  out->push_back(std::move(step));
}

std::vector<TemplatePiece> ReadTemplatePieces(const json& list, const std::string& where) {
  std::vector<TemplatePiece> out;
  for (const json& item : list) {
    TemplatePiece p;
    if (item.contains("SpecialToken")) {
      p.special_token = item["SpecialToken"].at("id").get<std::string>();
      p.type_id = item["SpecialToken"].value("type_id", 0u);
    } else if (item.contains("Sequence")) {
      p.is_sequence = true;
      std::string seq = item["Sequence"].at("id").get<std::string>();
      if (seq != "A" && seq != "B") Fail(where, "template sequence must be A or B");
      p.sequence = seq == "A" ? 0 : 1;
      p.type_id = item["Sequence"].value("type_id", 0u);
    } else {
      Fail(where, "template piece must be SpecialToken or Sequence");
    }
    out.push_back(std::move(p));
  }
  return out;
}

// BertProcessing / RobertaProcessing name [token, id] pairs.
TemplatePiece Special(const std::string& name, uint32_t type_id) {
  TemplatePiece p;
  p.special_token = name;
  p.type_id = type_id;
  return p;
}
TemplatePiece Sequence(uint32_t which, uint32_t type_id) {
  TemplatePiece p;
  p.is_sequence = true;
  p.sequence = which;
  p.type_id = type_id;
  return p;
}

void ReadPostProcessor(const json& j, const std::string& where, PostProcessorSpec* out) {
  if (j.is_null()) return;
  std::string type = TypeOf(j, where);
  if (type == "Sequence") {
    const json& list = j.at("processors");
    for (size_t i = 0; i < list.size(); ++i) {
      ReadPostProcessor(list[i], where + ".processors[" + std::to_string(i) + "]", out);
    }
  } else if (type == "ByteLevel") {
    // Adjusts offsets only.
  } else if (type == "TemplateProcessing") {
    if (!out->single.empty()) Fail(where, "more than one template post-processor");
    out->single = ReadTemplatePieces(j.at("single"), where + ".single");
    out->pair = ReadTemplatePieces(j.at("pair"), where + ".pair");
    for (auto& [name, value] : j.at("special_tokens").items()) {
      TemplateSpecialToken t;
      t.name = name;
      t.ids = value.at("ids").get<std::vector<int32_t>>();
      out->special_tokens.push_back(std::move(t));
    }
  } else if (type == "BertProcessing" || type == "RobertaProcessing") {
    if (!out->single.empty()) Fail(where, "more than one template post-processor");
    std::string cls = j.at("cls").at(0).get<std::string>();
    std::string sep = j.at("sep").at(0).get<std::string>();
    out->special_tokens.push_back({cls, {j.at("cls").at(1).get<int32_t>()}});
    if (sep != cls) out->special_tokens.push_back({sep, {j.at("sep").at(1).get<int32_t>()}});
    out->single = {Special(cls, 0), Sequence(0, 0), Special(sep, 0)};
    if (type == "BertProcessing") {
      out->pair = {Special(cls, 0), Sequence(0, 0), Special(sep, 0), Sequence(1, 1), Special(sep, 1)};
    } else {
      out->pair = {Special(cls, 0), Sequence(0, 0), Special(sep, 0), Special(sep, 0), Sequence(1, 0), Special(sep, 0)};
    }
  } else {
    Fail(where, "post-processor type \"" + type + "\" is not supported");
  }
}

void ReadDecoder(const json& j, const std::string& where, std::vector<DecoderStep>* out) {
  if (j.is_null()) return;
  std::string type = TypeOf(j, where);
  DecoderStep step;
  if (type == "Sequence") {
    const json& list = j.at("decoders");
    for (size_t i = 0; i < list.size(); ++i) ReadDecoder(list[i], where + ".decoders[" + std::to_string(i) + "]", out);
    return;
  } else if (type == "ByteLevel") {
    step.kind = DecoderKind::kByteLevel;
  } else if (type == "Replace") {
    step.kind = DecoderKind::kReplace;
    step.pattern = ReadPattern(j.at("pattern"), where);
    step.content = j.at("content").get<std::string>();
  } else if (type == "ByteFallback") {
    step.kind = DecoderKind::kByteFallback;
  } else if (type == "Fuse") {
    step.kind = DecoderKind::kFuse;
  } else if (type == "Strip") {
    step.kind = DecoderKind::kStrip;
    step.content = j.at("content").get<std::string>();
    step.start = j.value("start", 0u);
    step.stop = j.value("stop", 0u);
  } else if (type == "Metaspace") {
    step.kind = DecoderKind::kMetaspace;
    step.replacement = StringOr(j, "replacement", "\xE2\x96\x81");
    step.prepend_scheme = ReadPrependScheme(j, where);
  } else if (type == "WordPiece") {
    step.kind = DecoderKind::kWordPiece;
    step.prefix = StringOr(j, "prefix", "##");
    step.cleanup = BoolOr(j, "cleanup", true);
  } else if (type == "BPEDecoder") {
    step.kind = DecoderKind::kBpe;
    step.suffix = StringOr(j, "suffix", "</w>");
  } else {
    Fail(where, "decoder type \"" + type + "\" is not supported");
  }
  out->push_back(std::move(step));
}

void ReadModel(const json& m, TokenizerSpec* spec) {
  const std::string where = "model";
  std::string type;
  if (m.contains("type") && m["type"].is_string()) {
    type = m["type"].get<std::string>();
  } else if (m.contains("merges")) {
    type = "BPE";
  } else {
    type = "WordPiece";
  }
  if (type != "BPE" && type != "WordPiece") Fail(where, "model type \"" + type + "\" is not supported");
  spec->model = type == "BPE" ? TokenizerModelKind::kBpe : TokenizerModelKind::kWordPiece;

  const json& vocab = m.at("vocab");
  if (!vocab.is_object()) Fail(where, "vocab must be an object {token: id}");
  std::map<std::string, int32_t> by_token;
  int32_t max_id = -1;
  for (auto& [token, id_json] : vocab.items()) {
    int64_t id = id_json.get<int64_t>();
    if (id < 0 || id > (1 << 26)) Fail(where, "token \"" + token + "\" has id " + std::to_string(id));
    if (token.empty()) Fail(where, "the vocabulary holds an empty token");
    max_id = std::max(max_id, static_cast<int32_t>(id));
    by_token[token] = static_cast<int32_t>(id);
  }
  spec->vocab.assign(static_cast<size_t>(max_id + 1), std::string());
  for (auto& [token, id] : by_token) {
    if (!spec->vocab[id].empty()) Fail(where, "two tokens share id " + std::to_string(id));
    spec->vocab[id] = token;
  }
  auto id_of = [&](const std::string& token, const std::string& what) {
    auto it = by_token.find(token);
    if (it == by_token.end()) Fail(where, what + " \"" + token + "\" is not in the vocabulary");
    return it->second;
  };
  std::string unk = StringOr(m, "unk_token", "");
  if (!unk.empty()) {
    auto it = by_token.find(unk);
    // HF tolerates an unk_token missing from the vocabulary until it is needed.
    spec->unk_id = it == by_token.end() ? -1 : it->second;
  }
  if (spec->model == TokenizerModelKind::kBpe) {
    if (m.contains("dropout") && !m["dropout"].is_null() && m["dropout"].get<double>() > 0) {
      Fail(where, "BPE dropout is not supported");
    }
    spec->continuing_subword_prefix = StringOr(m, "continuing_subword_prefix", "");
    spec->end_of_word_suffix = StringOr(m, "end_of_word_suffix", "");
    spec->fuse_unk = BoolOr(m, "fuse_unk", false);
    spec->byte_fallback = BoolOr(m, "byte_fallback", false);
    spec->ignore_merges = BoolOr(m, "ignore_merges", false);
    if (m.contains("merges")) {
      const json& merges = m["merges"];
      spec->merges.reserve(merges.size());
      for (size_t i = 0; i < merges.size(); ++i) {
        const json& merge = merges[i];
        std::string left, right;
        if (merge.is_string()) {
          std::string s = merge.get<std::string>();
          size_t space = s.find(' ');
          if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos) {
            Fail(where, "merge " + std::to_string(i) + " \"" + s + "\" is not two tokens");
          }
          left = s.substr(0, space);
          right = s.substr(space + 1);
        } else if (merge.is_array() && merge.size() == 2) {
          left = merge[0].get<std::string>();
          right = merge[1].get<std::string>();
        } else {
          Fail(where, "merge " + std::to_string(i) + " is neither \"a b\" nor [a, b]");
        }
        spec->merges.push_back({id_of(left, "merge token"), id_of(right, "merge token")});
      }
    }
  } else {
    spec->continuing_subword_prefix = StringOr(m, "continuing_subword_prefix", "##");
    spec->max_input_chars_per_word = m.value("max_input_chars_per_word", 100u);
  }
}

TokenizerSpec Parse(std::string_view text) {
  json j = json::parse(text.begin(), text.end());
  if (!j.is_object()) Fail("tokenizer.json", "top level is not an object");
  TokenizerSpec spec;
  ReadModel(j.at("model"), &spec);
  if (j.contains("added_tokens")) {
    for (const json& t : j["added_tokens"]) {
      AddedTokenSpec a;
      a.id = t.at("id").get<int32_t>();
      a.content = t.at("content").get<std::string>();
      a.special = BoolOr(t, "special", false);
      a.lstrip = BoolOr(t, "lstrip", false);
      a.rstrip = BoolOr(t, "rstrip", false);
      a.single_word = BoolOr(t, "single_word", false);
      a.normalized = BoolOr(t, "normalized", !a.special);
      spec.added_tokens.push_back(std::move(a));
    }
  }
  if (j.contains("normalizer")) ReadNormalizer(j["normalizer"], "normalizer", &spec.normalizers);
  if (j.contains("pre_tokenizer")) ReadPreTokenizer(j["pre_tokenizer"], "pre_tokenizer", &spec.pre_tokenizers);
  if (j.contains("post_processor")) ReadPostProcessor(j["post_processor"], "post_processor", &spec.post_processor);
  if (j.contains("decoder")) ReadDecoder(j["decoder"], "decoder", &spec.decoders);
  return spec;
}

}  // namespace

Result<TokenizerSpec> ParseTokenizerJson(std::string_view json_text) {
  try {
    return Parse(json_text);
  } catch (const std::exception& e) {
    return ACORN_ERROR(kMalformed, "tokenizer.json: %s", e.what());
  }
}

Result<TokenizerSpec> LoadTokenizerJsonFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return ACORN_ERROR(kIo, "cannot open %s", path.c_str());
  std::stringstream buffer;
  buffer << in.rdbuf();
  auto spec = ParseTokenizerJson(buffer.str());
  if (!spec.ok()) return ACORN_ERROR(kMalformed, "%s: %s", path.c_str(), spec.status().message().c_str());
  return spec;
}

}  // namespace acorn
