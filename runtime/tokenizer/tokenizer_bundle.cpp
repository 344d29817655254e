#include "tokenizer/tokenizer_bundle.h"

#include <cinttypes>

#include "core/limits.h"
#include "tokenizer/unicode.h"

namespace acorn {
namespace {

std::string Str(const flatbuffers::String* s) { return s ? std::string(s->c_str(), s->size()) : std::string(); }

// Every string of the table is checked for length before it is copied.
Status CheckLength(const flatbuffers::String* s, const char* what, size_t index) {
  if (s && s->size() > limits::kMaxTokenBytes) {
    return ACORN_ERROR(kMalformed,
                       "bundle tokenizer: %s %zu is %" PRIu32 " bytes, above the limit of %" PRIu32
                       " (limits::kMaxTokenBytes)",
                       what, index, s->size(), limits::kMaxTokenBytes);
  }
  return Status::Ok();
}

template <typename Vector>
Status CheckCount(const Vector* v, uint32_t max, const char* what, const char* limit) {
  if (v && v->size() > max) {
    return ACORN_ERROR(kMalformed, "bundle tokenizer: %" PRIu32 " %s, above the limit of %" PRIu32 " (limits::%s)",
                       v->size(), what, max, limit);
  }
  return Status::Ok();
}

Status CheckId(int32_t id, const char* what, size_t index) {
  if (id < 0 || static_cast<uint32_t>(id) >= limits::kMaxVocab) {
    return ACORN_ERROR(kMalformed,
                       "bundle tokenizer: %s %zu has id %" PRId32 ", outside [0, %" PRIu32 ") (limits::kMaxVocab)",
                       what, index, id, limits::kMaxVocab);
  }
  return Status::Ok();
}

template <typename Enum>
bool EnumInRange(Enum value, Enum max) {
  return static_cast<uint32_t>(value) <= static_cast<uint32_t>(max);
}

Status CheckText(const std::string& text, const char* what, size_t index) {
  if (!unicode::IsValidUtf8(text)) return ACORN_ERROR(kMalformed, "bundle tokenizer: %s %zu is not valid UTF-8", what, index);
  return Status::Ok();
}

Result<std::vector<TemplatePiece>> ReadTemplate(
    const flatbuffers::Vector<flatbuffers::Offset<fb::TokenizerTemplatePiece>>* pieces, const char* which) {
  std::vector<TemplatePiece> out;
  if (!pieces) return out;
  ACORN_RETURN_IF_ERROR(CheckCount(pieces, limits::kMaxTokenizerSteps, "template pieces", "kMaxTokenizerSteps"));
  for (uint32_t i = 0; i < pieces->size(); ++i) {
    const fb::TokenizerTemplatePiece* p = pieces->Get(i);
    if (!p) return ACORN_ERROR(kMalformed, "bundle tokenizer: %s template piece %" PRIu32 " is missing", which, i);
    ACORN_RETURN_IF_ERROR(CheckLength(p->special_token(), "template piece", i));
    TemplatePiece piece;
    piece.is_sequence = p->is_sequence();
    piece.sequence = p->sequence();
    piece.special_token = Str(p->special_token());
    piece.type_id = p->type_id();
    if (piece.is_sequence && piece.sequence > 1) {
      return ACORN_ERROR(kMalformed, "bundle tokenizer: %s template piece %" PRIu32 " names sequence %" PRIu32, which,
                         i, piece.sequence);
    }
    out.push_back(std::move(piece));
  }
  return out;
}

}  // namespace

Result<TokenizerSpec> TokenizerSpecFromBundle(const fb::Tokenizer* t) {
  if (!t) return ACORN_ERROR(kNotFound, "the bundle has no tokenizer");
  TokenizerSpec spec;
  switch (t->kind()) {
    case fb::TokenizerKind::Bpe: spec.model = TokenizerModelKind::kBpe; break;
    case fb::TokenizerKind::WordPiece: spec.model = TokenizerModelKind::kWordPiece; break;
    default:
      return ACORN_ERROR(kUnsupported, "bundle tokenizer kind %u is not supported (Bpe or WordPiece)",
                         static_cast<unsigned>(t->kind()));
  }
  if (!t->vocab() || t->vocab()->size() == 0) return ACORN_ERROR(kMalformed, "bundle tokenizer has no vocabulary");
  ACORN_RETURN_IF_ERROR(CheckCount(t->vocab(), limits::kMaxVocab, "vocabulary tokens", "kMaxVocab"));
  ACORN_RETURN_IF_ERROR(CheckCount(t->merges(), 2 * limits::kMaxMerges, "merge ids", "kMaxMerges"));
  ACORN_RETURN_IF_ERROR(CheckCount(t->added_tokens(), limits::kMaxVocab, "added tokens", "kMaxVocab"));
  ACORN_RETURN_IF_ERROR(CheckCount(t->normalizers(), limits::kMaxTokenizerSteps, "normalizers", "kMaxTokenizerSteps"));
  ACORN_RETURN_IF_ERROR(
      CheckCount(t->pre_tokenizers(), limits::kMaxTokenizerSteps, "pre-tokenizers", "kMaxTokenizerSteps"));
  ACORN_RETURN_IF_ERROR(CheckCount(t->decoders(), limits::kMaxTokenizerSteps, "decoders", "kMaxTokenizerSteps"));
  ACORN_RETURN_IF_ERROR(CheckCount(t->post_special_tokens(), limits::kMaxTokenizerSteps, "template special tokens",
                                   "kMaxTokenizerSteps"));
  const uint32_t n = t->vocab()->size();
  spec.vocab.reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    ACORN_RETURN_IF_ERROR(CheckLength(t->vocab()->Get(i), "vocabulary token", i));
    spec.vocab.push_back(Str(t->vocab()->Get(i)));
    ACORN_RETURN_IF_ERROR(CheckText(spec.vocab.back(), "vocabulary token", i));
  }
  if (t->merges()) {
    if (t->merges()->size() % 2 != 0) return ACORN_ERROR(kMalformed, "bundle tokenizer: merges hold an odd number of ids");
    spec.merges.reserve(t->merges()->size() / 2);
    for (uint32_t i = 0; i < t->merges()->size(); i += 2) {
      int32_t l = t->merges()->Get(i), r = t->merges()->Get(i + 1);
      if (l < 0 || r < 0 || static_cast<uint32_t>(l) >= n || static_cast<uint32_t>(r) >= n) {
        return ACORN_ERROR(kMalformed,
                           "bundle tokenizer: merge %" PRIu32 " has ids (%" PRId32 ", %" PRId32
                           ") outside the vocabulary of %" PRIu32,
                           i / 2, l, r, n);
      }
      spec.merges.push_back({l, r});
    }
  }
  spec.unk_id = t->unk_id();
  if (spec.unk_id < -1 || spec.unk_id >= static_cast<int32_t>(n)) {
    return ACORN_ERROR(kMalformed, "bundle tokenizer: unknown-token id %" PRId32 " outside the vocabulary",
                       spec.unk_id);
  }
  spec.byte_fallback = t->byte_fallback();
  spec.fuse_unk = t->fuse_unk();
  spec.ignore_merges = t->ignore_merges();
  ACORN_RETURN_IF_ERROR(CheckLength(t->continuing_subword_prefix(), "continuing_subword_prefix", 0));
  ACORN_RETURN_IF_ERROR(CheckLength(t->end_of_word_suffix(), "end_of_word_suffix", 0));
  spec.continuing_subword_prefix = Str(t->continuing_subword_prefix());
  spec.end_of_word_suffix = Str(t->end_of_word_suffix());
  spec.max_input_chars_per_word = t->max_input_chars_per_word();

  if (t->normalizers()) {
    for (uint32_t i = 0; i < t->normalizers()->size(); ++i) {
      const fb::TokenizerNormalizer* s = t->normalizers()->Get(i);
      if (!s || !EnumInRange(s->kind(), fb::TokenizerNormalizerKind::MAX)) {
        return ACORN_ERROR(kMalformed, "bundle tokenizer: normalizer %" PRIu32 " is missing or of an unknown kind", i);
      }
      ACORN_RETURN_IF_ERROR(CheckLength(s->pattern(), "normalizer pattern", i));
      ACORN_RETURN_IF_ERROR(CheckLength(s->content(), "normalizer content", i));
      NormalizerStep step;
      step.kind = static_cast<NormalizerKind>(s->kind());
      step.pattern = {Str(s->pattern()), s->pattern_is_regex()};
      step.content = Str(s->content());
      step.clean_text = s->clean_text();
      step.handle_chinese_chars = s->handle_chinese_chars();
      step.strip_accents = s->strip_accents();
      step.lowercase = s->lowercase();
      step.strip_left = s->strip_left();
      step.strip_right = s->strip_right();
      ACORN_RETURN_IF_ERROR(CheckText(step.pattern.text, "normalizer pattern", i));
      ACORN_RETURN_IF_ERROR(CheckText(step.content, "normalizer content", i));
      spec.normalizers.push_back(std::move(step));
    }
  }
  if (t->pre_tokenizers()) {
    for (uint32_t i = 0; i < t->pre_tokenizers()->size(); ++i) {
      const fb::TokenizerPreTokenizer* s = t->pre_tokenizers()->Get(i);
      if (!s || !EnumInRange(s->kind(), fb::TokenizerPreTokenizerKind::MAX) ||
          !EnumInRange(s->behavior(), fb::TokenizerSplitBehavior::MAX) ||
          !EnumInRange(s->prepend_scheme(), fb::TokenizerPrependScheme::MAX)) {
        return ACORN_ERROR(kMalformed,
                           "bundle tokenizer: pre-tokenizer %" PRIu32 " is missing or has an unknown enum value", i);
      }
      ACORN_RETURN_IF_ERROR(CheckLength(s->pattern(), "pre-tokenizer pattern", i));
      ACORN_RETURN_IF_ERROR(CheckLength(s->replacement(), "pre-tokenizer replacement", i));
      PreTokenizerStep step;
      step.kind = static_cast<PreTokenizerKind>(s->kind());
      step.pattern = {Str(s->pattern()), s->pattern_is_regex()};
      step.behavior = static_cast<SplitBehavior>(s->behavior());
      step.invert = s->invert();
      step.add_prefix_space = s->add_prefix_space();
      step.use_regex = s->use_regex();
      step.replacement = Str(s->replacement());
      step.prepend_scheme = static_cast<PrependScheme>(s->prepend_scheme());
      step.split = s->split();
      step.individual_digits = s->individual_digits();
      ACORN_RETURN_IF_ERROR(CheckText(step.pattern.text, "pre-tokenizer pattern", i));
      ACORN_RETURN_IF_ERROR(CheckText(step.replacement, "pre-tokenizer replacement", i));
      spec.pre_tokenizers.push_back(std::move(step));
    }
  }
  ACORN_ASSIGN_OR_RETURN(spec.post_processor.single, ReadTemplate(t->post_single(), "single"));
  ACORN_ASSIGN_OR_RETURN(spec.post_processor.pair, ReadTemplate(t->post_pair(), "pair"));
  if (t->post_special_tokens()) {
    for (uint32_t i = 0; i < t->post_special_tokens()->size(); ++i) {
      const fb::TokenizerTemplateSpecialToken* s = t->post_special_tokens()->Get(i);
      if (!s) return ACORN_ERROR(kMalformed, "bundle tokenizer: template special token %" PRIu32 " is missing", i);
      ACORN_RETURN_IF_ERROR(CheckLength(s->name(), "template special token", i));
      ACORN_RETURN_IF_ERROR(CheckCount(s->ids(), limits::kMaxTokenizerSteps, "template special token ids",
                                       "kMaxTokenizerSteps"));
      TemplateSpecialToken tok;
      tok.name = Str(s->name());
      if (s->ids()) tok.ids.assign(s->ids()->begin(), s->ids()->end());
      for (int32_t id : tok.ids) ACORN_RETURN_IF_ERROR(CheckId(id, "template special token", i));
      spec.post_processor.special_tokens.push_back(std::move(tok));
    }
  }
  if (t->decoders()) {
    for (uint32_t i = 0; i < t->decoders()->size(); ++i) {
      const fb::TokenizerDecoder* s = t->decoders()->Get(i);
      if (!s || !EnumInRange(s->kind(), fb::TokenizerDecoderKind::MAX) ||
          !EnumInRange(s->prepend_scheme(), fb::TokenizerPrependScheme::MAX)) {
        return ACORN_ERROR(kMalformed, "bundle tokenizer: decoder %" PRIu32 " is missing or has an unknown enum value",
                           i);
      }
      for (const flatbuffers::String* str : {s->pattern(), s->content(), s->replacement(), s->prefix(), s->suffix()}) {
        ACORN_RETURN_IF_ERROR(CheckLength(str, "decoder string", i));
      }
      DecoderStep step;
      step.kind = static_cast<DecoderKind>(s->kind());
      step.pattern = {Str(s->pattern()), s->pattern_is_regex()};
      step.content = Str(s->content());
      step.start = s->start();
      step.stop = s->stop();
      step.replacement = Str(s->replacement());
      step.prepend_scheme = static_cast<PrependScheme>(s->prepend_scheme());
      step.prefix = Str(s->prefix());
      step.cleanup = s->cleanup();
      step.suffix = Str(s->suffix());
      ACORN_RETURN_IF_ERROR(CheckText(step.pattern.text + step.content + step.replacement + step.prefix + step.suffix,
                                      "decoder", i));
      spec.decoders.push_back(std::move(step));
    }
  }
  if (t->added_tokens()) {
    for (uint32_t i = 0; i < t->added_tokens()->size(); ++i) {
      const fb::TokenizerAddedToken* s = t->added_tokens()->Get(i);
      if (!s) return ACORN_ERROR(kMalformed, "bundle tokenizer: added token %" PRIu32 " is missing", i);
      ACORN_RETURN_IF_ERROR(CheckLength(s->content(), "added token", i));
      ACORN_RETURN_IF_ERROR(CheckId(s->id(), "added token", i));
      AddedTokenSpec tok;
      tok.id = s->id();
      tok.content = Str(s->content());
      tok.special = s->special();
      tok.lstrip = s->lstrip();
      tok.rstrip = s->rstrip();
      tok.single_word = s->single_word();
      tok.normalized = s->normalized();
      if (tok.id < 0 || tok.content.empty()) {
        return ACORN_ERROR(kMalformed, "bundle tokenizer: added token %" PRIu32 " has id %" PRId32 " or empty content",
                           i, tok.id);
      }
      ACORN_RETURN_IF_ERROR(CheckText(tok.content, "added token", i));
      spec.added_tokens.push_back(std::move(tok));
    }
  }
  return spec;
}

}  // namespace acorn
