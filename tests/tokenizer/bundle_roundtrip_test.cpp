// TokenizerSpec -> bundle FlatBuffer -> TokenizerSpec keeps everything, and the reader refuses
// tables that break the format's rules.
#include <gtest/gtest.h>

#include <random>

#include "core/limits.h"
#include "fixtures.h"
#include "tokenizer/tokenizer_bundle.h"
#include "tokenizer_flatbuffer.h"
#include "tokenizer_json.h"

namespace acorn_test {
namespace {

flatbuffers::DetachedBuffer Write(const acorn::TokenizerSpec& spec) {
  flatbuffers::FlatBufferBuilder b;
  auto tok = acorn::WriteTokenizer(b, spec);
  acorn::fb::BundleBuilder bundle(b);
  bundle.add_tokenizer(tok);
  acorn::fb::FinishBundleBuffer(b, bundle.Finish());
  return b.Release();
}

const acorn::fb::Tokenizer* Verified(const flatbuffers::DetachedBuffer& buf) {
  flatbuffers::Verifier verifier(buf.data(), buf.size());
  EXPECT_TRUE(acorn::fb::VerifyBundleBuffer(verifier));
  return acorn::fb::GetBundle(buf.data())->tokenizer();
}

class RoundTrip : public ::testing::TestWithParam<std::string> {};

TEST_P(RoundTrip, SpecSurvivesAndEncodesTheSame) {
  auto parsed = acorn::ParseTokenizerJson(TokenizerJsonText(GetParam()));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  const acorn::TokenizerSpec& spec = parsed.value();
  auto buf = Write(spec);
  auto back = acorn::TokenizerSpecFromBundle(Verified(buf));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  const acorn::TokenizerSpec& r = back.value();
  EXPECT_EQ(r.model, spec.model);
  EXPECT_EQ(r.vocab, spec.vocab);
  EXPECT_EQ(r.merges, spec.merges);
  EXPECT_EQ(r.unk_id, spec.unk_id);
  EXPECT_EQ(r.byte_fallback, spec.byte_fallback);
  EXPECT_EQ(r.fuse_unk, spec.fuse_unk);
  EXPECT_EQ(r.ignore_merges, spec.ignore_merges);
  EXPECT_EQ(r.continuing_subword_prefix, spec.continuing_subword_prefix);
  EXPECT_EQ(r.max_input_chars_per_word, spec.max_input_chars_per_word);
  ASSERT_EQ(r.normalizers.size(), spec.normalizers.size());
  for (size_t i = 0; i < r.normalizers.size(); ++i) {
    EXPECT_EQ(r.normalizers[i].kind, spec.normalizers[i].kind);
    EXPECT_EQ(r.normalizers[i].content, spec.normalizers[i].content);
    EXPECT_EQ(r.normalizers[i].pattern.text, spec.normalizers[i].pattern.text);
    EXPECT_EQ(r.normalizers[i].strip_accents, spec.normalizers[i].strip_accents);
  }
  ASSERT_EQ(r.pre_tokenizers.size(), spec.pre_tokenizers.size());
  for (size_t i = 0; i < r.pre_tokenizers.size(); ++i) {
    EXPECT_EQ(r.pre_tokenizers[i].kind, spec.pre_tokenizers[i].kind);
    EXPECT_EQ(r.pre_tokenizers[i].pattern.text, spec.pre_tokenizers[i].pattern.text);
    EXPECT_EQ(r.pre_tokenizers[i].pattern.is_regex, spec.pre_tokenizers[i].pattern.is_regex);
    EXPECT_EQ(r.pre_tokenizers[i].behavior, spec.pre_tokenizers[i].behavior);
    EXPECT_EQ(r.pre_tokenizers[i].prepend_scheme, spec.pre_tokenizers[i].prepend_scheme);
  }
  EXPECT_EQ(r.post_processor.single.size(), spec.post_processor.single.size());
  EXPECT_EQ(r.post_processor.pair.size(), spec.post_processor.pair.size());
  ASSERT_EQ(r.post_processor.special_tokens.size(), spec.post_processor.special_tokens.size());
  ASSERT_EQ(r.decoders.size(), spec.decoders.size());
  for (size_t i = 0; i < r.decoders.size(); ++i) EXPECT_EQ(r.decoders[i].kind, spec.decoders[i].kind);
  ASSERT_EQ(r.added_tokens.size(), spec.added_tokens.size());
  for (size_t i = 0; i < r.added_tokens.size(); ++i) {
    EXPECT_EQ(r.added_tokens[i].content, spec.added_tokens[i].content);
    EXPECT_EQ(r.added_tokens[i].id, spec.added_tokens[i].id);
    EXPECT_EQ(r.added_tokens[i].lstrip, spec.added_tokens[i].lstrip);
    EXPECT_EQ(r.added_tokens[i].normalized, spec.added_tokens[i].normalized);
  }
  // Same encodings from the bundle as from the JSON.
  auto from_bundle = acorn::Tokenizer::Create(std::move(back).value());
  ASSERT_TRUE(from_bundle.ok()) << from_bundle.status().ToString();
  const acorn::Tokenizer& from_json = GetTokenizer(GetParam());
  for (const auto& entry : Corpus()) {
    std::string text = CorpusBytes(entry);
    EXPECT_EQ(from_bundle->Encode(text), from_json.Encode(text)) << entry["name"];
  }
}

INSTANTIATE_TEST_SUITE_P(Tokenizers, RoundTrip,
                         ::testing::Values("bert-minilm", "llama2-spm", "llama3", "gpt2-splits", "bert-variant",
                                           "llama2-metaspace"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string n = info.param;
                           for (char& ch : n) ch = std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
                           return n;
                         });

acorn::TokenizerSpec Small() {
  acorn::TokenizerSpec spec;
  spec.vocab = {"a", "b", "ab"};
  spec.merges = {{0, 1}};
  return spec;
}

TEST(BundleReader, RefusesBadIds) {
  acorn::TokenizerSpec spec = Small();
  spec.merges = {{0, 7}};
  auto buf = Write(spec);
  auto r = acorn::TokenizerSpecFromBundle(Verified(buf));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), acorn::ErrorCode::kMalformed);

  spec = Small();
  spec.unk_id = 3;
  buf = Write(spec);
  EXPECT_FALSE(acorn::TokenizerSpecFromBundle(Verified(buf)).ok());

  spec = Small();
  spec.vocab[1] = "\xFF";
  buf = Write(spec);
  EXPECT_FALSE(acorn::TokenizerSpecFromBundle(Verified(buf)).ok());
}

// Issue 12: ids and lengths from a bundle are bounded before anything is sized by them.
TEST(BundleReader, RefusesIdsAndLengthsPastTheLimits) {
  acorn::TokenizerSpec spec = Small();
  spec.added_tokens.push_back({1 << 26, "<x>", true});
  auto buf = Write(spec);
  auto r = acorn::TokenizerSpecFromBundle(Verified(buf));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("kMaxVocab"), std::string::npos) << r.status().message();

  spec = Small();
  spec.post_processor.special_tokens.push_back({"a", {0, -3}});
  buf = Write(spec);
  EXPECT_FALSE(acorn::TokenizerSpecFromBundle(Verified(buf)).ok());

  spec = Small();
  spec.vocab.push_back(std::string(acorn::limits::kMaxTokenBytes + 1, 'x'));
  buf = Write(spec);
  r = acorn::TokenizerSpecFromBundle(Verified(buf));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("kMaxTokenBytes"), std::string::npos) << r.status().message();

  spec = Small();
  spec.normalizers.assign(acorn::limits::kMaxTokenizerSteps + 1, acorn::NormalizerStep());
  buf = Write(spec);
  r = acorn::TokenizerSpecFromBundle(Verified(buf));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("kMaxTokenizerSteps"), std::string::npos) << r.status().message();
}

TEST(BundleReader, RefusesUnknownEnumValues) {
  acorn::TokenizerSpec spec = Small();
  acorn::DecoderStep d;
  d.kind = static_cast<acorn::DecoderKind>(200);
  spec.decoders.push_back(d);
  auto buf = Write(spec);
  EXPECT_FALSE(acorn::TokenizerSpecFromBundle(Verified(buf)).ok());
}

// Untrusted input: corrupted bundles either fail verification, fail the reader or Create with a
// Status, or give a working tokenizer; never a crash (run under ASan/UBSan to mean something).
TEST(BundleReader, CorruptedBundlesNeverCrash) {
  auto parsed = acorn::ParseTokenizerJson(TokenizerJsonText("bert-variant"));
  ASSERT_TRUE(parsed.ok());
  acorn::TokenizerSpec spec = Small();
  spec.normalizers = parsed->normalizers;
  spec.pre_tokenizers = parsed->pre_tokenizers;
  spec.decoders = parsed->decoders;
  acorn::AddedTokenSpec added;
  added.id = 3;
  added.content = "[X]";
  spec.added_tokens.push_back(added);
  auto good = Write(spec);
  std::mt19937 rng(1);
  int usable = 0;
  for (int round = 0; round < 3000; ++round) {
    std::vector<uint8_t> bytes(good.data(), good.data() + good.size());
    for (int k = 0; k < 1 + static_cast<int>(rng() % 4); ++k) bytes[rng() % bytes.size()] = static_cast<uint8_t>(rng());
    flatbuffers::Verifier verifier(bytes.data(), bytes.size());
    if (!acorn::fb::VerifyBundleBuffer(verifier)) continue;
    auto r = acorn::TokenizerSpecFromBundle(acorn::fb::GetBundle(bytes.data())->tokenizer());
    if (!r.ok()) continue;
    auto tok = acorn::Tokenizer::Create(std::move(r).value());
    if (!tok.ok()) continue;
    std::vector<int32_t> ids = tok->Encode("ab a [X] b\xFF");
    (void)tok->Decode(ids);
    ++usable;
  }
  EXPECT_GT(usable, 0);
}

TEST(BundleReader, MissingTableIsNotFound) {
  EXPECT_EQ(acorn::TokenizerSpecFromBundle(nullptr).status().code(), acorn::ErrorCode::kNotFound);
}

TEST(BundleReader, TemplateNamingAnUnknownTokenFailsAtCreate) {
  acorn::TokenizerSpec spec = Small();
  acorn::TemplatePiece p;
  p.special_token = "<s>";
  spec.post_processor.single.push_back(p);
  auto buf = Write(spec);
  auto r = acorn::TokenizerSpecFromBundle(Verified(buf));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(acorn::Tokenizer::Create(std::move(r).value()).ok());
}

}  // namespace
}  // namespace acorn_test
