// The limits acorn holds every untrusted input to: bundles, GGUF files, Hugging Face checkpoints,
// tokenizer files, regular expressions and prompts. They are written here once, and only here: the
// loader, the tokenizer, the converter and the fuzz targets all read them from this table, so that
// what the converter writes the loader accepts and what the loader refuses the converter refuses.
// Each bound is far above what a real model needs and far below what would exhaust memory, take
// seconds of work, or overflow the arithmetic that sizes buffers.
#pragma once

#include <cstddef>
#include <cstdint>

namespace acorn {
namespace limits {

// --- Bundles ---------------------------------------------------------------------------------
// Bytes one tensor may occupy (64 TiB): keeps every size product far from overflowing uint64.
constexpr uint64_t kMaxTensorBytes = uint64_t{1} << 46;
// Bytes a session arena may be planned to.
constexpr uint64_t kMaxArenaBytes = uint64_t{1} << 48;
// Rows one step may carry (the symbolic tokens dimension).
constexpr uint32_t kMaxTokens = 1u << 20;
// Positions a KV cache may hold.
constexpr uint32_t kMaxContext = 1u << 24;
// FlatBuffer tables the verifier walks before it gives up.
constexpr size_t kMaxFlatBufferTables = 10u * 1000 * 1000;
// zstd: uncompressed bytes per compressed byte a segment may claim (a decompression bomb otherwise).
constexpr uint64_t kMaxZstdRatio = uint64_t{1} << 16;

// --- Model shape (op attributes, checkpoint configs, GGUF metadata) ---------------------------
constexpr uint32_t kMaxHeads = 4096;        // attention heads, query or key/value
constexpr uint32_t kMaxHeadDim = 4096;      // width of one head
constexpr uint32_t kMaxHidden = 1u << 17;   // model width (131072)
constexpr uint32_t kMaxFfn = 1u << 20;      // feed-forward width
constexpr uint32_t kMaxLayers = 1024;
// Threads one session's pool may start.
constexpr uint32_t kMaxThreads = 1024;
// Row copies (Copy op): first row and row count.
constexpr int64_t kMaxCopyRows = int64_t{1} << 20;

// --- Tokenizers --------------------------------------------------------------------------------
// Vocabulary entries and the largest token id (ids index tables sized by the vocabulary).
constexpr uint32_t kMaxVocab = 1u << 22;  // 4,194,304; the largest real vocabularies are ~260k
constexpr uint32_t kMaxTokenBytes = 1u << 16;  // bytes of one vocabulary entry
constexpr uint32_t kMaxMerges = 1u << 22;
// Regular expressions from tokenizer files: pattern length, nesting depth of groups, compiled
// program size (counted repeats expand: a{1000}{1000} would be a million instructions), and the
// backtracking steps one search may take per byte of input (plus a fixed allowance), after which the
// search reports an error rather than running for seconds.
constexpr size_t kMaxRegexPatternBytes = 1u << 14;
constexpr uint32_t kMaxRegexNesting = 64;
constexpr size_t kMaxRegexProgram = 1u << 16;
constexpr uint32_t kMaxRegexRepeat = 1000;
constexpr uint64_t kRegexStepsPerByte = 256;
constexpr uint64_t kRegexStepsBase = 1u << 20;
// Backtracking points a search may hold at once (24 bytes each: 96 MiB), so a pattern that piles up
// alternatives cannot take memory in proportion to its step allowance.
constexpr size_t kMaxRegexBacktrack = size_t{1} << 22;

// Steps in a tokenizer's normalizer, pre-tokenizer or decoder pipeline, pieces of its post-processor
// template and ids of one template token, and the nesting of "Sequence" in a tokenizer.json: every
// step runs over all the text of every encode, and real tokenizers have a handful.
constexpr uint32_t kMaxTokenizerSteps = 64;
// WordPiece's longest word (max_input_chars_per_word): its greedy longest-match is cubic in it.
// Hugging Face's default is 100.
constexpr uint32_t kMaxWordPieceChars = 1024;
// Growth a tokenizer's normalizers (and decoders) may cause: the text they make is at most this
// many times (input bytes + 64). NFKD takes a character to at most 18, but Replace steps with long
// contents, applied one after another, would grow text geometrically.
constexpr uint64_t kMaxTokenizerExpansion = 64;

// --- Input files (converter) --------------------------------------------------------------------
// JSON documents (config.json, tokenizer.json, safetensors headers, index.json).
constexpr uint64_t kMaxJsonBytes = uint64_t{1} << 30;
constexpr uint64_t kMaxSafetensorsHeaderBytes = uint64_t{100} << 20;  // as the safetensors spec says
// GGUF: metadata entries, array elements, string bytes, tensors.
constexpr uint64_t kMaxGgufKeys = 1u << 20;
constexpr uint64_t kMaxGgufArrayElements = uint64_t{1} << 26;
constexpr uint64_t kMaxGgufStringBytes = uint64_t{1} << 26;
constexpr uint64_t kMaxGgufTensors = 1u << 20;
constexpr uint64_t kMaxGgufAlignment = 1u << 20;  // general.alignment (a power of two)
constexpr uint32_t kMaxGgufArrayDepth = 4;        // arrays of arrays

}  // namespace limits
}  // namespace acorn
