#include "sentencepiece_model.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/limits.h"
#include "tokenizer_json.h"

namespace acorn {
namespace {

// The little of the protobuf wire format a ModelProto needs.
class WireReader {
 public:
  explicit WireReader(std::string_view data) : p_(data) {}
  bool done() const { return i_ >= p_.size(); }
  bool ok() const { return ok_; }
  size_t offset() const { return i_; }

  bool Varint(uint64_t* v) {
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (i_ >= p_.size()) return ok_ = false;
      uint8_t b = static_cast<uint8_t>(p_[i_++]);
      *v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if (!(b & 0x80)) return true;
    }
    return ok_ = false;
  }
  // Reads the next field's key; then call one of the value readers (or Skip).
  bool Next(uint32_t* field, uint32_t* wire_type) {
    uint64_t key;
    if (!Varint(&key)) return false;
    *field = static_cast<uint32_t>(key >> 3);
    *wire_type = static_cast<uint32_t>(key & 7);
    return true;
  }
  bool Bytes(std::string_view* out) {
    uint64_t len;
    if (!Varint(&len) || len > p_.size() - i_) return ok_ = false;
    *out = p_.substr(i_, len);
    i_ += len;
    return true;
  }
  bool Fixed32(uint32_t* out) {
    if (p_.size() - i_ < 4) return ok_ = false;
    std::memcpy(out, p_.data() + i_, 4);  // little-endian hosts only, as the rest of acorn
    i_ += 4;
    return true;
  }
  bool Skip(uint32_t wire_type) {
    uint64_t v;
    std::string_view s;
    switch (wire_type) {
      case 0: return Varint(&v);
      case 1: if (p_.size() - i_ < 8) return ok_ = false; i_ += 8; return true;
      case 2: return Bytes(&s);
      case 5: if (p_.size() - i_ < 4) return ok_ = false; i_ += 4; return true;
      default: return ok_ = false;
    }
  }

 private:
  std::string_view p_;
  size_t i_ = 0;
  bool ok_ = true;
};

struct Piece {
  std::string text;
  float score = 0;
  int type = 1;  // NORMAL
};

struct Model {
  std::vector<Piece> pieces;
  int model_type = 1;  // UNIGRAM unless told
  bool byte_fallback = false;
  int64_t bos_id = 1;
  std::string normalizer_name;
  bool has_charsmap = false;
  bool add_dummy_prefix = true;
  bool remove_extra_whitespaces = true;
  bool treat_whitespace_as_suffix = false;
};

Status Malformed(const char* what) { return ACORN_ERROR(kMalformed, "tokenizer.model: %s", what); }

Status ReadPiece(std::string_view bytes, size_t index, Piece* piece) {
  WireReader r(bytes);
  uint32_t field, wt;
  while (r.ok() && !r.done() && r.Next(&field, &wt)) {
    if (field == 1 && wt == 2) {
      std::string_view s;
      if (!r.Bytes(&s)) break;
      if (s.size() > limits::kMaxTokenBytes) {
        return ACORN_ERROR(kMalformed, "tokenizer.model: piece %zu is %zu bytes, above the limit of %u "
                           "(limits::kMaxTokenBytes)", index, s.size(), limits::kMaxTokenBytes);
      }
      piece->text = std::string(s);
    } else if (field == 2 && wt == 5) {
      uint32_t bits = 0;
      r.Fixed32(&bits);
      std::memcpy(&piece->score, &bits, 4);
    } else if (field == 3 && wt == 0) {
      uint64_t v;
      r.Varint(&v);
      piece->type = static_cast<int>(v);
    } else {
      r.Skip(wt);
    }
  }
  if (!r.ok()) {
    return ACORN_ERROR(kMalformed, "tokenizer.model: piece %zu is truncated or malformed at byte %zu of its %zu",
                       index, r.offset(), bytes.size());
  }
  return Status::Ok();
}

Status ReadTrainerSpec(std::string_view bytes, Model* m) {
  WireReader r(bytes);
  uint32_t field, wt;
  while (r.ok() && !r.done() && r.Next(&field, &wt)) {
    uint64_t v = 0;
    if (wt == 0 && (field == 3 || field == 24 || field == 35 || field == 41)) {
      r.Varint(&v);
      if (field == 3) m->model_type = static_cast<int>(v);
      if (field == 24) m->treat_whitespace_as_suffix = v != 0;
      if (field == 35) m->byte_fallback = v != 0;
      if (field == 41) m->bos_id = static_cast<int32_t>(static_cast<uint32_t>(v));
    } else {
      r.Skip(wt);
    }
  }
  return r.ok() ? Status::Ok() : Malformed("trainer_spec is truncated");
}

Status ReadNormalizerSpec(std::string_view bytes, Model* m) {
  WireReader r(bytes);
  uint32_t field, wt;
  while (r.ok() && !r.done() && r.Next(&field, &wt)) {
    if (field == 1 && wt == 2) {
      std::string_view s;
      r.Bytes(&s);
      m->normalizer_name = std::string(s);
    } else if (field == 2 && wt == 2) {
      std::string_view s;
      r.Bytes(&s);
      m->has_charsmap = !s.empty();
    } else if ((field == 3 || field == 4) && wt == 0) {
      uint64_t v;
      r.Varint(&v);
      (field == 3 ? m->add_dummy_prefix : m->remove_extra_whitespaces) = v != 0;
    } else {
      r.Skip(wt);
    }
  }
  return r.ok() ? Status::Ok() : Malformed("normalizer_spec is truncated");
}

// Code point boundaries of a UTF-8 string (0 and size included).
std::vector<size_t> CharBoundaries(const std::string& s) {
  std::vector<size_t> out;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) out.push_back(i);
  }
  out.push_back(s.size());
  return out;
}

// Finds which prefixes and suffixes of a piece are pieces, in time linear in the piece: two
// polynomial hashes of every piece (mod 2^64 and mod 2^61 - 1) and, for a piece, of all its prefixes,
// from which each suffix's hash follows in O(1). Looking up each split as a new string instead costs
// the square of the piece's length, which a file of long pieces turns into hours.
class PieceHashes {
 public:
  explicit PieceHashes(const std::vector<Piece>& pieces) {
    size_t longest = 0;
    for (const Piece& p : pieces) longest = std::max(longest, p.text.size());
    pow1_.assign(longest + 1, 1);
    pow2_.assign(longest + 1, 1);
    for (size_t i = 1; i <= longest; ++i) {
      pow1_[i] = pow1_[i - 1] * kBase1;
      pow2_[i] = MulMod(pow2_[i - 1], kBase2);
    }
    ids_.reserve(pieces.size());
    for (size_t i = 0; i < pieces.size(); ++i) {
      Prefixes(pieces[i].text);
      ids_.emplace(KeyOf(0, pieces[i].text.size()), static_cast<int32_t>(i));  // the first piece wins
    }
  }
  // Hashes every prefix of s (call before Find).
  void Prefixes(const std::string& s) {
    h1_.assign(s.size() + 1, 0);
    h2_.assign(s.size() + 1, 0);
    for (size_t i = 0; i < s.size(); ++i) {
      const uint64_t c = static_cast<unsigned char>(s[i]) + 1;
      h1_[i + 1] = h1_[i] * kBase1 + c;
      h2_[i + 1] = AddMod(MulMod(h2_[i], kBase2), c);
    }
  }
  // The id of the piece equal to bytes [b, e) of the string last given to Prefixes, or -1.
  int32_t Find(size_t b, size_t e) const {
    auto it = ids_.find(KeyOf(b, e));
    return it == ids_.end() ? -1 : it->second;
  }

 private:
  static constexpr uint64_t kMod2 = (uint64_t{1} << 61) - 1;
  static constexpr uint64_t kBase1 = 0x100000001b3ull;
  static constexpr uint64_t kBase2 = 1000003;
  static uint64_t MulMod(uint64_t a, uint64_t b) {
    unsigned __int128 p = static_cast<unsigned __int128>(a) * b;
    uint64_t r = static_cast<uint64_t>(p & kMod2) + static_cast<uint64_t>(p >> 61);
    return r >= kMod2 ? r - kMod2 : r;
  }
  static uint64_t AddMod(uint64_t a, uint64_t b) {
    uint64_t r = a + b;
    return r >= kMod2 ? r - kMod2 : r;
  }
  struct Key {
    uint64_t h1, h2, len;
    bool operator==(const Key& o) const { return h1 == o.h1 && h2 == o.h2 && len == o.len; }
  };
  struct KeyHash {
    size_t operator()(const Key& k) const { return static_cast<size_t>(k.h1 ^ (k.h2 * 0x9E3779B97F4A7C15ull) ^ k.len); }
  };
  Key KeyOf(size_t b, size_t e) const {
    const uint64_t n = e - b;
    const uint64_t h1 = h1_[e] - h1_[b] * pow1_[n];
    const uint64_t h2 = AddMod(h2_[e], kMod2 - MulMod(h2_[b], pow2_[n]));
    return {h1, h2, n};
  }
  std::vector<uint64_t> pow1_, pow2_, h1_, h2_;
  std::unordered_map<Key, int32_t, KeyHash> ids_;
};

}  // namespace

Result<TokenizerSpec> ParseSentencePieceModel(std::string_view bytes) {
  Model m;
  WireReader r(bytes);
  uint32_t field, wt;
  while (r.ok() && !r.done() && r.Next(&field, &wt)) {
    if (wt == 2 && (field == 1 || field == 2 || field == 3)) {
      std::string_view sub;
      if (!r.Bytes(&sub)) break;
      if (field == 1) {
        if (m.pieces.size() >= limits::kMaxVocab) {
          return ACORN_ERROR(kMalformed, "tokenizer.model: more than %u pieces (limits::kMaxVocab)", limits::kMaxVocab);
        }
        m.pieces.emplace_back();
        ACORN_RETURN_IF_ERROR(ReadPiece(sub, m.pieces.size() - 1, &m.pieces.back()));
      } else if (field == 2) {
        ACORN_RETURN_IF_ERROR(ReadTrainerSpec(sub, &m));
      } else {
        ACORN_RETURN_IF_ERROR(ReadNormalizerSpec(sub, &m));
      }
    } else if (!r.Skip(wt)) {
      break;
    }
  }
  if (!r.ok()) {
    return ACORN_ERROR(kMalformed, "tokenizer.model: truncated or not a ModelProto (malformed field at byte %zu of %zu)",
                       r.offset(), bytes.size());
  }
  if (m.pieces.empty()) return Malformed("no pieces");
  if (m.model_type != 2) {
    return ACORN_ERROR(kUnsupported, "tokenizer.model: model type %d is not supported (only BPE, 2)", m.model_type);
  }
  if (m.has_charsmap || (!m.normalizer_name.empty() && m.normalizer_name != "identity")) {
    return ACORN_ERROR(kUnsupported, "tokenizer.model: normalizer \"%s\" is not supported (only identity)",
                       m.normalizer_name.c_str());
  }
  if (m.treat_whitespace_as_suffix) return ACORN_ERROR(kUnsupported, "tokenizer.model: treat_whitespace_as_suffix");

  const std::string kMeta = "\xE2\x96\x81";
  TokenizerSpec spec;
  spec.model = TokenizerModelKind::kBpe;
  for (size_t i = 0; i < m.pieces.size(); ++i) {
    const Piece& p = m.pieces[i];
    if (p.text.empty()) return ACORN_ERROR(kMalformed, "tokenizer.model: piece %zu is empty", i);
    // Scores rank the merges; a NaN would leave the sort below without an order (undefined behaviour).
    if (std::isnan(p.score)) return ACORN_ERROR(kMalformed, "tokenizer.model: piece %zu has a NaN score", i);
    spec.vocab.push_back(p.text);
    if (p.type == 2 && spec.unk_id < 0) spec.unk_id = static_cast<int32_t>(i);
    if (p.type == 2 || p.type == 3 || p.type == 4) {
      AddedTokenSpec t;
      t.id = static_cast<int32_t>(i);
      t.content = p.text;
      t.special = p.type != 4;
      // SentencePiece finds user-defined pieces in the normalized text, where spaces are already
      // "▁", longest first and never merged further: Gemma's runs of up to 31 "▁" must match there,
      // so that 40 spaces are 31 + 9 and not whatever the merges make of them. Control and unknown
      // pieces stay raw, as transformers matches them. With a dummy prefix the normalizer would
      // prepend "▁" to the piece itself, so such models keep matching user-defined pieces raw.
      t.normalized = p.type == 4 && !m.add_dummy_prefix;
      spec.added_tokens.push_back(std::move(t));
    }
  }
  // transformers' SentencePieceExtractor: every split of a piece into two pieces is a merge, ranked
  // by the piece's score, highest first; ties keep piece order, then (left id, right id) order.
  struct Merge {
    int32_t left, right;
    float score;
  };
  std::vector<Merge> merges;
  std::vector<Merge> local;
  PieceHashes hashes(m.pieces);
  for (const Piece& p : m.pieces) {
    local.clear();
    std::vector<size_t> cuts = CharBoundaries(p.text);
    hashes.Prefixes(p.text);
    for (size_t k = 1; k + 1 < cuts.size(); ++k) {
      const int32_t l = hashes.Find(0, cuts[k]);
      const int32_t r2 = l < 0 ? -1 : hashes.Find(cuts[k], p.text.size());
      if (l >= 0 && r2 >= 0) local.push_back({l, r2, p.score});
    }
    if (merges.size() + local.size() > limits::kMaxMerges) {
      return ACORN_ERROR(kMalformed, "tokenizer.model: its pieces make more than %u merges (limits::kMaxMerges)",
                         limits::kMaxMerges);
    }
    std::sort(local.begin(), local.end(),
              [](const Merge& a, const Merge& b) { return a.left != b.left ? a.left < b.left : a.right < b.right; });
    merges.insert(merges.end(), local.begin(), local.end());
  }
  std::stable_sort(merges.begin(), merges.end(), [](const Merge& a, const Merge& b) { return a.score > b.score; });
  for (const Merge& mg : merges) spec.merges.push_back({mg.left, mg.right});
  spec.byte_fallback = m.byte_fallback;
  spec.fuse_unk = true;

  auto replace_regex = [&spec](const char* pattern, const char* content) {
    NormalizerStep step;
    step.kind = NormalizerKind::kReplace;
    step.pattern = {pattern, true};
    step.content = content;
    spec.normalizers.push_back(step);
  };
  // SentencePiece's remove_extra_whitespaces: spaces at either end go (before the dummy prefix is
  // added), and a run of spaces becomes one. SentencePiece strips a trailing "▁" typed as such too;
  // a step doing that here would also strip user-defined pieces of "▁", which are normalized by the
  // same steps to find them, so only spaces are stripped.
  if (m.remove_extra_whitespaces) {
    replace_regex("\\A +", "");
    replace_regex(" +\\z", "");
    replace_regex(" {2,}", " ");
  }
  if (m.add_dummy_prefix) {
    NormalizerStep prepend;
    prepend.kind = NormalizerKind::kPrepend;
    prepend.content = kMeta;
    spec.normalizers.push_back(prepend);
  }
  NormalizerStep replace;
  replace.kind = NormalizerKind::kReplace;
  replace.pattern = {" ", false};
  replace.content = kMeta;
  spec.normalizers.push_back(replace);

  if (m.bos_id >= 0 && m.bos_id < static_cast<int64_t>(m.pieces.size())) {
    const std::string& bos = m.pieces[m.bos_id].text;
    TemplatePiece b;
    b.special_token = bos;
    TemplatePiece a;
    a.is_sequence = true;
    spec.post_processor.single = {b, a};
    TemplatePiece b1 = b, a1 = a;
    b1.type_id = a1.type_id = 1;
    a1.sequence = 1;
    spec.post_processor.pair = {b, a, b1, a1};
    spec.post_processor.special_tokens.push_back({bos, {static_cast<int32_t>(m.bos_id)}});
  }

  DecoderStep d;
  d.kind = DecoderKind::kReplace;
  d.pattern = {kMeta, false};
  d.content = " ";
  spec.decoders.push_back(d);
  d = DecoderStep();
  d.kind = DecoderKind::kByteFallback;
  spec.decoders.push_back(d);
  d.kind = DecoderKind::kFuse;
  spec.decoders.push_back(d);
  d = DecoderStep();
  d.kind = DecoderKind::kStrip;
  d.content = " ";
  d.start = m.add_dummy_prefix ? 1 : 0;
  d.stop = 0;
  spec.decoders.push_back(d);
  return spec;
}

namespace {

// Makes token `id` special and matched in the raw text, as transformers treats its special tokens.
void MarkSpecial(int32_t id, TokenizerSpec* spec) {
  for (AddedTokenSpec& t : spec->added_tokens) {
    if (t.id == id) {
      t.special = true;
      t.normalized = false;
      return;
    }
  }
  AddedTokenSpec t;
  t.id = id;
  t.content = spec->vocab[id];
  t.special = true;
  spec->added_tokens.push_back(std::move(t));
}

// A token named in a config: a string, or an AddedToken object with the string as its content.
bool TokenName(const nlohmann::json& v, std::string* name) {
  const nlohmann::json* s = &v;
  if (v.is_object()) {
    auto it = v.find("content");
    if (it == v.end()) return false;
    s = &*it;
  }
  if (!s->is_string()) return false;
  *name = s->get<std::string>();
  return true;
}

// What transformers skips with skip_special_tokens for a SentencePiece model is not in the model:
// Gemma's <start_of_turn> and <end_of_turn> are user-defined pieces, special only because
// tokenizer_config.json (added_tokens_decoder "special": true, additional_special_tokens) and
// special_tokens_map.json say so. Marks those tokens special; entries of added_tokens_decoder past
// the model's pieces are added tokens, as transformers adds them.
Status ApplyHfSpecialTokens(const std::string& text, const std::string& label, TokenizerSpec* spec) {
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return ACORN_ERROR(kMalformed, "%s is not a JSON object; fix or remove it", label.c_str());
  }
  const int32_t pieces = static_cast<int32_t>(spec->vocab.size());
  auto id_of = [&](const std::string& name) {
    for (const AddedTokenSpec& t : spec->added_tokens) {
      if (t.content == name) return t.id;
    }
    for (int32_t i = 0; i < pieces; ++i) {
      if (spec->vocab[i] == name) return i;
    }
    return int32_t{-1};
  };
  std::vector<std::string> names;
  for (const char* key : {"bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"}) {
    auto it = j.find(key);
    std::string name;
    if (it != j.end() && TokenName(*it, &name)) names.push_back(name);
  }
  auto extra = j.find("additional_special_tokens");
  if (extra != j.end() && extra->is_array()) {
    for (const nlohmann::json& v : *extra) {
      std::string name;
      if (TokenName(v, &name)) names.push_back(name);
    }
  }
  for (const std::string& name : names) {
    const int32_t id = id_of(name);
    if (id >= 0) MarkSpecial(id, spec);  // a name the model lacks has nothing to skip
  }
  auto decoder = j.find("added_tokens_decoder");
  if (decoder == j.end() || !decoder->is_object()) return Status::Ok();
  for (auto it = decoder->begin(); it != decoder->end(); ++it) {
    const std::string where = label + ": added_tokens_decoder[\"" + it.key() + "\"]";
    char* end = nullptr;
    const long long id = std::strtoll(it.key().c_str(), &end, 10);
    std::string content;
    if (it.key().empty() || *end != '\0' || id < 0 || id >= static_cast<long long>(limits::kMaxVocab) ||
        !it.value().is_object() || !TokenName(it.value(), &content) || content.empty()) {
      return ACORN_ERROR(kMalformed, "%s: expected a token id below %u and an object with a non-empty \"content\"",
                         where.c_str(), limits::kMaxVocab);
    }
    auto flag = [&](const char* key) {
      auto f = it.value().find(key);
      return f != it.value().end() && f->is_boolean() && f->get<bool>();
    };
    if (id < pieces) {
      if (spec->vocab[id] != content) {
        return ACORN_ERROR(kMalformed, "%s is \"%s\" but piece %lld of tokenizer.model is \"%s\": the files are of "
                           "different tokenizers", where.c_str(), content.c_str(), id, spec->vocab[id].c_str());
      }
      if (flag("special")) MarkSpecial(static_cast<int32_t>(id), spec);
      continue;
    }
    AddedTokenSpec t;
    t.id = static_cast<int32_t>(id);
    t.content = content;
    t.special = flag("special");
    t.normalized = flag("normalized");
    t.lstrip = flag("lstrip");
    t.rstrip = flag("rstrip");
    t.single_word = flag("single_word");
    spec->added_tokens.push_back(std::move(t));
  }
  return Status::Ok();
}

}  // namespace

Result<TokenizerSpec> LoadSentencePieceModelFile(const std::string& path) {
  std::string bytes;
  ACORN_RETURN_IF_ERROR(ReadTokenizerFile(path, &bytes));
  auto spec = ParseSentencePieceModel(bytes);
  if (!spec.ok()) return Status(spec.status().code(), path + ": " + spec.status().message());
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "" : path.substr(0, slash + 1);
  for (const char* name : {"special_tokens_map.json", "tokenizer_config.json"}) {
    std::string text;
    Status read = ReadTokenizerFile(dir + name, &text);
    if (read.code() == ErrorCode::kNotFound) continue;
    ACORN_RETURN_IF_ERROR(read);
    ACORN_RETURN_IF_ERROR(ApplyHfSpecialTokens(text, dir + name, &spec.value()));
  }
  return spec;
}

}  // namespace acorn
