// Unicode services the tokenizer needs: UTF-8 decoding and repair, general categories and the few
// binary properties that tokenizers test (White_Space, Alphabetic), case mappings, and the four
// normalization forms. Backed by tables generated from the Unicode Character Database.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace acorn {
namespace unicode {

// Order matches the generator (scripts/tokenizer/gen_unicode_tables.py). Cn is "unassigned".
enum class GeneralCategory : uint8_t {
  kCn, kLu, kLl, kLt, kLm, kLo, kMn, kMc, kMe, kNd, kNl, kNo, kPc, kPd, kPs,
  kPe, kPi, kPf, kPo, kSm, kSc, kSk, kSo, kZs, kZl, kZp, kCc, kCf, kCs, kCo,
};
constexpr uint32_t CategoryBit(GeneralCategory c) { return 1u << static_cast<uint32_t>(c); }
constexpr uint32_t kLetterMask = (1u << 1) | (1u << 2) | (1u << 3) | (1u << 4) | (1u << 5);
constexpr uint32_t kMarkMask = (1u << 6) | (1u << 7) | (1u << 8);
constexpr uint32_t kNumberMask = (1u << 9) | (1u << 10) | (1u << 11);
constexpr uint32_t kPunctuationMask = (1u << 12) | (1u << 13) | (1u << 14) | (1u << 15) | (1u << 16) |
                                      (1u << 17) | (1u << 18);
constexpr uint32_t kSymbolMask = (1u << 19) | (1u << 20) | (1u << 21) | (1u << 22);
constexpr uint32_t kSeparatorMask = (1u << 23) | (1u << 24) | (1u << 25);
constexpr uint32_t kOtherMask = (1u << 0) | (1u << 26) | (1u << 27) | (1u << 28) | (1u << 29);

GeneralCategory Category(uint32_t cp);
bool IsWhiteSpace(uint32_t cp);  // the White_Space property, as Rust's char::is_whitespace
bool IsAlphabetic(uint32_t cp);  // the Alphabetic property, as Rust's char::is_alphabetic
bool IsNumeric(uint32_t cp);     // Nd, Nl or No, as Rust's char::is_numeric
// Regex \w in Unicode mode: Alphabetic, marks, Nd, Pc, Join_Control.
bool IsWordChar(uint32_t cp);
uint8_t CombiningClass(uint32_t cp);

// Full lowercase mapping without context (Rust's char::to_lowercase): appends 1 to 3 code points.
void AppendLowercase(uint32_t cp, std::u32string* out);
uint32_t SimpleUppercase(uint32_t cp);
uint32_t SimpleCaseFold(uint32_t cp);
// Calls fn(cp) for every code point whose simple case folding equals `folded` (other than itself).
template <typename Fn>
void ForEachFoldingTo(uint32_t folded, Fn fn);

// UTF-8. Decode assumes valid input (what SanitizeUtf8 returns); it never reads past `end`.
constexpr uint32_t kReplacementChar = 0xFFFD;
uint32_t DecodeUtf8(const char* p, const char* end, int* length);
inline int Utf8Length(unsigned char lead) {
  return lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
}
void AppendUtf8(uint32_t cp, std::string* out);
// Returns true when `bytes` is well-formed UTF-8.
bool IsValidUtf8(std::string_view bytes);
// Replaces each maximal ill-formed subsequence by U+FFFD, as Python's bytes.decode('utf-8',
// 'replace') and Rust's String::from_utf8_lossy do.
std::string SanitizeUtf8(std::string_view bytes);
std::u32string ToUtf32(std::string_view utf8);  // valid UTF-8 in
std::string ToUtf8(std::u32string_view text);

enum class NormalizationForm { kNfd, kNfc, kNfkd, kNfkc };
std::u32string Normalize(std::u32string_view text, NormalizationForm form);

// ---- template implementation ----
namespace detail {
size_t CaseFoldRunCount();
void CaseFoldRun(size_t i, uint32_t* start, uint32_t* count, uint32_t* stride, int32_t* delta);
}  // namespace detail

template <typename Fn>
void ForEachFoldingTo(uint32_t folded, Fn fn) {
  for (size_t i = 0; i < detail::CaseFoldRunCount(); ++i) {
    uint32_t start, count, stride;
    int32_t delta;
    detail::CaseFoldRun(i, &start, &count, &stride, &delta);
    uint32_t source = folded - static_cast<uint32_t>(delta);
    if (source < start || (source - start) % stride != 0 || (source - start) / stride >= count) continue;
    fn(source);
  }
}

}  // namespace unicode
}  // namespace acorn
