#include "tokenizer_json.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "core/limits.h"

namespace acorn {
namespace {

using nlohmann::json;

// Errors inside the reader are thrown as this and caught at the boundary (ParseTokenizerJson),
// which turns them, and anything nlohmann throws, into a Status.
struct JsonError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] void Fail(const std::string& where, const std::string& what) { throw JsonError(where + ": " + what); }

std::string Key(const std::string& where, const char* key) { return where + "." + key; }

// Typed reads: a value of the wrong type names its key path rather than escaping as nlohmann's
// type_error (which says neither where nor what was expected).
const json& At(const json& j, const char* key, const std::string& where) {
  if (!j.is_object()) Fail(where, std::string("is a ") + j.type_name() + ", expected an object");
  auto it = j.find(key);
  if (it == j.end()) Fail(where, std::string("the key \"") + key + "\" is missing");
  return *it;
}
std::string AsString(const json& v, const std::string& where) {
  if (!v.is_string()) Fail(where, std::string("is a ") + v.type_name() + ", expected a string");
  return v.get<std::string>();
}
bool AsBool(const json& v, const std::string& where) {
  if (!v.is_boolean()) Fail(where, std::string("is a ") + v.type_name() + ", expected true or false");
  return v.get<bool>();
}
int64_t AsInt(const json& v, const std::string& where, int64_t lo, int64_t hi) {
  int64_t x;
  if (v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(hi)) Fail(where, std::to_string(u) + " is above " + std::to_string(hi));
    x = static_cast<int64_t>(u);
  } else if (v.is_number_integer()) {
    x = v.get<int64_t>();
  } else {
    Fail(where, std::string("is a ") + v.type_name() + ", expected an integer");
  }
  if (x < lo || x > hi) Fail(where, std::to_string(x) + " is outside [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return x;
}
const json& AsArray(const json& v, const std::string& where) {
  if (!v.is_array()) Fail(where, std::string("is a ") + v.type_name() + ", expected an array");
  return v;
}
// A token id: within the vocabulary limit (ids size tables).
int32_t AsId(const json& v, const std::string& where) {
  return static_cast<int32_t>(AsInt(v, where, 0, static_cast<int64_t>(limits::kMaxVocab) - 1));
}

std::string TypeOf(const json& j, const std::string& where) {
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string()) Fail(where, "expected an object with a \"type\"");
  return j["type"].get<std::string>();
}

bool BoolOr(const json& j, const char* key, bool fallback, const std::string& where) {
  if (!j.is_object()) return fallback;
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  return AsBool(*it, Key(where, key));
}

std::string StringOr(const json& j, const char* key, const std::string& fallback, const std::string& where) {
  if (!j.is_object()) return fallback;
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  return AsString(*it, Key(where, key));
}

uint32_t UintOr(const json& j, const char* key, uint32_t fallback, uint32_t max, const std::string& where) {
  if (!j.is_object()) return fallback;
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  return static_cast<uint32_t>(AsInt(*it, Key(where, key), 0, max));
}

// A "Sequence" list: an array, nested no deeper and holding no more than the pipeline limit.
const json& SequenceList(const json& j, const char* key, const std::string& where, uint32_t depth) {
  if (depth >= limits::kMaxTokenizerSteps) {
    Fail(where, "Sequences nest deeper than " + std::to_string(limits::kMaxTokenizerSteps) + " (limits::kMaxTokenizerSteps)");
  }
  const json& list = AsArray(At(j, key, where), Key(where, key));
  if (list.size() > limits::kMaxTokenizerSteps) {
    Fail(Key(where, key), std::to_string(list.size()) + " steps, above the limit of " +
                              std::to_string(limits::kMaxTokenizerSteps) + " (limits::kMaxTokenizerSteps)");
  }
  return list;
}

// {"String": "..."} or {"Regex": "..."}
TokenizerPattern ReadPattern(const json& j, const std::string& where) {
  if (j.is_object() && j.contains("String")) return {AsString(j["String"], where + ".String"), false};
  if (j.is_object() && j.contains("Regex")) return {AsString(j["Regex"], where + ".Regex"), true};
  if (j.is_string()) return {j.get<std::string>(), false};
  Fail(where, "pattern must be {\"String\": ...} or {\"Regex\": ...}");
}

PrependScheme ReadPrependScheme(const json& j, const std::string& where) {
  if (j.contains("prepend_scheme") && !j["prepend_scheme"].is_null()) {
    std::string s = AsString(j["prepend_scheme"], Key(where, "prepend_scheme"));
    if (s == "always") return PrependScheme::kAlways;
    if (s == "first") return PrependScheme::kFirst;
    if (s == "never") return PrependScheme::kNever;
    Fail(where, "unknown prepend_scheme \"" + s + "\"");
  }
  // Files written before prepend_scheme existed say add_prefix_space.
  return BoolOr(j, "add_prefix_space", true, where) ? PrependScheme::kAlways : PrependScheme::kNever;
}

SplitBehavior ReadBehavior(const json& j, const std::string& where) {
  std::string s = StringOr(j, "behavior", "Isolated", where);
  if (s == "Removed") return SplitBehavior::kRemoved;
  if (s == "Isolated") return SplitBehavior::kIsolated;
  if (s == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (s == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (s == "Contiguous") return SplitBehavior::kContiguous;
  Fail(where, "unknown split behavior \"" + s + "\"");
}

void ReadNormalizer(const json& j, const std::string& where, std::vector<NormalizerStep>* out, uint32_t depth = 0) {
  if (j.is_null()) return;
  std::string type = TypeOf(j, where);
  NormalizerStep step;
  if (type == "Sequence") {
    const json& list = SequenceList(j, "normalizers", where, depth);
    for (size_t i = 0; i < list.size(); ++i) {
      ReadNormalizer(list[i], where + ".normalizers[" + std::to_string(i) + "]", out, depth + 1);
    }
    return;
  } else if (type == "Prepend") {
    step.kind = NormalizerKind::kPrepend;
    step.content = AsString(At(j, "prepend", where), Key(where, "prepend"));
  } else if (type == "Replace") {
    step.kind = NormalizerKind::kReplace;
    step.pattern = ReadPattern(At(j, "pattern", where), Key(where, "pattern"));
    step.content = AsString(At(j, "content", where), Key(where, "content"));
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
    step.strip_left = BoolOr(j, "strip_left", true, where);
    step.strip_right = BoolOr(j, "strip_right", true, where);
  } else if (type == "BertNormalizer") {
    step.kind = NormalizerKind::kBert;
    step.clean_text = BoolOr(j, "clean_text", true, where);
    step.handle_chinese_chars = BoolOr(j, "handle_chinese_chars", true, where);
    step.lowercase = BoolOr(j, "lowercase", true, where);
    step.strip_accents = BoolOr(j, "strip_accents", step.lowercase, where);  // null: follow lowercase
  } else {
    Fail(where, "normalizer type \"" + type + "\" is not supported");
  }
  if (out->size() >= limits::kMaxTokenizerSteps) Fail(where, "more normalizers than limits::kMaxTokenizerSteps");
  out->push_back(std::move(step));
}

void ReadPreTokenizer(const json& j, const std::string& where, std::vector<PreTokenizerStep>* out, uint32_t depth = 0) {
  if (j.is_null()) return;
  std::string type = TypeOf(j, where);
  PreTokenizerStep step;
  if (type == "Sequence") {
    const json& list = SequenceList(j, "pretokenizers", where, depth);
    for (size_t i = 0; i < list.size(); ++i) {
      ReadPreTokenizer(list[i], where + ".pretokenizers[" + std::to_string(i) + "]", out, depth + 1);
    }
    return;
  } else if (type == "ByteLevel") {
    step.kind = PreTokenizerKind::kByteLevel;
    step.add_prefix_space = BoolOr(j, "add_prefix_space", true, where);
    step.use_regex = BoolOr(j, "use_regex", true, where);
  } else if (type == "Split") {
    step.kind = PreTokenizerKind::kSplit;
    step.pattern = ReadPattern(At(j, "pattern", where), Key(where, "pattern"));
    step.behavior = ReadBehavior(j, where);
    step.invert = BoolOr(j, "invert", false, where);
  } else if (type == "Metaspace") {
    step.kind = PreTokenizerKind::kMetaspace;
    step.replacement = StringOr(j, "replacement", "\xE2\x96\x81", where);
    step.prepend_scheme = ReadPrependScheme(j, where);
    step.split = BoolOr(j, "split", true, where);
  } else if (type == "BertPreTokenizer") {
    step.kind = PreTokenizerKind::kBert;
  } else if (type == "Whitespace") {
    step.kind = PreTokenizerKind::kWhitespace;
  } else if (type == "WhitespaceSplit") {
    step.kind = PreTokenizerKind::kWhitespaceSplit;
  } else if (type == "Digits") {
    step.kind = PreTokenizerKind::kDigits;
    step.individual_digits = BoolOr(j, "individual_digits", false, where);
  } else if (type == "Punctuation") {
    step.kind = PreTokenizerKind::kPunctuation;
    step.behavior = ReadBehavior(j, where);
  } else {
    Fail(where, "pre-tokenizer type \"" + type + "\" is not supported");
  }
  if (out->size() >= limits::kMaxTokenizerSteps) Fail(where, "more pre-tokenizers than limits::kMaxTokenizerSteps");
  out->push_back(std::move(step));
}

std::vector<TemplatePiece> ReadTemplatePieces(const json& list_in, const std::string& where) {
  const json& list = AsArray(list_in, where);
  if (list.size() > limits::kMaxTokenizerSteps) Fail(where, "more template pieces than limits::kMaxTokenizerSteps");
  std::vector<TemplatePiece> out;
  for (size_t i = 0; i < list.size(); ++i) {
    const json& item = list[i];
    const std::string at = where + "[" + std::to_string(i) + "]";
    TemplatePiece p;
    if (item.is_object() && item.contains("SpecialToken")) {
      const json& t = item["SpecialToken"];
      p.special_token = AsString(At(t, "id", at + ".SpecialToken"), at + ".SpecialToken.id");
      p.type_id = UintOr(t, "type_id", 0, 1, at + ".SpecialToken");
    } else if (item.is_object() && item.contains("Sequence")) {
      p.is_sequence = true;
      const json& t = item["Sequence"];
      std::string seq = AsString(At(t, "id", at + ".Sequence"), at + ".Sequence.id");
      if (seq != "A" && seq != "B") Fail(at, "template sequence must be A or B");
      p.sequence = seq == "A" ? 0 : 1;
      p.type_id = UintOr(t, "type_id", 0, 1, at + ".Sequence");
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

void ReadPostProcessor(const json& j, const std::string& where, PostProcessorSpec* out, uint32_t depth = 0) {
  if (j.is_null()) return;
  std::string type = TypeOf(j, where);
  if (type == "Sequence") {
    const json& list = SequenceList(j, "processors", where, depth);
    for (size_t i = 0; i < list.size(); ++i) {
      ReadPostProcessor(list[i], where + ".processors[" + std::to_string(i) + "]", out, depth + 1);
    }
  } else if (type == "ByteLevel") {
    // Adjusts offsets only.
  } else if (type == "TemplateProcessing") {
    if (!out->single.empty()) Fail(where, "more than one template post-processor");
    out->single = ReadTemplatePieces(At(j, "single", where), Key(where, "single"));
    out->pair = ReadTemplatePieces(At(j, "pair", where), Key(where, "pair"));
    const json& specials = At(j, "special_tokens", where);
    if (!specials.is_object()) Fail(Key(where, "special_tokens"), "expected an object {name: {ids: [...]}}");
    if (specials.size() > limits::kMaxTokenizerSteps) Fail(Key(where, "special_tokens"), "more than limits::kMaxTokenizerSteps");
    for (auto& [name, value] : specials.items()) {
      const std::string at = Key(where, "special_tokens") + "." + name;
      TemplateSpecialToken t;
      t.name = name;
      const json& ids = AsArray(At(value, "ids", at), at + ".ids");
      if (ids.size() > limits::kMaxTokenizerSteps) Fail(at + ".ids", "more ids than limits::kMaxTokenizerSteps");
      for (size_t i = 0; i < ids.size(); ++i) t.ids.push_back(AsId(ids[i], at + ".ids[" + std::to_string(i) + "]"));
      out->special_tokens.push_back(std::move(t));
    }
  } else if (type == "BertProcessing" || type == "RobertaProcessing") {
    if (!out->single.empty()) Fail(where, "more than one template post-processor");
    const json& cls_pair = AsArray(At(j, "cls", where), Key(where, "cls"));
    const json& sep_pair = AsArray(At(j, "sep", where), Key(where, "sep"));
    if (cls_pair.size() != 2 || sep_pair.size() != 2) Fail(where, "cls and sep must be [token, id]");
    std::string cls = AsString(cls_pair[0], Key(where, "cls[0]"));
    std::string sep = AsString(sep_pair[0], Key(where, "sep[0]"));
    out->special_tokens.push_back({cls, {AsId(cls_pair[1], Key(where, "cls[1]"))}});
    if (sep != cls) out->special_tokens.push_back({sep, {AsId(sep_pair[1], Key(where, "sep[1]"))}});
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

void ReadDecoder(const json& j, const std::string& where, std::vector<DecoderStep>* out, uint32_t depth = 0) {
  if (j.is_null()) return;
  std::string type = TypeOf(j, where);
  DecoderStep step;
  if (type == "Sequence") {
    const json& list = SequenceList(j, "decoders", where, depth);
    for (size_t i = 0; i < list.size(); ++i) {
      ReadDecoder(list[i], where + ".decoders[" + std::to_string(i) + "]", out, depth + 1);
    }
    return;
  } else if (type == "ByteLevel") {
    step.kind = DecoderKind::kByteLevel;
  } else if (type == "Replace") {
    step.kind = DecoderKind::kReplace;
    step.pattern = ReadPattern(At(j, "pattern", where), Key(where, "pattern"));
    step.content = AsString(At(j, "content", where), Key(where, "content"));
  } else if (type == "ByteFallback") {
    step.kind = DecoderKind::kByteFallback;
  } else if (type == "Fuse") {
    step.kind = DecoderKind::kFuse;
  } else if (type == "Strip") {
    step.kind = DecoderKind::kStrip;
    step.content = AsString(At(j, "content", where), Key(where, "content"));
    step.start = UintOr(j, "start", 0, UINT32_MAX, where);
    step.stop = UintOr(j, "stop", 0, UINT32_MAX, where);
  } else if (type == "Metaspace") {
    step.kind = DecoderKind::kMetaspace;
    step.replacement = StringOr(j, "replacement", "\xE2\x96\x81", where);
    step.prepend_scheme = ReadPrependScheme(j, where);
  } else if (type == "WordPiece") {
    step.kind = DecoderKind::kWordPiece;
    step.prefix = StringOr(j, "prefix", "##", where);
    step.cleanup = BoolOr(j, "cleanup", true, where);
  } else if (type == "BPEDecoder") {
    step.kind = DecoderKind::kBpe;
    step.suffix = StringOr(j, "suffix", "</w>", where);
  } else {
    Fail(where, "decoder type \"" + type + "\" is not supported");
  }
  if (out->size() >= limits::kMaxTokenizerSteps) Fail(where, "more decoders than limits::kMaxTokenizerSteps");
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

  const json& vocab = At(m, "vocab", where);
  if (!vocab.is_object()) Fail(where, "vocab must be an object {token: id}");
  if (vocab.size() > limits::kMaxVocab) {
    Fail(where + ".vocab", std::to_string(vocab.size()) + " tokens, above the limit of " + std::to_string(limits::kMaxVocab) +
                               " (limits::kMaxVocab)");
  }
  std::map<std::string, int32_t> by_token;
  int32_t max_id = -1;
  for (auto& [token, id_json] : vocab.items()) {
    if (token.size() > limits::kMaxTokenBytes) {
      Fail(where + ".vocab", "a token of " + std::to_string(token.size()) + " bytes, above limits::kMaxTokenBytes");
    }
    // Ids size the vocabulary table: one id of 2^26 would make it 64M strings.
    int32_t id = AsId(id_json, where + ".vocab[\"" + token.substr(0, 64) + "\"]");
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
  std::string unk = StringOr(m, "unk_token", "", where);
  if (!unk.empty()) {
    auto it = by_token.find(unk);
    // HF tolerates an unk_token missing from the vocabulary until it is needed.
    spec->unk_id = it == by_token.end() ? -1 : it->second;
  }
  if (spec->model == TokenizerModelKind::kBpe) {
    if (m.contains("dropout") && !m["dropout"].is_null()) {
      if (!m["dropout"].is_number()) Fail(where + ".dropout", std::string("is a ") + m["dropout"].type_name() + ", expected a number");
      if (m["dropout"].get<double>() > 0) Fail(where, "BPE dropout is not supported");
    }
    spec->continuing_subword_prefix = StringOr(m, "continuing_subword_prefix", "", where);
    spec->end_of_word_suffix = StringOr(m, "end_of_word_suffix", "", where);
    spec->fuse_unk = BoolOr(m, "fuse_unk", false, where);
    spec->byte_fallback = BoolOr(m, "byte_fallback", false, where);
    spec->ignore_merges = BoolOr(m, "ignore_merges", false, where);
    if (m.contains("merges") && !m["merges"].is_null()) {
      const json& merges = AsArray(m["merges"], where + ".merges");
      if (merges.size() > limits::kMaxMerges) {
        Fail(where + ".merges", std::to_string(merges.size()) + " merges, above limits::kMaxMerges");
      }
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
          left = AsString(merge[0], where + ".merges[" + std::to_string(i) + "][0]");
          right = AsString(merge[1], where + ".merges[" + std::to_string(i) + "][1]");
        } else {
          Fail(where, "merge " + std::to_string(i) + " is neither \"a b\" nor [a, b]");
        }
        spec->merges.push_back({id_of(left, "merge token"), id_of(right, "merge token")});
      }
    }
  } else {
    spec->continuing_subword_prefix = StringOr(m, "continuing_subword_prefix", "##", where);
    spec->max_input_chars_per_word = UintOr(m, "max_input_chars_per_word", 100, limits::kMaxWordPieceChars, where);
  }
}

TokenizerSpec Parse(std::string_view text) {
  json j = json::parse(text.begin(), text.end());
  if (!j.is_object()) Fail("tokenizer.json", "top level is not an object");
  TokenizerSpec spec;
  const json& model = At(j, "model", "tokenizer.json");
  if (!model.is_object()) Fail("model", std::string("is a ") + model.type_name() + ", expected an object");
  ReadModel(model, &spec);
  if (j.contains("added_tokens") && !j["added_tokens"].is_null()) {
    const json& list = AsArray(j["added_tokens"], "added_tokens");
    if (list.size() > limits::kMaxVocab) Fail("added_tokens", "more entries than limits::kMaxVocab");
    for (size_t i = 0; i < list.size(); ++i) {
      const json& t = list[i];
      const std::string at = "added_tokens[" + std::to_string(i) + "]";
      AddedTokenSpec a;
      a.id = AsId(At(t, "id", at), at + ".id");
      a.content = AsString(At(t, "content", at), at + ".content");
      if (a.content.size() > limits::kMaxTokenBytes) Fail(at + ".content", "longer than limits::kMaxTokenBytes");
      a.special = BoolOr(t, "special", false, at);
      a.lstrip = BoolOr(t, "lstrip", false, at);
      a.rstrip = BoolOr(t, "rstrip", false, at);
      a.single_word = BoolOr(t, "single_word", false, at);
      a.normalized = BoolOr(t, "normalized", !a.special, at);
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
  if (json_text.size() > limits::kMaxJsonBytes) {
    return ACORN_ERROR(kMalformed, "tokenizer.json: %zu bytes, above the limit of %llu (limits::kMaxJsonBytes)",
                       json_text.size(), static_cast<unsigned long long>(limits::kMaxJsonBytes));
  }
  // The one place exceptions stop: our own (with the key path) and nlohmann's (parse errors with
  // the byte offset; anything else a typed read above did not foresee).
  try {
    return Parse(json_text);
  } catch (const JsonError& e) {
    return ACORN_ERROR(kMalformed, "tokenizer.json: %s", e.what());
  } catch (const json::parse_error& e) {
    return ACORN_ERROR(kMalformed, "tokenizer.json is not valid JSON (byte %zu): %s", e.byte, e.what());
  } catch (const json::exception& e) {
    return ACORN_ERROR(kMalformed, "tokenizer.json: a value of the wrong type or shape: %s", e.what());
  } catch (const std::bad_alloc&) {
    return ACORN_ERROR(kOutOfMemory, "tokenizer.json: out of memory while reading it");
  } catch (const std::exception& e) {
    return ACORN_ERROR(kMalformed, "tokenizer.json: %s", e.what());
  }
}

Status ReadTokenizerFile(const std::string& path, std::string* out) {
  // O_NONBLOCK: a FIFO planted where the file should be must not hang open(); only regular files.
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    return Status(err == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo,
                  StrFormat("cannot open %s: %s", path.c_str(), std::strerror(err)));
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return ACORN_ERROR(kIo, "%s is not a regular file", path.c_str());
  }
  if (static_cast<uint64_t>(st.st_size) > limits::kMaxJsonBytes) {
    ::close(fd);
    return ACORN_ERROR(kMalformed, "%s is %lld bytes, above the limit of %llu (limits::kMaxJsonBytes)", path.c_str(),
                       static_cast<long long>(st.st_size), static_cast<unsigned long long>(limits::kMaxJsonBytes));
  }
  out->resize(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < out->size()) {
    ssize_t n = ::read(fd, &(*out)[got], out->size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  if (got != out->size()) return ACORN_ERROR(kIo, "%s: read %zu of %zu bytes", path.c_str(), got, out->size());
  return Status::Ok();
}

Result<TokenizerSpec> LoadTokenizerJsonFile(const std::string& path) {
  std::string text;
  ACORN_RETURN_IF_ERROR(ReadTokenizerFile(path, &text));
  auto spec = ParseTokenizerJson(text);
  if (!spec.ok()) return ACORN_ERROR(kMalformed, "%s: %s", path.c_str(), spec.status().message().c_str());
  return spec;
}

}  // namespace acorn
