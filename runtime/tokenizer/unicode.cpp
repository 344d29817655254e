// Lookups over the generated tables (binary search over ranges), UTF-8 and normalization.
#include "tokenizer/unicode.h"

#include <algorithm>

#include "tokenizer/unicode_tables.h"

namespace acorn {
namespace unicode {
namespace t = unicode_tables;

namespace {

template <typename Range>
const Range* FindRange(const Range* ranges, size_t count, uint32_t cp) {
  const Range* end = ranges + count;
  const Range* it = std::upper_bound(ranges, end, cp, [](uint32_t c, const Range& r) { return c < r.first; });
  if (it == ranges) return nullptr;
  --it;
  return cp <= it->last ? it : nullptr;
}

bool MapRun(const t::DeltaRun* runs, size_t count, uint32_t cp, uint32_t* mapped) {
  const t::DeltaRun* end = runs + count;
  const t::DeltaRun* it = std::upper_bound(runs, end, cp, [](uint32_t c, const t::DeltaRun& r) { return c < r.start; });
  if (it == runs) return false;
  --it;
  uint32_t offset = cp - it->start;
  if (offset % it->stride != 0 || offset / it->stride >= it->count) return false;
  *mapped = static_cast<uint32_t>(static_cast<int64_t>(cp) + it->delta);
  return true;
}

// Hangul syllables decompose and compose algorithmically (Unicode 3.12).
constexpr uint32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr uint32_t kLCount = 19, kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount, kSCount = kLCount * kNCount;

void Decompose(uint32_t cp, bool compatibility, std::u32string* out) {
  if (cp >= kSBase && cp < kSBase + kSCount) {
    uint32_t s = cp - kSBase;
    out->push_back(kLBase + s / kNCount);
    out->push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount != 0) out->push_back(kTBase + s % kTCount);
    return;
  }
  const t::Decomposition* end = t::kDecompositions + t::kDecompositionsCount;
  const t::Decomposition* it = std::lower_bound(t::kDecompositions, end, cp,
                                                [](const t::Decomposition& d, uint32_t c) { return d.codepoint < c; });
  if (it == end || it->codepoint != cp || (it->compatibility && !compatibility)) {
    out->push_back(cp);
    return;
  }
  for (int i = 0; i < it->length; ++i) Decompose(t::kDecompositionPool[it->pool_offset + i], compatibility, out);
}

uint32_t Compose(uint32_t first, uint32_t second) {
  if (first >= kLBase && first < kLBase + kLCount && second >= kVBase && second < kVBase + kVCount) {
    return kSBase + ((first - kLBase) * kVCount + (second - kVBase)) * kTCount;
  }
  if (first >= kSBase && first < kSBase + kSCount && (first - kSBase) % kTCount == 0 && second > kTBase &&
      second < kTBase + kTCount) {
    return first + (second - kTBase);
  }
  const t::Composition* end = t::kCompositions + t::kCompositionsCount;
  const t::Composition* it = std::lower_bound(t::kCompositions, end, std::make_pair(first, second),
                                              [](const t::Composition& c, std::pair<uint32_t, uint32_t> key) {
                                                return c.first != key.first ? c.first < key.first : c.second < key.second;
                                              });
  if (it != end && it->first == first && it->second == second) return it->composite;
  return 0;
}

}  // namespace

GeneralCategory Category(uint32_t cp) {
  const t::CategoryRange* r = FindRange(t::kCategories, t::kCategoriesCount, cp);
  return r ? static_cast<GeneralCategory>(r->category) : GeneralCategory::kCn;
}
bool IsWhiteSpace(uint32_t cp) {
  if (cp < 0x80) return cp == ' ' || (cp >= 0x09 && cp <= 0x0D);
  return FindRange(t::kWhiteSpace, t::kWhiteSpaceCount, cp) != nullptr;
}
bool IsAlphabetic(uint32_t cp) {
  if (cp < 0x80) return (cp | 0x20) >= 'a' && (cp | 0x20) <= 'z';
  return FindRange(t::kAlphabetic, t::kAlphabeticCount, cp) != nullptr;
}
bool IsWordChar(uint32_t cp) {
  if (cp < 0x80) return IsAlphabetic(cp) || (cp >= '0' && cp <= '9') || cp == '_';
  if (IsAlphabetic(cp)) return true;
  uint32_t bit = CategoryBit(Category(cp));
  if (bit & (kMarkMask | CategoryBit(GeneralCategory::kNd) | CategoryBit(GeneralCategory::kPc))) return true;
  return cp == 0x200C || cp == 0x200D;  // Join_Control
}
bool IsNumeric(uint32_t cp) {
  if (cp < 0x80) return cp >= '0' && cp <= '9';
  return (CategoryBit(Category(cp)) & kNumberMask) != 0;
}
uint8_t CombiningClass(uint32_t cp) {
  if (cp < 0x300) return 0;
  const t::CombiningClassRange* r = FindRange(t::kCombiningClasses, t::kCombiningClassesCount, cp);
  return r ? r->combining_class : 0;
}

void AppendLowercase(uint32_t cp, std::u32string* out) {
  for (size_t i = 0; i < t::kSpecialLowercaseCount; ++i) {
    if (t::kSpecialLowercase[i].codepoint == cp) {
      for (int k = 0; k < t::kSpecialLowercase[i].length; ++k) out->push_back(t::kSpecialLowercase[i].mapping[k]);
      return;
    }
  }
  uint32_t mapped = cp;
  MapRun(t::kLowercase, t::kLowercaseCount, cp, &mapped);
  out->push_back(mapped);
}
uint32_t SimpleUppercase(uint32_t cp) {
  uint32_t mapped = cp;
  MapRun(t::kUppercase, t::kUppercaseCount, cp, &mapped);
  return mapped;
}
uint32_t SimpleCaseFold(uint32_t cp) {
  uint32_t mapped = cp;
  MapRun(t::kCaseFold, t::kCaseFoldCount, cp, &mapped);
  return mapped;
}
namespace detail {
size_t CaseFoldRunCount() { return t::kCaseFoldCount; }
void CaseFoldRun(size_t i, uint32_t* start, uint32_t* count, uint32_t* stride, int32_t* delta) {
  *start = t::kCaseFold[i].start;
  *count = t::kCaseFold[i].count;
  *stride = t::kCaseFold[i].stride;
  *delta = t::kCaseFold[i].delta;
}
}  // namespace detail

uint32_t DecodeUtf8(const char* p, const char* end, int* length) {
  const unsigned char* u = reinterpret_cast<const unsigned char*>(p);
  unsigned char lead = u[0];
  int n = Utf8Length(lead);
  if (end - p < n) n = 1;  // only for invalid input; keeps reads in bounds
  *length = n;
  switch (n) {
    case 1: return lead;
    case 2: return ((lead & 0x1Fu) << 6) | (u[1] & 0x3Fu);
    case 3: return ((lead & 0x0Fu) << 12) | ((u[1] & 0x3Fu) << 6) | (u[2] & 0x3Fu);
    default: return ((lead & 0x07u) << 18) | ((u[1] & 0x3Fu) << 12) | ((u[2] & 0x3Fu) << 6) | (u[3] & 0x3Fu);
  }
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

namespace {
// Length of the well-formed sequence at p (1..4), or 0 with *bad set to the length of the maximal
// ill-formed prefix to replace (at least 1). Follows Table 3-7 of the Unicode Standard.
int ValidSequenceLength(const unsigned char* p, const unsigned char* end, int* bad) {
  unsigned char b = p[0];
  if (b < 0x80) return 1;
  int need;
  unsigned char lo = 0x80, hi = 0xBF;
  if (b >= 0xC2 && b <= 0xDF) {
    need = 1;
  } else if (b >= 0xE0 && b <= 0xEF) {
    need = 2;
    if (b == 0xE0) lo = 0xA0;
    if (b == 0xED) hi = 0x9F;
  } else if (b >= 0xF0 && b <= 0xF4) {
    need = 3;
    if (b == 0xF0) lo = 0x90;
    if (b == 0xF4) hi = 0x8F;
  } else {
    *bad = 1;
    return 0;
  }
  int i = 1;
  for (; i <= need; ++i) {
    if (p + i >= end) break;
    unsigned char c = p[i];
    unsigned char l = i == 1 ? lo : 0x80, h = i == 1 ? hi : 0xBF;
    if (c < l || c > h) break;
  }
  if (i > need) return need + 1;
  *bad = i;
  return 0;
}
}  // namespace

bool IsValidUtf8(std::string_view bytes) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const unsigned char* end = p + bytes.size();
  while (p < end) {
    if (*p < 0x80) {
      ++p;
      continue;
    }
    int bad = 0;
    int n = ValidSequenceLength(p, end, &bad);
    if (n == 0) return false;
    p += n;
  }
  return true;
}

std::string SanitizeUtf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  const unsigned char* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const unsigned char* end = p + bytes.size();
  while (p < end) {
    int bad = 0;
    int n = ValidSequenceLength(p, end, &bad);
    if (n > 0) {
      out.append(reinterpret_cast<const char*>(p), n);
      p += n;
    } else {
      AppendUtf8(kReplacementChar, &out);
      p += bad;
    }
  }
  return out;
}

std::u32string ToUtf32(std::string_view utf8) {
  std::u32string out;
  out.reserve(utf8.size());
  const char* p = utf8.data();
  const char* end = p + utf8.size();
  while (p < end) {
    int n;
    out.push_back(DecodeUtf8(p, end, &n));
    p += n;
  }
  return out;
}

std::string ToUtf8(std::u32string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t c : text) AppendUtf8(c, &out);
  return out;
}

std::u32string Normalize(std::u32string_view text, NormalizationForm form) {
  bool compatibility = form == NormalizationForm::kNfkd || form == NormalizationForm::kNfkc;
  bool compose = form == NormalizationForm::kNfc || form == NormalizationForm::kNfkc;
  std::u32string out;
  out.reserve(text.size());
  for (char32_t c : text) {
    if (c < 0xA0) {  // nothing below U+00A0 decomposes
      out.push_back(c);
    } else {
      Decompose(c, compatibility, &out);
    }
  }
  // Canonical ordering: stable-sort each run of non-starters by combining class.
  for (size_t i = 0; i < out.size();) {
    if (CombiningClass(out[i]) == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < out.size() && CombiningClass(out[j]) != 0) ++j;
    std::stable_sort(out.begin() + i, out.begin() + j,
                     [](char32_t a, char32_t b) { return CombiningClass(a) < CombiningClass(b); });
    i = j;
  }
  if (!compose) return out;
  // Canonical composition (Unicode 3.11, D117).
  std::u32string composed;
  composed.reserve(out.size());
  size_t starter = std::u32string::npos;
  int last_class = 0;  // class of the last character kept after the starter
  for (char32_t c : out) {
    int cc = CombiningClass(c);
    bool adjacent = starter != std::u32string::npos && composed.size() - 1 == starter;
    bool blocked = starter == std::u32string::npos || (!adjacent && (last_class == 0 || last_class >= cc));
    if (!blocked) {
      uint32_t comp = Compose(composed[starter], c);
      if (comp != 0) {
        composed[starter] = comp;
        continue;
      }
    }
    if (cc == 0) starter = composed.size();
    last_class = cc;
    composed.push_back(c);
  }
  return composed;
}

}  // namespace unicode
}  // namespace acorn
