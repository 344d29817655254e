#include "tokenizer_flatbuffer.h"

#include <string>
#include <vector>

namespace acorn {
namespace {

using flatbuffers::FlatBufferBuilder;
using flatbuffers::Offset;

std::vector<Offset<fb::TokenizerTemplatePiece>> WriteTemplate(FlatBufferBuilder& b,
                                                               const std::vector<TemplatePiece>& pieces) {
  std::vector<Offset<fb::TokenizerTemplatePiece>> out;
  for (const TemplatePiece& p : pieces) {
    out.push_back(fb::CreateTokenizerTemplatePiece(b, p.is_sequence, p.sequence, b.CreateString(p.special_token),
                                                   p.type_id));
  }
  return out;
}

}  // namespace

Offset<fb::Tokenizer> WriteTokenizer(FlatBufferBuilder& b, const TokenizerSpec& spec) {
  std::vector<Offset<flatbuffers::String>> vocab;
  vocab.reserve(spec.vocab.size());
  for (const std::string& t : spec.vocab) vocab.push_back(b.CreateString(t));
  auto vocab_vec = b.CreateVector(vocab);
  std::vector<int32_t> merges;
  merges.reserve(spec.merges.size() * 2);
  for (auto [l, r] : spec.merges) {
    merges.push_back(l);
    merges.push_back(r);
  }
  auto merges_vec = b.CreateVector(merges);
  auto prefix = b.CreateString(spec.continuing_subword_prefix);
  auto suffix = b.CreateString(spec.end_of_word_suffix);

  std::vector<Offset<fb::TokenizerNormalizer>> normalizers;
  for (const NormalizerStep& s : spec.normalizers) {
    normalizers.push_back(fb::CreateTokenizerNormalizer(
        b, static_cast<fb::TokenizerNormalizerKind>(s.kind), b.CreateString(s.pattern.text), s.pattern.is_regex,
        b.CreateString(s.content), s.clean_text, s.handle_chinese_chars, s.strip_accents, s.lowercase, s.strip_left,
        s.strip_right));
  }
  std::vector<Offset<fb::TokenizerPreTokenizer>> pre;
  for (const PreTokenizerStep& s : spec.pre_tokenizers) {
    pre.push_back(fb::CreateTokenizerPreTokenizer(
        b, static_cast<fb::TokenizerPreTokenizerKind>(s.kind), b.CreateString(s.pattern.text), s.pattern.is_regex,
        static_cast<fb::TokenizerSplitBehavior>(s.behavior), s.invert, s.add_prefix_space, s.use_regex,
        b.CreateString(s.replacement), static_cast<fb::TokenizerPrependScheme>(s.prepend_scheme), s.split,
        s.individual_digits));
  }
  auto single = WriteTemplate(b, spec.post_processor.single);
  auto pair = WriteTemplate(b, spec.post_processor.pair);
  std::vector<Offset<fb::TokenizerTemplateSpecialToken>> specials;
  for (const TemplateSpecialToken& s : spec.post_processor.special_tokens) {
    specials.push_back(fb::CreateTokenizerTemplateSpecialToken(b, b.CreateString(s.name), b.CreateVector(s.ids)));
  }
  std::vector<Offset<fb::TokenizerDecoder>> decoders;
  for (const DecoderStep& s : spec.decoders) {
    decoders.push_back(fb::CreateTokenizerDecoder(
        b, static_cast<fb::TokenizerDecoderKind>(s.kind), b.CreateString(s.pattern.text), s.pattern.is_regex,
        b.CreateString(s.content), s.start, s.stop, b.CreateString(s.replacement),
        static_cast<fb::TokenizerPrependScheme>(s.prepend_scheme), b.CreateString(s.prefix), s.cleanup,
        b.CreateString(s.suffix)));
  }
  std::vector<Offset<fb::TokenizerAddedToken>> added;
  for (const AddedTokenSpec& t : spec.added_tokens) {
    added.push_back(fb::CreateTokenizerAddedToken(b, t.id, b.CreateString(t.content), t.special, t.lstrip, t.rstrip,
                                                  t.single_word, t.normalized));
  }
  fb::TokenizerKind kind =
      spec.model == TokenizerModelKind::kBpe ? fb::TokenizerKind::Bpe : fb::TokenizerKind::WordPiece;
  return fb::CreateTokenizer(b, kind, vocab_vec, merges_vec, spec.unk_id, spec.byte_fallback, spec.fuse_unk,
                             spec.ignore_merges, prefix, suffix, spec.max_input_chars_per_word,
                             b.CreateVector(normalizers), b.CreateVector(pre), b.CreateVector(single),
                             b.CreateVector(pair), b.CreateVector(specials), b.CreateVector(decoders),
                             b.CreateVector(added));
}

}  // namespace acorn
