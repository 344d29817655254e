// The regex engine on the constructs tokenizer patterns use (Oniguruma semantics).
#include <gtest/gtest.h>

#include "core/limits.h"
#include "tokenizer/regex.h"

namespace acorn {
namespace {

std::vector<std::string> Matches(const std::string& pattern, const std::string& text) {
  auto re = Regex::Compile(pattern);
  EXPECT_TRUE(re.ok()) << re.status().ToString();
  if (!re.ok()) return {};
  std::vector<std::pair<size_t, size_t>> m;
  Status st = re->FindAll(text, &m);
  EXPECT_TRUE(st.ok()) << st.ToString();
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

TEST(Regex, CatastrophicBacktrackingIsAnError) {
  auto re = Regex::Compile("(?:a|aa)*b");
  ASSERT_TRUE(re.ok());
  std::string text(40, 'a');
  size_t b, e;
  bool found = true;
  // ~2^40 steps without the budget; running out is an error, not a silent "no match".
  Status st = re->Find(text, 0, &b, &e, &found);
  EXPECT_EQ(st.code(), ErrorCode::kOutOfRange);
  EXPECT_NE(st.message().find("kRegexStepsPerByte"), std::string::npos) << st.message();
}

// Issue 12: 100,000 nested groups overflowed the stack while parsing.
TEST(Regex, DeepNestingIsRefused) {
  std::string deep = std::string(100000, '(') + "a" + std::string(100000, ')');
  auto re = Regex::Compile(deep);
  ASSERT_FALSE(re.ok());
  EXPECT_NE(re.status().message().find("kMaxRegexPatternBytes"), std::string::npos) << re.status().message();
  // Within the length limit, the nesting limit answers (groups, then stacked quantifiers).
  const uint32_t n = limits::kMaxRegexNesting + 1;
  for (const std::string& p : {std::string(n, '(') + "a" + std::string(n, ')'), "a" + std::string(n, '*'),
                               "(?:" + std::string(n - 1, '(') + "a" + std::string(n - 1, ')') + ")*",
                               std::string(n, '(') + "?=a" + std::string(n, ')')}) {
    auto r = Regex::Compile(p);
    ASSERT_FALSE(r.ok()) << p;
    EXPECT_EQ(r.status().code(), ErrorCode::kUnsupported);
    EXPECT_NE(r.status().message().find("kMaxRegexNesting"), std::string::npos) << r.status().message();
  }
  // At the limit it still compiles and matches.
  const uint32_t m = limits::kMaxRegexNesting;
  auto ok = Regex::Compile(std::string(m, '(') + "a" + std::string(m, ')'));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(Matches(std::string(m, '(') + "a" + std::string(m, ')'), "aa"), (V{"a", "a"}));
}

// Issue 12: ((a{1000}){1000}){1000} (45 bytes) expanded to a billion instructions: 12 GB, abort.
TEST(Regex, ExpansionIsRefusedBeforeItHappens) {
  for (const char* p : {"((a{1000}){1000}){1000}", "((ab){1000}){1000}", "(?:(?:a|b){1000}){70}"}) {
    auto r = Regex::Compile(p);
    ASSERT_FALSE(r.ok()) << p;
    EXPECT_EQ(r.status().code(), ErrorCode::kUnsupported);
    EXPECT_NE(r.status().message().find("kMaxRegexProgram"), std::string::npos) << r.status().message();
  }
  auto big = Regex::Compile("a{1001}");
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.status().message().find("kMaxRegexRepeat"), std::string::npos) << big.status().message();
  EXPECT_FALSE(Regex::Compile("(ab){99999999999}").ok());
  EXPECT_EQ(Matches("(?:ab){2,3}", "abababababab"), (V{"ababab", "ababab"}));
  EXPECT_EQ(Matches("(?:ab){100}", std::string(10, 'a')), V{});
}

// Issue 12: (a*)*b took 33 s on 1,000 characters; the steps now scale with the input and running out
// is an error. Empty iterations end a loop, so (a*)* terminates.
TEST(Regex, StepsScaleWithInputAndEmptyLoopsEnd) {
  auto re = Regex::Compile("(a*)*b");
  ASSERT_TRUE(re.ok());
  std::string text(1000, 'a');
  std::vector<std::pair<size_t, size_t>> m;
  Status st = re->FindAll(text, &m);
  EXPECT_EQ(st.code(), ErrorCode::kOutOfRange) << st.ToString();
  // One budget for the whole call: a shared allowance that is spent stays spent.
  uint64_t budget = 100;
  EXPECT_EQ(re->FindAll(text, &m, &budget).code(), ErrorCode::kOutOfRange);
  EXPECT_EQ(budget, 0u);
  // Matches as before where the text allows.
  EXPECT_EQ(Matches("(a*)*b", "aab"), (V{"aab"}));
  EXPECT_EQ(Matches("(a*)*", "aa"), (V{"aa", ""}));
  EXPECT_EQ(Matches("(?:a?)*?b", "ab"), (V{"ab"}));
  EXPECT_EQ(Matches("(?:(?=a))*a", "aa"), (V{"a", "a"}));
  EXPECT_EQ(Matches("(?:x*|y)+z", "yyz"), (V{"yyz"}));
  // A possessive repeat retried at every position counts each character it takes.
  auto pos = Regex::Compile("a*+b");
  ASSERT_TRUE(pos.ok());
  std::string many(20000, 'a');  // 2 * 10^8 characters taken in all, far past the step allowance
  EXPECT_EQ(pos->FindAll(many, &m).code(), ErrorCode::kOutOfRange);
}

}  // namespace
}  // namespace acorn
