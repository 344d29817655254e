// Unicode tables and algorithms: categories, properties, case, normalization, UTF-8 repair.
#include <gtest/gtest.h>

#include "tokenizer/unicode.h"

namespace acorn {
namespace {

using unicode::GeneralCategory;

TEST(Unicode, Categories) {
  EXPECT_EQ(unicode::Category('A'), GeneralCategory::kLu);
  EXPECT_EQ(unicode::Category(0x4E2D), GeneralCategory::kLo);  // inside a First/Last range
  EXPECT_EQ(unicode::Category(0x0301), GeneralCategory::kMn);
  EXPECT_EQ(unicode::Category(0x0663), GeneralCategory::kNd);
  EXPECT_EQ(unicode::Category(0x1F600), GeneralCategory::kSo);
  EXPECT_EQ(unicode::Category(0x0378), GeneralCategory::kCn);
  EXPECT_TRUE(unicode::IsWhiteSpace(0x3000));
  EXPECT_FALSE(unicode::IsWhiteSpace(0x200B));
  EXPECT_TRUE(unicode::IsAlphabetic(0x0905));
}

TEST(Unicode, Case) {
  std::u32string out;
  unicode::AppendLowercase(0x130, &out);  // İ -> i + combining dot
  EXPECT_EQ(out, (std::u32string{0x69, 0x307}));
  EXPECT_EQ(unicode::SimpleUppercase(0x3C3), 0x3A3u);
  EXPECT_EQ(unicode::SimpleCaseFold(0x17F), 0x73u);  // ſ -> s
}

TEST(Unicode, Normalization) {
  using unicode::NormalizationForm;
  auto n = [](const std::string& s, NormalizationForm f) { return unicode::ToUtf8(unicode::Normalize(unicode::ToUtf32(s), f)); };
  EXPECT_EQ(n("e\xCC\x81", NormalizationForm::kNfc), "\xC3\xA9");
  EXPECT_EQ(n("\xC3\xA9", NormalizationForm::kNfd), "e\xCC\x81");
  EXPECT_EQ(n("\xEF\xAC\x81", NormalizationForm::kNfkc), "fi");
  EXPECT_EQ(n("\xED\x95\x9C", NormalizationForm::kNfd), "\xE1\x84\x92\xE1\x85\xA1\xE1\x86\xAB");  // 한
  EXPECT_EQ(n("\xE1\x84\x92\xE1\x85\xA1\xE1\x86\xAB", NormalizationForm::kNfc), "\xED\x95\x9C");
  EXPECT_EQ(n("x\xCC\x87\xCC\xA3", NormalizationForm::kNfd), "x\xCC\xA3\xCC\x87");  // reordered by class
}

TEST(Unicode, Utf8Repair) {
  EXPECT_TRUE(unicode::IsValidUtf8("h\xC3\xA9llo \xF0\x9F\x98\x80"));
  EXPECT_FALSE(unicode::IsValidUtf8("\xED\xA0\x80"));  // surrogate
  const std::string r = "\xEF\xBF\xBD";
  EXPECT_EQ(unicode::SanitizeUtf8("a\xFF" "b"), "a" + r + "b");
  EXPECT_EQ(unicode::SanitizeUtf8("\xE2\x82"), r);                        // truncated: one U+FFFD
  EXPECT_EQ(unicode::SanitizeUtf8("\xC0\xAF"), r + r);                    // overlong: each byte
  EXPECT_EQ(unicode::SanitizeUtf8("\xF0\x9F\x98" "x"), r + "x");
  EXPECT_EQ(unicode::SanitizeUtf8("\xED\xA0\x80"), r + r + r);
}

}  // namespace
}  // namespace acorn
