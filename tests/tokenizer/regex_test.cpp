// The regex engine on the constructs tokenizer patterns use (Oniguruma semantics).
#include <gtest/gtest.h>

#include "tokenizer/regex.h"

namespace acorn {
namespace {

std::vector<std::string> Matches(const std::string& pattern, const std::string& text) {
  auto re = Regex::Compile(pattern);
  EXPECT_TRUE(re.ok()) << re.status().ToString();
  if (!re.ok()) return {};
  std::vector<std::pair<size_t, size_t>> m;
  re->FindAll(text, &m);
  std::vector<std::string> out;
  for (auto [b, e] : m) out.push_back(text.substr(b, e - b));
  return out;
}

using V = std::vector<std::string>;

TEST(Regex, Gpt2Pattern) {
  const std::string p = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
  EXPECT_EQ(Matches(p, "Hello world's  end 123!!\n"), (V{"Hello", " world", "'s", " ", " end", " 123", "!!", "\n"}));
  EXPECT_EQ(Matches(p, "a   b"), (V{"a", "  ", " b"}));  // \s+(?!\S) leaves the last space to " b"
  EXPECT_EQ(Matches(p, "Привет мир"), (V{"Привет", " мир"}));
}

TEST(Regex, Llama3Pattern) {
  const std::string p =
      "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
      "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
  EXPECT_EQ(Matches(p, "IT'S 12345 ok\n\n  x"), (V{"IT", "'S", " ", "123", "45", " ok", "\n\n", " ", " x"}));
  EXPECT_EQ(Matches(p, "x\xC5\xBF"), (V{"x\xC5\xBF"}));  // ſ is a letter
  EXPECT_EQ(Matches(p, "'\xC5\xBF"), (V{"'\xC5\xBF"}));   // and folds to s under (?i)
}

TEST(Regex, Quantifiers) {
  EXPECT_EQ(Matches("a{2,3}", "aaaaaaa"), (V{"aaa", "aaa"}));
  EXPECT_EQ(Matches("a+?", "aaa"), (V{"a", "a", "a"}));
  EXPECT_EQ(Matches("a*+a", "aaa"), V{});  // possessive never gives back
  EXPECT_EQ(Matches("(?:ab)+", "ababxab"), (V{"abab", "ab"}));
  EXPECT_EQ(Matches("x(?=y)", "xyxz"), (V{"x"}));
  EXPECT_EQ(Matches("^a|b$", "aab"), (V{"a", "b"}));
  EXPECT_EQ(Matches("[a-c\\d]+", "abc123def"), (V{"abc123"}));
  EXPECT_EQ(Matches("\\x{4E2D}|\\u6587", "中文"), (V{"中", "文"}));
}

TEST(Regex, RejectsWhatItDoesNotSupport) {
  EXPECT_EQ(Regex::Compile("(a)\\1").status().code(), ErrorCode::kUnsupported);
  EXPECT_EQ(Regex::Compile("(?<=a)b").status().code(), ErrorCode::kUnsupported);
  EXPECT_EQ(Regex::Compile("\\p{Han}").status().code(), ErrorCode::kUnsupported);
  EXPECT_FALSE(Regex::Compile("(ab").ok());
  EXPECT_FALSE(Regex::Compile("[ab").ok());
  EXPECT_FALSE(Regex::Compile("*a").ok());
}

}  // namespace
}  // namespace acorn

namespace acorn {
namespace {

TEST(Regex, CatastrophicBacktrackingIsBounded) {
  auto re = Regex::Compile("(?:a|aa)*b");
  ASSERT_TRUE(re.ok());
  std::string text(40, 'a');
  size_t b, e;
  EXPECT_FALSE(re->Find(text, 0, &b, &e));  // would take ~2^40 steps without the budget
}

}  // namespace
}  // namespace acorn
