// Layout of the generated Unicode tables (unicode_tables.cpp, made by
// scripts/tokenizer/gen_unicode_tables.py). Only unicode.cpp reads them; everything else asks unicode.h.
#pragma once

#include <cstddef>
#include <cstdint>

namespace acorn {
namespace unicode_tables {

struct CodepointRange {
  uint32_t first, last;  // inclusive
};
struct CategoryRange {
  uint32_t first, last;
  uint8_t category;  // GeneralCategory
};
struct CombiningClassRange {
  uint32_t first, last;
  uint8_t combining_class;
};
struct Decomposition {
  uint32_t codepoint;
  uint8_t compatibility;  // 1: a <tag>ged compatibility mapping, 0: canonical
  uint16_t pool_offset;
  uint8_t length;
};
struct Composition {
  uint32_t first, second, composite;  // sorted by (first, second)
};
// count code points start, start + stride, ... map to code point + delta.
struct DeltaRun {
  uint32_t start;
  uint16_t count;
  uint8_t stride;
  int32_t delta;
};
struct SpecialLowercase {
  uint32_t codepoint;
  uint32_t mapping[3];
  uint8_t length;
};

extern const char kUnicodeVersion[];
extern const CategoryRange kCategories[];
extern const size_t kCategoriesCount;
extern const CodepointRange kWhiteSpace[];
extern const size_t kWhiteSpaceCount;
extern const CodepointRange kAlphabetic[];
extern const size_t kAlphabeticCount;
extern const CombiningClassRange kCombiningClasses[];
extern const size_t kCombiningClassesCount;
extern const Decomposition kDecompositions[];
extern const size_t kDecompositionsCount;
extern const uint32_t kDecompositionPool[];
extern const size_t kDecompositionPoolCount;
extern const Composition kCompositions[];
extern const size_t kCompositionsCount;
extern const DeltaRun kLowercase[];
extern const size_t kLowercaseCount;
extern const DeltaRun kUppercase[];
extern const size_t kUppercaseCount;
extern const DeltaRun kCaseFold[];
extern const size_t kCaseFoldCount;
extern const SpecialLowercase kSpecialLowercase[];
extern const size_t kSpecialLowercaseCount;

}  // namespace unicode_tables
}  // namespace acorn
