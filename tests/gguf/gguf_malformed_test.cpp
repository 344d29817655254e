// Broken and hostile GGUF files: the parser must answer with a Status that says what is wrong, and
// acorn-convert with exit code 1 and that message, never a crash or a huge allocation. Run these
// under -fsanitize=address,undefined as well (build/gguf-asan).
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <limits>

#include "gguf_reader.h"
#include "gguf_test_util.h"
#include "gguf_weights.h"

namespace acorn {
namespace {

using convert::GgufFile;
using gguf_test::GgufBytes;

Status ParseBytes(const std::vector<uint8_t>& bytes) {
  auto r = GgufFile::Parse(bytes.data(), bytes.size(), "test.gguf");
  return r.ok() ? Status::Ok() : r.status();
}

std::string ErrorOf(const std::vector<uint8_t>& bytes) {
  Status st = ParseBytes(bytes);
  EXPECT_FALSE(st.ok());
  return st.message();
}

TEST(GgufParse, ValidTinyFileParses) {
  auto bytes = gguf_test::TinyLlamaGguf();
  auto r = GgufFile::Parse(bytes.data(), bytes.size(), "tiny");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)->version(), 3u);
  EXPECT_EQ((*r)->tensors().size(), 11u);
  auto ctx = (*r)->GetInt("llama.context_length", 0);
  ASSERT_TRUE(ctx.ok());
  EXPECT_EQ(*ctx, 64);
  EXPECT_FALSE((*r)->GetInt("general.architecture", 0).ok());  // a string, not an integer
}

TEST(GgufParse, EveryTruncationIsAnError) {
  const auto bytes = gguf_test::TinyLlamaGguf();
  // Every cut inside the header and tensor table, then coarser steps through the data.
  for (size_t n = 0; n < bytes.size(); n += n < 2048 ? 1 : 997) {
    std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + n);
    Status st = ParseBytes(cut);
    ASSERT_FALSE(st.ok()) << "a file cut to " << n << " bytes parsed";
    EXPECT_FALSE(st.message().empty());
  }
}

TEST(GgufParse, FixtureTruncationsAreErrors) {
  const auto bytes = gguf_test::ReadBytes(gguf_test::GgufFixture("mha_untied.q4_0.gguf"));
  ASSERT_GT(bytes.size(), 1000u);
  ASSERT_TRUE(ParseBytes(bytes).ok());
  for (size_t n = 0; n < bytes.size(); n += n < 8192 ? 7 : 1531) {
    std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + n);
    ASSERT_FALSE(ParseBytes(cut).ok()) << n;
  }
}

TEST(GgufParse, BadMagicAndVersions) {
  auto bytes = gguf_test::TinyLlamaGguf();
  auto bad = bytes;
  std::memcpy(bad.data(), "GGML", 4);
  EXPECT_NE(ErrorOf(bad).find("not a GGUF file"), std::string::npos);
  for (uint32_t version : {1u, 4u, 0x03000000u}) {
    bad = bytes;
    std::memcpy(bad.data() + 4, &version, 4);
    const std::string msg = ErrorOf(bad);
    EXPECT_TRUE(msg.find("version") != std::string::npos || msg.find("big-endian") != std::string::npos) << msg;
  }
}

TEST(GgufParse, LyingCountsAndLengths) {
  // A key/value count no file could hold.
  EXPECT_NE(ErrorOf(GgufBytes().Header(3, 0, uint64_t{1} << 60).bytes).find("count"), std::string::npos);
  EXPECT_NE(ErrorOf(GgufBytes().Header(3, uint64_t{1} << 62, 0).bytes).find("count"), std::string::npos);
  // A key whose length runs past the end.
  EXPECT_FALSE(ParseBytes(GgufBytes().Header(3, 0, 1).U64(uint64_t{1} << 40).Raw("abc", 3).bytes).ok());
  // A string value with a huge length.
  EXPECT_FALSE(ParseBytes(GgufBytes().Header(3, 0, 1).Str("k").U32(8).U64(~uint64_t{0}).bytes).ok());
  // An array of 2^61 uint64 in a few bytes.
  EXPECT_NE(ErrorOf(GgufBytes().Header(3, 0, 1).Str("k").U32(9).U32(10).U64(uint64_t{1} << 61).bytes).find("array"),
            std::string::npos);
  // Arrays nested without end.
  GgufBytes nested;
  nested.Header(3, 0, 1).Str("k").U32(9);
  for (int i = 0; i < 64; ++i) nested.U32(9).U64(1);
  EXPECT_FALSE(ParseBytes(nested.bytes).ok());
  // Unknown value type, bool that is not 0/1, duplicate key.
  EXPECT_FALSE(ParseBytes(GgufBytes().Header(3, 0, 1).Str("k").U32(13).U32(0).bytes).ok());
  EXPECT_FALSE(ParseBytes(GgufBytes().Header(3, 0, 1).Str("k").U32(7).Raw("\x02", 1).bytes).ok());
  EXPECT_NE(ErrorOf(GgufBytes().Header(3, 0, 2).KvU32("k", 1).KvU32("k", 2).bytes).find("twice"), std::string::npos);
}

TEST(GgufParse, BadTensorTable) {
  auto one = [](const std::vector<uint64_t>& ne, uint32_t type, uint64_t offset, size_t data) {
    GgufBytes g;
    g.Header(3, 1, 0).Tensor("t", ne, type, offset).Align().Zeros(data);
    return g.bytes;
  };
  EXPECT_TRUE(ParseBytes(one({32, 2}, 0, 0, 256)).ok());
  EXPECT_NE(ErrorOf(one({32, 2}, 0, 0, 255)).find("beyond the end"), std::string::npos);
  EXPECT_NE(ErrorOf(one({32, 2}, 0, 32, 256)).find("beyond the end"), std::string::npos);
  EXPECT_NE(ErrorOf(one({32, 2}, 0, 1, 512)).find("aligned"), std::string::npos);
  EXPECT_FALSE(ParseBytes(one({}, 0, 0, 256)).ok());                    // no dimensions
  EXPECT_FALSE(ParseBytes(one({1, 1, 1, 1, 1}, 0, 0, 256)).ok());       // five
  EXPECT_FALSE(ParseBytes(one({32, 0}, 0, 0, 256)).ok());               // zero
  EXPECT_FALSE(ParseBytes(one({uint64_t{1} << 40, uint64_t{1} << 40}, 0, 0, 256)).ok());  // overflow
  EXPECT_FALSE(ParseBytes(one({31, 1}, 8, 0, 256)).ok());               // Q8_0 row of 31 values
  EXPECT_FALSE(ParseBytes(one({32, 2}, 0, ~uint64_t{0} - 31, 256)).ok());  // offset wraps
  // Unknown types parse (their size is unknown) but carry no data.
  auto unknown = GgufFile::Parse(one({32, 2}, 999, 0, 0).data(), one({32, 2}, 999, 0, 0).size(), "u");
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ((*unknown)->tensors()[0].data, nullptr);
  // Duplicate tensor names.
  GgufBytes dup;
  dup.Header(3, 2, 0).Tensor("t", {32}, 0, 0).Tensor("t", {32}, 0, 128).Align().Zeros(256);
  EXPECT_NE(ErrorOf(dup.bytes).find("twice"), std::string::npos);
  // general.alignment that is not a power of two.
  GgufBytes align;
  align.Header(3, 0, 1).KvU32("general.alignment", 24);
  EXPECT_NE(ErrorOf(align.bytes).find("alignment"), std::string::npos);
}

// Random corruption of the header region of a valid file: never a crash (ASan watches).
TEST(GgufParse, RandomCorruptionNeverCrashes) {
  const auto bytes = gguf_test::TinyLlamaGguf();
  std::mt19937 rng(1234);
  int parsed = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    auto bad = bytes;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) bad[rng() % 1200] = static_cast<uint8_t>(rng());
    if (rng() % 4 == 0) bad.resize(rng() % bad.size());
    parsed += ParseBytes(bad).ok();
  }
  SUCCEED() << parsed << " corrupted files still parsed";
}

// The command line: exit 1 with a message, for every kind of broken file.
TEST(GgufConvertErrors, BrokenFilesExitOneWithAMessage) {
  const std::string dir = ::testing::TempDir();
  const auto good = gguf_test::ReadBytes(gguf_test::GgufFixture("mha_untied.q8_0.gguf"));
  ASSERT_FALSE(good.empty());
  struct Case {
    const char* name;
    std::vector<uint8_t> bytes;
    const char* expect;
  };
  std::vector<Case> cases;
  cases.push_back({"empty", {}, "empty"});
  cases.push_back({"header_only", std::vector<uint8_t>(good.begin(), good.begin() + 20), "truncated"});
  cases.push_back({"cut_in_metadata", std::vector<uint8_t>(good.begin(), good.begin() + 3000), "truncated"});
  cases.push_back({"cut_in_data", std::vector<uint8_t>(good.begin(), good.end() - 100), "truncated"});
  auto magic = good;
  std::memcpy(magic.data(), "GGLA", 4);
  cases.push_back({"bad_magic", magic, "not a GGUF file"});
  auto version = good;
  const uint32_t v1 = 1;
  std::memcpy(version.data() + 4, &v1, 4);
  cases.push_back({"version1", version, "version 1"});
  for (const Case& c : cases) {
    const std::string path = dir + "/gguf_bad_" + c.name + ".gguf";
    gguf_test::WriteBytes(path, c.bytes);
    auto r = gguf_test::Convert(path, dir + "/gguf_bad.acorn");
    EXPECT_EQ(r.exit_code, 1) << c.name << ": " << r.output;
    EXPECT_NE(r.output.find(c.expect), std::string::npos) << c.name << ": " << r.output;
  }
  // A missing file is an error too, not a crash.
  auto r = gguf_test::Convert(dir + "/does_not_exist.gguf", dir + "/gguf_bad.acorn");
  EXPECT_EQ(r.exit_code, 1) << r.output;
}

TEST(GgufConvertErrors, NonLlamaArchitectureIsRefused) {
  auto bytes = gguf_test::TinyLlamaGguf();
  // "llama" -> "gemma": same length, so the rest of the file stays valid.
  const std::string from = "llama", to = "gemma";
  auto it = std::search(bytes.begin(), bytes.end(), from.begin(), from.end());
  ASSERT_NE(it, bytes.end());
  std::copy(to.begin(), to.end(), it);
  const std::string path = ::testing::TempDir() + "/gguf_gemma.gguf";
  gguf_test::WriteBytes(path, bytes);
  auto r = gguf_test::Convert(path, ::testing::TempDir() + "/gguf_gemma.acorn");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("'gemma'"), std::string::npos) << r.output;
}

// --- Issue 12: hostile GGUF files end in a clean error, never a huge allocation, UB or a hang. ---

Status ConfigOf(const gguf_test::TinyOverrides& o) {
  const auto bytes = gguf_test::TinyLlamaGguf(0, o);
  auto file = GgufFile::Parse(bytes.data(), bytes.size(), "hostile.gguf");
  if (!file.ok()) return file.status();
  auto config = convert::LlamaConfigFromGguf(**file);
  return config.ok() ? Status::Ok() : config.status();
}

TEST(GgufHostile, TinyFileStillConverts) {
  EXPECT_TRUE(ConfigOf({}).ok()) << ConfigOf({}).ToString();
  const std::string path = ::testing::TempDir() + "/gguf_tiny_ok.gguf";
  gguf_test::WriteBytes(path, gguf_test::TinyLlamaGguf());
  auto r = gguf_test::Convert(path, ::testing::TempDir() + "/gguf_tiny_ok.acorn");
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST(GgufHostile, HugeHeadDimIsRefusedBeforeAllocating) {
  // key_length 2^31: the RoPE table alone would have been 4 GiB.
  gguf_test::TinyOverrides o;
  o.u32 = {{"llama.attention.key_length", 0x80000000u},
           {"llama.attention.value_length", 0x80000000u},
           {"llama.rope.dimension_count", 0x80000000u}};
  const Status st = ConfigOf(o);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("head_dim"), std::string::npos) << st.message();
}

TEST(GgufHostile, ShapeNumbersOutsideLimitsAreRefused) {
  const std::pair<const char*, uint32_t> cases[] = {
      {"llama.attention.head_count", 0xFFFFFFFFu},      {"llama.attention.head_count_kv", 3},
      {"llama.block_count", 1u << 30},                  {"llama.feed_forward_length", 0xFFFFFFFEu},
      {"llama.embedding_length", 0xFFFFFFFEu},          {"llama.context_length", 0xFFFFFFFFu},
  };
  for (const auto& c : cases) {
    gguf_test::TinyOverrides o;
    o.u32 = {{c.first, c.second}};
    const Status st = ConfigOf(o);
    EXPECT_FALSE(st.ok()) << c.first;
    EXPECT_FALSE(st.message().empty());
  }
}

TEST(GgufHostile, NonFiniteHyperParametersAreRefused) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  const std::pair<const char*, float> cases[] = {
      {"llama.rope.freq_base", 0.0f}, {"llama.rope.freq_base", -1.0f}, {"llama.rope.freq_base", nan},
      {"llama.rope.freq_base", inf},  {"llama.attention.layer_norm_rms_epsilon", nan},
      {"llama.attention.layer_norm_rms_epsilon", -1.0f}, {"llama.rope.scale_linear", inf},
  };
  for (const auto& c : cases) {
    gguf_test::TinyOverrides o;
    o.f32 = {{c.first, c.second}};
    const Status st = ConfigOf(o);
    EXPECT_FALSE(st.ok()) << c.first << " = " << c.second;
  }
}

TEST(GgufHostile, NonFiniteWeightsAreRefusedNamingTheTensor) {
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), -std::numeric_limits<float>::infinity()}) {
    gguf_test::TinyOverrides o;
    o.poison_index = 37;
    o.poison = bad;
    const std::string path = ::testing::TempDir() + "/gguf_nan_weight.gguf";
    const std::string out = ::testing::TempDir() + "/gguf_nan_weight.acorn";
    std::remove(out.c_str());
    gguf_test::WriteBytes(path, gguf_test::TinyLlamaGguf(0, o));
    for (const char* extra : {"", "--dtype q8_0", "--dtype q4_0"}) {
      auto r = gguf_test::Convert(path, out, extra);
      EXPECT_EQ(r.exit_code, 1) << extra << ": " << r.output;
      EXPECT_NE(r.output.find("blk.0.ffn_up.weight"), std::string::npos) << r.output;
      EXPECT_NE(r.output.find("element 37"), std::string::npos) << r.output;
      EXPECT_FALSE(std::ifstream(out).good()) << "a refused conversion left " << out;
    }
  }
}

TEST(GgufHostile, TensorElementsBeyondTheLimit) {
  GgufBytes g;
  g.Header(3, 1, 0).Tensor("t", {uint64_t{1} << 20, uint64_t{1} << 20, uint64_t{1} << 20}, 0, 0).Align().Zeros(64);
  EXPECT_NE(ErrorOf(g.bytes).find("more elements than the limit"), std::string::npos) << ErrorOf(g.bytes);
}

TEST(GgufHostile, AlignmentZeroOrHugeIsRefused) {
  for (uint32_t a : {0u, 3u, 1u << 30}) {
    GgufBytes g;
    g.Header(3, 0, 1).KvU32("general.alignment", a);
    EXPECT_NE(ErrorOf(g.bytes).find("alignment"), std::string::npos) << a;
  }
}

TEST(GgufHostile, FifoOrDirectoryAsTheModelIsAnErrorNotAHang) {
  const std::string dir = ::testing::TempDir();
  const std::string fifo = dir + "/gguf_fifo.gguf", folder = dir + "/gguf_folder.gguf";
  ::unlink(fifo.c_str());
  ::rmdir(folder.c_str());
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  ASSERT_EQ(::mkdir(folder.c_str(), 0700), 0);
  const auto start = std::chrono::steady_clock::now();
  // timeout: before the fix, open() on the FIFO blocked forever.
  auto r = gguf_test::Run("timeout 20 " + std::string(ACORN_CONVERT_BIN) + " " + fifo + " -o " + dir + "/fifo.acorn");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("FIFO"), std::string::npos) << r.output;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  r = gguf_test::Convert(folder, dir + "/folder.acorn");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("directory"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace acorn
