#include "sentencepiece_model.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>
#include <unordered_map>
#include <vector>

namespace acorn {
namespace {

// The little of the protobuf wire format a ModelProto needs.
class WireReader {
 public:
  explicit WireReader(std::string_view data) : p_(data) {}
  bool done() const { return i_ >= p_.size(); }
  bool ok() const { return ok_; }

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

Status ReadPiece(std::string_view bytes, Piece* piece) {
  WireReader r(bytes);
  uint32_t field, wt;
  while (r.ok() && !r.done() && r.Next(&field, &wt)) {
    if (field == 1 && wt == 2) {
      std::string_view s;
      r.Bytes(&s);
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
  return r.ok() ? Status::Ok() : Malformed("a piece is truncated");
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
        m.pieces.emplace_back();
        ACORN_RETURN_IF_ERROR(ReadPiece(sub, &m.pieces.back()));
      } else if (field == 2) {
        ACORN_RETURN_IF_ERROR(ReadTrainerSpec(sub, &m));
      } else {
        ACORN_RETURN_IF_ERROR(ReadNormalizerSpec(sub, &m));
      }
    } else if (!r.Skip(wt)) {
      break;
    }
  }
  if (!r.ok()) return Malformed("the file is truncated or not a ModelProto");
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
  std::unordered_map<std::string, int32_t> ids;
  for (size_t i = 0; i < m.pieces.size(); ++i) {
    const Piece& p = m.pieces[i];
    if (p.text.empty()) return Malformed("an empty piece");
    spec.vocab.push_back(p.text);
    ids.emplace(p.text, static_cast<int32_t>(i));
    if (p.type == 2 && spec.unk_id < 0) spec.unk_id = static_cast<int32_t>(i);
    if (p.type == 2 || p.type == 3 || p.type == 4) {
      AddedTokenSpec t;
      t.id = static_cast<int32_t>(i);
      t.content = p.text;
      t.special = p.type != 4;
      t.normalized = false;
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
  for (const Piece& p : m.pieces) {
    local.clear();
    std::vector<size_t> cuts = CharBoundaries(p.text);
    for (size_t k = 1; k + 1 < cuts.size(); ++k) {
      auto l = ids.find(p.text.substr(0, cuts[k]));
      auto r2 = ids.find(p.text.substr(cuts[k]));
      if (l != ids.end() && r2 != ids.end()) local.push_back({l->second, r2->second, p.score});
    }
    std::sort(local.begin(), local.end(),
              [](const Merge& a, const Merge& b) { return a.left != b.left ? a.left < b.left : a.right < b.right; });
    merges.insert(merges.end(), local.begin(), local.end());
  }
  std::stable_sort(merges.begin(), merges.end(), [](const Merge& a, const Merge& b) { return a.score > b.score; });
  for (const Merge& mg : merges) spec.merges.push_back({mg.left, mg.right});
  spec.byte_fallback = m.byte_fallback;
  spec.fuse_unk = true;

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

Result<TokenizerSpec> LoadSentencePieceModelFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return ACORN_ERROR(kIo, "cannot open %s", path.c_str());
  std::stringstream buffer;
  buffer << in.rdbuf();
  return ParseSentencePieceModel(buffer.str());
}

}  // namespace acorn
