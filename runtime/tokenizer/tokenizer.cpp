// Tokenizer: the encode path (added tokens -> normalizer -> added tokens in normalized text ->
// pre-tokenizer -> model -> post-processor) and the decode path (ids -> token strings -> decoder).
#include "acorn/tokenizer.h"

#include <algorithm>
#include <cinttypes>
#include <unordered_map>

#include "core/limits.h"
#include "tokenizer/added_tokens.h"
#include "tokenizer/bpe_model.h"
#include "tokenizer/decoder.h"
#include "tokenizer/hash_tables.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/unicode.h"
#include "tokenizer/wordpiece_model.h"

namespace acorn {

struct Tokenizer::Impl {
  TokenizerSpec spec;
  StringIdMap vocab_map;  // keys point into spec.vocab
  StringIdMap added_map;  // keys point into spec.added_tokens
  BpeModel bpe;
  WordPieceModel wordpiece;
  Normalizer normalizer;
  PreTokenizer pre_tokenizer;
  Decoder decoder;
  AddedTokenMatcher raw_matcher;         // tokens with normalized == false, found in the input
  AddedTokenMatcher normalized_matcher;  // tokens with normalized == true, found after normalizing
  std::unordered_map<int32_t, size_t> added_by_id;
  // What decoding shows for each added token: HF shows a normalized token's normalized content.
  std::vector<std::string> added_text;
  std::vector<uint8_t> is_special;
  std::vector<std::vector<int32_t>> template_ids;  // per TemplatePiece of post_processor.single
  int32_t vocab_size = 0;

  Status EncodeText(std::string_view text, bool at_origin, const SpecialTokenPolicy* policy, uint64_t* budget,
                    std::vector<int32_t>* ids) const;
  void EncodeWord(std::string_view word, std::vector<int32_t>* ids) const {
    if (spec.model == TokenizerModelKind::kBpe) {
      bpe.Encode(word, ids);
    } else {
      wordpiece.Encode(word, ids);
    }
  }
};

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Result<Tokenizer> Tokenizer::Create(TokenizerSpec spec_in) {
  auto impl = std::make_unique<Impl>();
  impl->spec = std::move(spec_in);
  TokenizerSpec& spec = impl->spec;
  if (spec.vocab.size() > limits::kMaxVocab) {
    return ACORN_ERROR(kMalformed,
                       "tokenizer vocabulary of %zu tokens is above the limit of %" PRIu32 " (limits::kMaxVocab)",
                       spec.vocab.size(), limits::kMaxVocab);
  }
  const int32_t n = static_cast<int32_t>(spec.vocab.size());
  if (n == 0) return ACORN_ERROR(kMalformed, "tokenizer with an empty vocabulary");
  if (spec.unk_id >= n || spec.unk_id < -1 || (spec.unk_id >= 0 && spec.vocab[spec.unk_id].empty())) {
    return ACORN_ERROR(kMalformed, "unknown-token id %" PRId32 " is not in the vocabulary", spec.unk_id);
  }
  const size_t pipeline[] = {spec.normalizers.size(), spec.pre_tokenizers.size(), spec.decoders.size(),
                             spec.post_processor.single.size(), spec.post_processor.pair.size(),
                             spec.post_processor.special_tokens.size()};
  for (size_t steps : pipeline) {
    if (steps > limits::kMaxTokenizerSteps) {
      return ACORN_ERROR(kMalformed,
                         "tokenizer pipeline (normalizers, pre-tokenizers, decoders or post-processor) of "
                         "%zu steps, above the limit of %" PRIu32 " (limits::kMaxTokenizerSteps)",
                         steps, limits::kMaxTokenizerSteps);
    }
  }
  for (const TemplateSpecialToken& t : spec.post_processor.special_tokens) {
    if (t.ids.size() > limits::kMaxTokenizerSteps) {
      return ACORN_ERROR(kMalformed,
                         "post-processor special token \"%s\" has %zu ids, above the limit of %" PRIu32
                         " (limits::kMaxTokenizerSteps)",
                         t.name.c_str(), t.ids.size(), limits::kMaxTokenizerSteps);
    }
  }
  if (spec.max_input_chars_per_word > limits::kMaxWordPieceChars) {
    return ACORN_ERROR(kMalformed, "WordPiece max_input_chars_per_word %" PRIu32 " is above the limit of %" PRIu32 " "
                       "(limits::kMaxWordPieceChars)", spec.max_input_chars_per_word, limits::kMaxWordPieceChars);
  }
  if (spec.merges.size() > limits::kMaxMerges) {
    return ACORN_ERROR(kMalformed, "tokenizer with %zu merges, above the limit of %" PRIu32 " (limits::kMaxMerges)",
                       spec.merges.size(), limits::kMaxMerges);
  }
  if (spec.added_tokens.size() > limits::kMaxVocab) {
    return ACORN_ERROR(kMalformed,
                       "tokenizer with %zu added tokens, above the limit of %" PRIu32 " (limits::kMaxVocab)",
                       spec.added_tokens.size(), limits::kMaxVocab);
  }
  for (size_t id = 0; id < spec.vocab.size(); ++id) {
    const std::string& token = spec.vocab[id];
    if (token.size() > limits::kMaxTokenBytes) {
      return ACORN_ERROR(kMalformed,
                         "vocabulary token %zu is %zu bytes, above the limit of %" PRIu32 " (limits::kMaxTokenBytes)",
                         id, token.size(), limits::kMaxTokenBytes);
    }
    if (!unicode::IsValidUtf8(token)) return ACORN_ERROR(kMalformed, "vocabulary token %zu is not valid UTF-8", id);
  }
  impl->vocab_map.Reserve(spec.vocab.size());
  for (int32_t id = 0; id < n; ++id) {
    if (!spec.vocab[id].empty()) impl->vocab_map.Insert(spec.vocab[id], id);
  }
  impl->vocab_size = n;
  for (size_t i = 0; i < spec.added_tokens.size(); ++i) {
    const AddedTokenSpec& t = spec.added_tokens[i];
    if (t.id < 0 || static_cast<uint32_t>(t.id) >= limits::kMaxVocab) {
      return ACORN_ERROR(kMalformed, "added token %zu has id %" PRId32 ", outside [0, %" PRIu32 ") (limits::kMaxVocab)",
                         i, t.id, limits::kMaxVocab);
    }
    if (t.content.size() > limits::kMaxTokenBytes) {
      return ACORN_ERROR(
          kMalformed, "added token %" PRId32 " is %zu bytes, above the limit of %" PRIu32 " (limits::kMaxTokenBytes)",
          t.id, t.content.size(), limits::kMaxTokenBytes);
    }
    if (t.content.empty() || !unicode::IsValidUtf8(t.content)) {
      return ACORN_ERROR(kMalformed, "added token %" PRId32 " is empty or not valid UTF-8", t.id);
    }
    impl->added_by_id[t.id] = i;
    impl->added_map.Insert(t.content, t.id);
    impl->vocab_size = std::max(impl->vocab_size, t.id + 1);
  }
  impl->is_special.assign(impl->vocab_size, 0);
  for (const AddedTokenSpec& t : spec.added_tokens) {
    if (t.special) impl->is_special[t.id] = 1;
  }

  if (spec.model == TokenizerModelKind::kBpe) {
    ACORN_ASSIGN_OR_RETURN(impl->bpe, BpeModel::Create(&spec, &impl->vocab_map));
  } else {
    ACORN_ASSIGN_OR_RETURN(impl->wordpiece, WordPieceModel::Create(&spec, &impl->vocab_map));
  }
  ACORN_ASSIGN_OR_RETURN(impl->normalizer, Normalizer::Create(spec.normalizers));
  ACORN_ASSIGN_OR_RETURN(impl->pre_tokenizer, PreTokenizer::Create(spec.pre_tokenizers));
  ACORN_ASSIGN_OR_RETURN(impl->decoder, Decoder::Create(spec.decoders));

  std::vector<const AddedTokenSpec*> raw, normalized;
  std::vector<std::string> raw_patterns, normalized_patterns;
  for (const AddedTokenSpec& t : spec.added_tokens) {
    if (t.normalized) {
      normalized.push_back(&t);
      std::string pattern;
      uint64_t budget = Regex::StepBudget(t.content.size());
      Status st = impl->normalizer.Apply(t.content, &pattern, &budget);
      if (!st.ok()) {
        return ACORN_ERROR(kMalformed, "normalizing added token %" PRId32 ": %s", t.id, st.message().c_str());
      }
      normalized_patterns.push_back(std::move(pattern));
      impl->added_text.push_back(normalized_patterns.back());
    } else {
      impl->added_text.push_back(t.content);
      raw.push_back(&t);
      raw_patterns.push_back(t.content);
    }
  }
  impl->raw_matcher.Build(std::move(raw), std::move(raw_patterns));
  impl->normalized_matcher.Build(std::move(normalized), std::move(normalized_patterns));

  for (const TemplatePiece& piece : spec.post_processor.single) {
    std::vector<int32_t> ids;
    if (!piece.is_sequence) {
      const TemplateSpecialToken* found = nullptr;
      for (const TemplateSpecialToken& s : spec.post_processor.special_tokens) {
        if (s.name == piece.special_token) found = &s;
      }
      if (!found) {
        return ACORN_ERROR(kMalformed, "post-processor template names \"%s\", which is not among its special tokens",
                           piece.special_token.c_str());
      }
      for (int32_t id : found->ids) {
        if (id < 0 || id >= impl->vocab_size) {
          return ACORN_ERROR(kMalformed,
                             "post-processor special token \"%s\" has id %" PRId32 " outside the vocabulary",
                             piece.special_token.c_str(), id);
        }
      }
      ids = found->ids;
    }
    impl->template_ids.push_back(std::move(ids));
  }
  return Tokenizer(std::move(impl));
}

// policy: where special tokens may be recognized in this stretch of text (null: everywhere).
Status Tokenizer::Impl::EncodeText(std::string_view text, bool at_origin, const SpecialTokenPolicy* policy,
                                   uint64_t* budget, std::vector<int32_t>* ids) const {
  std::string normalized;
  ACORN_RETURN_IF_ERROR(normalizer.Apply(text, &normalized, budget));
  std::vector<TextSegment> segments;
  normalized_matcher.Split(normalized, &segments, policy);
  std::vector<PreToken> words;
  for (const TextSegment& seg : segments) {
    if (seg.id >= 0) {
      ids->push_back(seg.id);
      continue;
    }
    words.clear();
    ACORN_RETURN_IF_ERROR(pre_tokenizer.Split(std::string_view(normalized).substr(seg.begin, seg.end - seg.begin),
                                              at_origin && seg.begin == 0, &words, budget));
    for (const PreToken& w : words) EncodeWord(w.text, ids);
  }
  return Status::Ok();
}

Status Tokenizer::Encode(std::string_view input, const TokenizeOptions& options, std::vector<int32_t>* ids) const {
  const Impl& im = *impl_;
  ids->clear();
  std::vector<std::pair<size_t, size_t>> untrusted;
  for (size_t i = 0; i < options.untrusted.size(); ++i) {
    auto [b, e] = options.untrusted[i];
    if (b > e || e > input.size() || (!untrusted.empty() && b < untrusted.back().second)) {
      return ACORN_ERROR(kInvalidArgument, "untrusted range %zu [%zu, %zu) is out of order or outside the text of %zu bytes",
                         i, b, e, input.size());
    }
    if (b < e) untrusted.push_back({b, e});
  }
  std::string repaired;
  std::string_view text = input;
  if (!unicode::IsValidUtf8(input)) {
    // Repaired piece by piece, so that the untrusted ranges can follow the text as it changes size.
    size_t last = 0;
    for (auto& [b, e] : untrusted) {
      repaired += unicode::SanitizeUtf8(input.substr(last, b - last));
      const size_t begin = repaired.size();
      repaired += unicode::SanitizeUtf8(input.substr(b, e - b));
      last = e;
      b = begin;
      e = repaired.size();
    }
    repaired += unicode::SanitizeUtf8(input.substr(last));
    text = repaired;
  }
  SpecialTokenPolicy policy;
  policy.split_all = options.split_special_tokens;
  policy.untrusted = &untrusted;
  // Normalized text no longer lines up with the input, so a stretch that holds untrusted text has
  // no special tokens recognized after normalization at all.
  SpecialTokenPolicy no_specials;
  no_specials.split_all = true;

  uint64_t budget = Regex::StepBudget(text.size());
  std::vector<int32_t> body;
  std::vector<TextSegment> segments;
  im.raw_matcher.Split(text, &segments, &policy);
  for (const TextSegment& seg : segments) {
    if (seg.id >= 0) {
      body.push_back(seg.id);
      continue;
    }
    const SpecialTokenPolicy* inner = policy.Allows(seg.begin, seg.end) ? nullptr : &no_specials;
    ACORN_RETURN_IF_ERROR(im.EncodeText(text.substr(seg.begin, seg.end - seg.begin), seg.begin == 0, inner, &budget, &body));
  }
  if (!options.add_special_tokens || im.spec.post_processor.single.empty()) {
    ids->swap(body);
    return Status::Ok();
  }
  ids->reserve(body.size() + 4);
  for (size_t i = 0; i < im.spec.post_processor.single.size(); ++i) {
    const TemplatePiece& piece = im.spec.post_processor.single[i];
    if (piece.is_sequence) {
      if (piece.sequence == 0) ids->insert(ids->end(), body.begin(), body.end());
    } else {
      ids->insert(ids->end(), im.template_ids[i].begin(), im.template_ids[i].end());
    }
  }
  return Status::Ok();
}

std::vector<int32_t> Tokenizer::Encode(std::string_view text, bool add_special_tokens) const {
  TokenizeOptions options;
  options.add_special_tokens = add_special_tokens;
  std::vector<int32_t> ids;
  if (!Encode(text, options, &ids).ok()) ids.clear();
  return ids;
}

std::string Tokenizer::Decode(Span<const int32_t> ids, bool skip_special_tokens) const {
  const Impl& im = *impl_;
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    if (id < 0 || id >= im.vocab_size) continue;
    if (skip_special_tokens && im.is_special[id]) continue;
    std::string_view token = IdToToken(id);
    if (token.empty()) continue;
    tokens.emplace_back(token);
  }
  return im.decoder.Decode(std::move(tokens));
}

int32_t Tokenizer::vocab_size() const { return impl_->vocab_size; }

int32_t Tokenizer::TokenToId(std::string_view token) const {
  int32_t id = impl_->added_map.Find(token);
  return id >= 0 ? id : impl_->vocab_map.Find(token);
}

std::string_view Tokenizer::IdToToken(int32_t id) const {
  auto it = impl_->added_by_id.find(id);
  if (it != impl_->added_by_id.end()) return impl_->added_text[it->second];
  if (id < 0 || id >= static_cast<int32_t>(impl_->spec.vocab.size())) return {};
  return impl_->spec.vocab[id];
}

bool Tokenizer::IsSpecial(int32_t id) const {
  return id >= 0 && id < impl_->vocab_size && impl_->is_special[id];
}

const TokenizerSpec& Tokenizer::spec() const { return impl_->spec; }

}  // namespace acorn
