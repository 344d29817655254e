#include "gguf_tokenizer.h"

#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/limits.h"
#include "sentencepiece_model.h"

namespace acorn {
namespace convert {

namespace {

// llama.cpp's token types (llama_token_type), the same numbers as SentencePiece's piece types.
constexpr int64_t kNormal = 1, kControl = 3, kUserDefined = 4, kByte = 6;

// The pre-tokenizer regexes of the published tokenizer.json files, keyed by llama.cpp's name for them.
const char* const kLlama3Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char* const kQwen2Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// Minimal protobuf writer: just enough to express a SentencePiece ModelProto.
void Varint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}
void Key(std::string* out, uint32_t field, uint32_t wire_type) { Varint(out, (uint64_t{field} << 3) | wire_type); }
void Bytes(std::string* out, uint32_t field, const std::string& bytes) {
  Key(out, field, 2);
  Varint(out, bytes.size());
  out->append(bytes);
}
void VarintField(std::string* out, uint32_t field, uint64_t v) {
  Key(out, field, 0);
  Varint(out, v);
}

struct Vocab {
  const std::vector<std::string>* tokens = nullptr;
  std::vector<double> scores;
  std::vector<int64_t> types;
  int64_t bos = -1;
  bool add_bos = false;
};

Result<Vocab> ReadVocab(const GgufFile& f, bool add_bos_default) {
  Vocab v;
  const GgufValue* tokens = f.Find("tokenizer.ggml.tokens");
  if (tokens == nullptr || !tokens->IsArrayOf(GgufValueType::kString) || tokens->strings.empty()) {
    return ACORN_ERROR(kMalformed, "%s: tokenizer.ggml.tokens is missing or not an array of strings", f.label().c_str());
  }
  v.tokens = &tokens->strings;
  const size_t n = tokens->strings.size();
  if (n > limits::kMaxVocab) {
    return ACORN_ERROR(kOutOfRange, "%s: tokenizer.ggml.tokens has %zu entries, more than the limit of %u", f.label().c_str(),
                       n, limits::kMaxVocab);
  }
  for (size_t i = 0; i < n; ++i) {
    if (tokens->strings[i].size() > limits::kMaxTokenBytes) {
      return ACORN_ERROR(kOutOfRange, "%s: tokenizer.ggml.tokens[%zu] is %zu bytes long, more than the limit of %u",
                         f.label().c_str(), i, tokens->strings[i].size(), limits::kMaxTokenBytes);
    }
  }
  v.scores.assign(n, 0.0);
  v.types.assign(n, kNormal);
  if (const GgufValue* s = f.Find("tokenizer.ggml.scores")) {
    if (!s->IsArrayOf(GgufValueType::kFloat32) || s->floats.size() != n) {
      return ACORN_ERROR(kMalformed, "%s: tokenizer.ggml.scores must hold one float32 per token", f.label().c_str());
    }
    v.scores = s->floats;
  }
  if (const GgufValue* t = f.Find("tokenizer.ggml.token_type")) {
    if (t->type != GgufValueType::kArray || t->ints.size() != n) {
      return ACORN_ERROR(kMalformed, "%s: tokenizer.ggml.token_type must hold one integer per token", f.label().c_str());
    }
    v.types = t->ints;
  }
  ACORN_ASSIGN_OR_RETURN(v.bos, f.GetInt("tokenizer.ggml.bos_token_id", -1));
  ACORN_ASSIGN_OR_RETURN(v.add_bos, f.GetBool("tokenizer.ggml.add_bos_token", add_bos_default));
  if (v.bos >= static_cast<int64_t>(n)) return ACORN_ERROR(kMalformed, "%s: bos_token_id is out of range", f.label().c_str());
  if (v.bos < 0) v.add_bos = false;
  return v;
}

// Control and user-defined tokens are matched whole in the raw text, before any normalization.
void AddControlTokens(const Vocab& v, TokenizerSpec* spec) {
  for (size_t i = 0; i < spec->vocab.size(); ++i) {
    if (v.types[i] != kControl && v.types[i] != kUserDefined) continue;
    AddedTokenSpec t;
    t.id = static_cast<int32_t>(i);
    t.content = spec->vocab[i];
    t.special = v.types[i] == kControl;
    t.normalized = false;
    spec->added_tokens.push_back(std::move(t));
  }
}

// "llama": the vocabulary re-encoded as the tokenizer.model it came from.
Result<TokenizerSpec> FromSentencePiece(const GgufFile& f) {
  ACORN_ASSIGN_OR_RETURN(Vocab v, ReadVocab(f, true));
  ACORN_ASSIGN_OR_RETURN(bool add_space_prefix, f.GetBool("tokenizer.ggml.add_space_prefix", true));
  std::string model;
  bool byte_fallback = false;
  for (size_t i = 0; i < v.tokens->size(); ++i) {
    std::string piece;
    Bytes(&piece, 1, (*v.tokens)[i]);
    Key(&piece, 2, 5);
    const float score = static_cast<float>(v.scores[i]);
    uint32_t bits;
    std::memcpy(&bits, &score, 4);
    for (int b = 0; b < 4; ++b) piece.push_back(static_cast<char>((bits >> (8 * b)) & 0xFF));
    VarintField(&piece, 3, static_cast<uint64_t>(v.types[i]));
    Bytes(&model, 1, piece);
    byte_fallback |= v.types[i] == kByte;
  }
  std::string trainer;
  VarintField(&trainer, 3, 2);  // model_type BPE
  VarintField(&trainer, 35, byte_fallback ? 1 : 0);
  // bos_id -1 (as int32, sign-extended like protobuf does) drops the BOS template.
  VarintField(&trainer, 41, static_cast<uint64_t>(static_cast<int64_t>(v.add_bos ? v.bos : -1)));
  Bytes(&model, 2, trainer);
  std::string normalizer;
  Bytes(&normalizer, 1, "identity");
  VarintField(&normalizer, 3, add_space_prefix ? 1 : 0);
  VarintField(&normalizer, 4, 0);
  Bytes(&model, 3, normalizer);
  auto spec = ParseSentencePieceModel(model);
  if (!spec.ok()) {
    return Status(spec.status().code(), f.label() + ": tokenizer.ggml.*: " + spec.status().message());
  }
  return spec;
}

// "gpt2": byte-level BPE.
Result<TokenizerSpec> FromByteLevelBpe(const GgufFile& f) {
  ACORN_ASSIGN_OR_RETURN(Vocab v, ReadVocab(f, false));
  ACORN_ASSIGN_OR_RETURN(std::string pre, f.GetString("tokenizer.ggml.pre", "gpt2"));
  TokenizerSpec spec;
  spec.model = TokenizerModelKind::kBpe;
  spec.vocab = *v.tokens;
  std::unordered_map<std::string, int32_t> ids;
  for (size_t i = 0; i < spec.vocab.size(); ++i) ids.emplace(spec.vocab[i], static_cast<int32_t>(i));
  const GgufValue* merges = f.Find("tokenizer.ggml.merges");
  if (merges == nullptr || !merges->IsArrayOf(GgufValueType::kString)) {
    return ACORN_ERROR(kMalformed, "%s: tokenizer.ggml.merges is missing or not an array of strings", f.label().c_str());
  }
  if (merges->strings.size() > limits::kMaxMerges) {
    return ACORN_ERROR(kOutOfRange, "%s: tokenizer.ggml.merges has %zu entries, more than the limit of %u",
                       f.label().c_str(), merges->strings.size(), limits::kMaxMerges);
  }
  spec.merges.reserve(merges->strings.size());
  for (const std::string& m : merges->strings) {
    const size_t space = m.find(' ');
    auto left = space == std::string::npos ? ids.end() : ids.find(m.substr(0, space));
    auto right = space == std::string::npos ? ids.end() : ids.find(m.substr(space + 1));
    if (left == ids.end() || right == ids.end()) {
      return ACORN_ERROR(kMalformed, "%s: merge \"%s\" is not two tokens of the vocabulary", f.label().c_str(), m.c_str());
    }
    spec.merges.push_back({left->second, right->second});
  }
  PreTokenizerStep byte_level;
  byte_level.kind = PreTokenizerKind::kByteLevel;
  byte_level.add_prefix_space = false;
  if (pre == "gpt2") {
    byte_level.use_regex = true;
  } else if (pre == "smollm") {
    // SmolLM/SmolLM2: each digit on its own, then GPT-2's byte-level split (its tokenizer.json:
    // Sequence[Digits(individual_digits), ByteLevel]; llama.cpp: "\p{N}", then GPT-2's regex).
    PreTokenizerStep digits;
    digits.kind = PreTokenizerKind::kDigits;
    digits.individual_digits = true;
    spec.pre_tokenizers.push_back(digits);
    byte_level.use_regex = true;
  } else if (pre == "llama-bpe" || pre == "llama3" || pre == "qwen2") {
    PreTokenizerStep split;
    split.kind = PreTokenizerKind::kSplit;
    split.pattern = {pre == "qwen2" ? kQwen2Regex : kLlama3Regex, true};
    split.behavior = SplitBehavior::kIsolated;
    spec.pre_tokenizers.push_back(split);
    byte_level.use_regex = false;
    spec.ignore_merges = pre != "qwen2";  // Llama 3's tokenizer.json sets it
    if (pre == "qwen2") {
      NormalizerStep nfc;
      nfc.kind = NormalizerKind::kNfc;
      spec.normalizers.push_back(nfc);
    }
  } else {
    return ACORN_ERROR(kUnsupported, "%s: tokenizer.ggml.pre '%s' is not supported (gpt2, llama-bpe, qwen2, smollm are); "
                       "attach the model's tokenizer.json instead", f.label().c_str(), pre.c_str());
  }
  spec.pre_tokenizers.push_back(byte_level);
  DecoderStep decoder;
  decoder.kind = DecoderKind::kByteLevel;
  spec.decoders.push_back(decoder);
  AddControlTokens(v, &spec);
  if (v.add_bos) {
    const std::string& bos = spec.vocab[static_cast<size_t>(v.bos)];
    TemplatePiece b, a;
    b.special_token = bos;
    a.is_sequence = true;
    TemplatePiece b1 = b, a1 = a;
    b1.type_id = a1.type_id = 1;
    a1.sequence = 1;
    spec.post_processor.single = {b, a};
    spec.post_processor.pair = {b, a, b1, a1};
    spec.post_processor.special_tokens.push_back({bos, {static_cast<int32_t>(v.bos)}});
  }
  return spec;
}

// "bert": WordPiece. llama.cpp's converter writes word-initial pieces with a leading U+2581 and
// continuations without their "##" ("phantom space"); control tokens stay as they are. GGUF does
// not record BERT's normalizer settings: they are the uncased ones (lowercase, accents stripped),
// as llama.cpp's WordPiece tokenizer applies them.
Result<TokenizerSpec> FromWordPiece(const GgufFile& f) {
  ACORN_ASSIGN_OR_RETURN(Vocab v, ReadVocab(f, false));
  TokenizerSpec spec;
  spec.model = TokenizerModelKind::kWordPiece;
  spec.continuing_subword_prefix = "##";
  spec.max_input_chars_per_word = 100;
  static const char kPhantom[] = "\xE2\x96\x81";
  spec.vocab.reserve(v.tokens->size());
  for (size_t i = 0; i < v.tokens->size(); ++i) {
    const std::string& t = (*v.tokens)[i];
    if (v.types[i] == kControl) {
      spec.vocab.push_back(t);
    } else if (t.compare(0, 3, kPhantom) == 0) {
      spec.vocab.push_back(t.substr(3));
    } else {
      spec.vocab.push_back("##" + t);
    }
  }
  auto find = [&](const char* text) -> int64_t {
    for (size_t i = 0; i < spec.vocab.size(); ++i) {
      if (spec.vocab[i] == text) return static_cast<int64_t>(i);
    }
    return -1;
  };
  const int64_t n = static_cast<int64_t>(spec.vocab.size());
  ACORN_ASSIGN_OR_RETURN(int64_t unk, f.GetInt("tokenizer.ggml.unknown_token_id", find("[UNK]")));
  ACORN_ASSIGN_OR_RETURN(int64_t cls, f.GetInt("tokenizer.ggml.bos_token_id", find("[CLS]")));
  ACORN_ASSIGN_OR_RETURN(int64_t eos, f.GetInt("tokenizer.ggml.eos_token_id", find("[SEP]")));
  ACORN_ASSIGN_OR_RETURN(int64_t sep, f.GetInt("tokenizer.ggml.seperator_token_id", eos));
  if (unk >= n || cls >= n || sep >= n) return ACORN_ERROR(kMalformed, "%s: a special token id is out of range", f.label().c_str());
  spec.unk_id = static_cast<int32_t>(unk);
  NormalizerStep norm;
  norm.kind = NormalizerKind::kBert;
  spec.normalizers.push_back(norm);
  PreTokenizerStep pre;
  pre.kind = PreTokenizerKind::kBert;
  spec.pre_tokenizers.push_back(pre);
  DecoderStep decoder;
  decoder.kind = DecoderKind::kWordPiece;
  spec.decoders.push_back(decoder);
  AddControlTokens(v, &spec);
  if (cls >= 0 && sep >= 0) {  // [CLS] A [SEP], and [CLS] A [SEP] B [SEP] with type ids 0 / 1
    const std::string c = spec.vocab[static_cast<size_t>(cls)], e = spec.vocab[static_cast<size_t>(sep)];
    auto special = [](const std::string& name, uint32_t type) {
      TemplatePiece p;
      p.special_token = name;
      p.type_id = type;
      return p;
    };
    auto sequence = [](uint32_t which, uint32_t type) {
      TemplatePiece p;
      p.is_sequence = true;
      p.sequence = which;
      p.type_id = type;
      return p;
    };
    spec.post_processor.single = {special(c, 0), sequence(0, 0), special(e, 0)};
    spec.post_processor.pair = {special(c, 0), sequence(0, 0), special(e, 0), sequence(1, 1), special(e, 1)};
    spec.post_processor.special_tokens.push_back({c, {static_cast<int32_t>(cls)}});
    if (e != c) spec.post_processor.special_tokens.push_back({e, {static_cast<int32_t>(sep)}});
  }
  return spec;
}

}  // namespace

Result<TokenizerSpec> TokenizerSpecFromGguf(const GgufFile& f) {
  ACORN_ASSIGN_OR_RETURN(std::string model, f.GetString("tokenizer.ggml.model", ""));
  if (model.empty()) return ACORN_ERROR(kNotFound, "%s: no tokenizer.ggml.model", f.label().c_str());
  if (model == "llama") return FromSentencePiece(f);
  if (model == "gpt2") return FromByteLevelBpe(f);
  if (model == "bert") return FromWordPiece(f);
  return ACORN_ERROR(kUnsupported, "%s: tokenizer.ggml.model '%s' is not supported (llama, gpt2, bert are)", f.label().c_str(),
                     model.c_str());
}

}  // namespace convert
}  // namespace acorn
