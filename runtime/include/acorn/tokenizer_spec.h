// TokenizerSpec: a plain description of a text tokenizer (vocabulary, merges, the normalizer,
// pre-tokenizer, post-processor and decoder pipelines, added tokens), in the vocabulary of Hugging
// Face's `tokenizers` library. It is what a tokenizer.json parser or a bundle reader produces and
// what acorn::Tokenizer (tokenizer.h) is built from; it holds no behaviour.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace acorn {

enum class TokenizerModelKind : uint8_t {
  kBpe = 0,        // byte-pair merges (GPT-2 / Llama-3 byte level, Llama-2 SentencePiece-style)
  kWordPiece = 1,  // greedy longest-prefix (BERT)
};

// A text pattern: a literal string or a regular expression (the subset in tokenizer/regex.h).
struct TokenizerPattern {
  std::string text;
  bool is_regex = false;
};

enum class NormalizerKind : uint8_t {
  kPrepend = 0,       // content before non-empty text
  kReplace = 1,       // pattern -> content
  kLowercase = 2,
  kNfc = 3,
  kNfd = 4,
  kNfkc = 5,
  kNfkd = 6,
  kStripAccents = 7,  // drop non-spacing marks (Mn)
  kBert = 8,          // BertNormalizer: the four flags below
  kStrip = 9,         // strip white space: left/right flags
};

struct NormalizerStep {
  NormalizerKind kind = NormalizerKind::kLowercase;
  TokenizerPattern pattern;  // kReplace
  std::string content;       // kPrepend, kReplace
  // kBert
  bool clean_text = true;
  bool handle_chinese_chars = true;
  bool strip_accents = true;  // already resolved: HF's null means "same as lowercase"
  bool lowercase = true;
  // kStrip
  bool strip_left = false;
  bool strip_right = false;
};

enum class SplitBehavior : uint8_t {
  kRemoved = 0,
  kIsolated = 1,
  kMergedWithPrevious = 2,
  kMergedWithNext = 3,
  kContiguous = 4,
};

enum class PrependScheme : uint8_t { kAlways = 0, kFirst = 1, kNever = 2 };

enum class PreTokenizerKind : uint8_t {
  kByteLevel = 0,        // optional GPT-2 regex split, then bytes -> printable characters
  kSplit = 1,            // pattern, behavior, invert
  kMetaspace = 2,        // ' ' -> replacement, prepend_scheme, split
  kBert = 3,             // split on white space (removed) and punctuation (isolated)
  kWhitespace = 4,       // \w+|[^\w\s]+
  kWhitespaceSplit = 5,  // split on white space
  kDigits = 6,           // individual_digits
  kPunctuation = 7,      // behavior
};

struct PreTokenizerStep {
  PreTokenizerKind kind = PreTokenizerKind::kWhitespace;
  // kSplit
  TokenizerPattern pattern;
  SplitBehavior behavior = SplitBehavior::kIsolated;  // kSplit, kPunctuation
  bool invert = false;
  // kByteLevel
  bool add_prefix_space = false;
  bool use_regex = true;
  // kMetaspace
  std::string replacement = "\xE2\x96\x81";  // U+2581
  PrependScheme prepend_scheme = PrependScheme::kAlways;
  bool split = true;
  // kDigits
  bool individual_digits = false;
};

// One item of a post-processing template: a special token (by name in special_tokens) or the
// sequence A (0) or B (1).
struct TemplatePiece {
  bool is_sequence = false;
  uint32_t sequence = 0;  // 0: A, 1: B
  std::string special_token;
  uint32_t type_id = 0;
};

struct TemplateSpecialToken {
  std::string name;
  std::vector<int32_t> ids;
};

// Post-processing as a template (BertProcessing and RobertaProcessing are expressed this way; the
// ByteLevel post-processor only adjusts offsets and needs nothing here). Empty templates: none.
struct PostProcessorSpec {
  std::vector<TemplatePiece> single;
  std::vector<TemplatePiece> pair;
  std::vector<TemplateSpecialToken> special_tokens;
};

enum class DecoderKind : uint8_t {
  kByteLevel = 0,
  kReplace = 1,       // pattern -> content
  kByteFallback = 2,  // <0xXX> tokens -> bytes
  kFuse = 3,
  kStrip = 4,         // content (one character), start, stop
  kMetaspace = 5,     // replacement, prepend_scheme
  kWordPiece = 6,     // prefix, cleanup
  kBpe = 7,           // suffix (end_of_word_suffix) -> ' '
};

struct DecoderStep {
  DecoderKind kind = DecoderKind::kFuse;
  TokenizerPattern pattern;  // kReplace
  std::string content;       // kReplace, kStrip (a single character)
  uint32_t start = 0, stop = 0;
  std::string replacement = "\xE2\x96\x81";  // kMetaspace
  PrependScheme prepend_scheme = PrependScheme::kAlways;
  std::string prefix = "##";  // kWordPiece
  bool cleanup = true;        // kWordPiece
  std::string suffix;         // kBpe
};

struct AddedTokenSpec {
  int32_t id = 0;
  std::string content;
  bool special = false;
  bool lstrip = false;
  bool rstrip = false;
  bool single_word = false;
  bool normalized = false;  // matched in normalized text rather than raw text
};

struct TokenizerSpec {
  TokenizerModelKind model = TokenizerModelKind::kBpe;
  // vocab[id] is the token string; ids without a token hold "" (a gap in the source vocabulary).
  std::vector<std::string> vocab;
  // BPE merges in rank order, as (left id, right id); the merged token is vocab[left] + vocab[right].
  std::vector<std::pair<int32_t, int32_t>> merges;
  int32_t unk_id = -1;  // -1: none
  bool byte_fallback = false;
  bool fuse_unk = false;
  bool ignore_merges = false;  // a pre-token that is itself in the vocabulary is emitted whole
  std::string continuing_subword_prefix;  // BPE: prefix of non-initial symbols; WordPiece: "##"
  std::string end_of_word_suffix;
  uint32_t max_input_chars_per_word = 100;  // WordPiece

  std::vector<NormalizerStep> normalizers;
  std::vector<PreTokenizerStep> pre_tokenizers;
  PostProcessorSpec post_processor;
  std::vector<DecoderStep> decoders;
  std::vector<AddedTokenSpec> added_tokens;
};

}  // namespace acorn
