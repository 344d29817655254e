// Bundles written by BundleWriter load back with the same metadata, tensors, bytes and graph.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "acorn/bundle.h"
#include "acorn_generated.h"
#include "sample_bundles.h"

namespace acorn {
namespace {

void ExpectSample(const Bundle& b, const testing::SampleOptions& o) {
  std::string arch;
  ASSERT_TRUE(b.GetString("general.architecture", &arch));
  EXPECT_EQ(arch, "sample");
  int64_t hidden = 0;
  ASSERT_TRUE(b.GetInt("sample.hidden", &hidden));
  EXPECT_EQ(hidden, o.hidden);
  double eps = 0;
  ASSERT_TRUE(b.GetFloat("sample.epsilon", &eps));
  EXPECT_DOUBLE_EQ(eps, 1e-5);
  EXPECT_FALSE(b.GetInt("general.architecture", &hidden)) << "kinds must not mix";
  EXPECT_FALSE(b.GetString("missing", &arch));

  EXPECT_EQ(b.max_tokens(), o.max_tokens);
  EXPECT_EQ(b.context_length(), o.context);
  ASSERT_EQ(b.tensors().size(), 8u);
  const int embed = b.FindTensor("embed");
  ASSERT_GE(embed, 0);
  const TensorDesc& e = b.tensors()[embed];
  EXPECT_EQ(e.dtype, DType::kF32);
  EXPECT_EQ(e.rank, 2);
  EXPECT_EQ(e.shape[0], o.vocab);
  EXPECT_EQ(e.shape[1], o.hidden);
  EXPECT_EQ(e.max_bytes, uint64_t{o.vocab} * o.hidden * 4);
  ASSERT_NE(e.data, nullptr);
  EXPECT_EQ(static_cast<uint64_t>(e.data - b.segments()[e.segment].data) % kTensorAlignment, 0u);

  const TensorDesc& q = b.tensors()[b.FindTensor("output.weight")];
  EXPECT_EQ(q.dtype, DType::kQ8_0);
  EXPECT_EQ(q.max_bytes, uint64_t{o.vocab} * o.hidden / 32 * 34);

  const TensorDesc& x = b.tensors()[b.FindTensor("x")];
  EXPECT_EQ(x.storage, Storage::kPlanned);
  EXPECT_EQ(x.symbolic_axis, 0);
  EXPECT_EQ(x.max_bytes, uint64_t{o.max_tokens} * o.hidden * 4);
  EXPECT_EQ(x.Elements(3), uint64_t{3} * o.hidden);

  ASSERT_EQ(b.ops().size(), 3u);
  EXPECT_EQ(b.ops()[0].kind, static_cast<uint16_t>(fb::OpKind::Embedding));
  EXPECT_STREQ(b.ops()[1].name, "final_norm");
  EXPECT_FLOAT_EQ(b.ops()[1].attrs.epsilon, 1e-6f);
  ASSERT_EQ(b.graph_inputs().size(), 1u);
  EXPECT_STREQ(b.tensors()[b.graph_inputs()[0]].name, "tokens");
  ASSERT_EQ(b.graph_outputs().size(), 1u);
  EXPECT_STREQ(b.tensors()[b.graph_outputs()[0]].name, "logits");
  ASSERT_NE(b.flatbuffer()->chat_template(), nullptr);
  EXPECT_EQ(b.flatbuffer()->chat_template()->str(), "{{ messages }}");
}

TEST(BundleRoundTrip, FromBuffer) {
  testing::SampleOptions o;
  std::vector<uint8_t> bytes = testing::MakeSampleBundle(o);
  EXPECT_EQ(bytes.size() % kSegmentAlignment, 0u);
  auto b = Bundle::FromBuffer(bytes.data(), bytes.size());
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  ExpectSample(**b, o);
  EXPECT_FALSE((*b)->is_mapped());
  // Uncompressed constants are served from the buffer itself.
  const TensorDesc& e = (*b)->tensors()[(*b)->FindTensor("embed")];
  EXPECT_GE(e.data, bytes.data());
  EXPECT_LE(e.data + e.max_bytes, bytes.data() + bytes.size());
}

TEST(BundleRoundTrip, CompressedSegmentDecompressesOnce) {
  testing::SampleOptions o;
  o.compress = true;
  std::vector<uint8_t> bytes = testing::MakeSampleBundle(o);
  auto b = Bundle::FromBuffer(bytes.data(), bytes.size());
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  ExpectSample(**b, o);
  ASSERT_EQ((*b)->segments().size(), 2u);
  const SegmentDesc& z = (*b)->segments()[1];
  EXPECT_EQ(z.compression, Compression::kZstd);
  EXPECT_LT(z.stored_size, z.size);
  // Decompressed data is owned by the bundle, not the file.
  const TensorDesc& e = (*b)->tensors()[(*b)->FindTensor("embed")];
  EXPECT_TRUE(e.data < bytes.data() || e.data >= bytes.data() + bytes.size());
  // Same bytes as the uncompressed bundle.
  o.compress = false;
  std::vector<uint8_t> plain = testing::MakeSampleBundle(o);
  auto p = Bundle::FromBuffer(plain.data(), plain.size());
  ASSERT_TRUE(p.ok());
  for (const char* name : {"embed", "norm.weight", "output.weight"}) {
    const TensorDesc& a = (*b)->tensors()[(*b)->FindTensor(name)];
    const TensorDesc& c = (*p)->tensors()[(*p)->FindTensor(name)];
    ASSERT_EQ(a.max_bytes, c.max_bytes);
    EXPECT_EQ(std::memcmp(a.data, c.data, a.max_bytes), 0) << name;
  }
}

TEST(BundleRoundTrip, FileMappedAndRead) {
  testing::SampleOptions o;
  BundleWriter w;
  const std::string path = ::testing::TempDir() + "/roundtrip.acorn";
  std::vector<uint8_t> bytes = testing::MakeSampleBundle(o);
  FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(std::fwrite(bytes.data(), 1, bytes.size(), f), bytes.size());
  std::fclose(f);
  for (LoadMode mode : {LoadMode::kMap, LoadMode::kRead}) {
    auto b = Bundle::Open(path.c_str(), mode);
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    EXPECT_EQ((*b)->is_mapped(), mode == LoadMode::kMap);
    ExpectSample(**b, o);
  }
  std::remove(path.c_str());
}

TEST(BundleRoundTrip, WriterWritesFileWithProgress) {
  BundleWriter w;
  std::vector<uint8_t> data = testing::PseudoRandomBytes(10000 * 4, 9);
  ASSERT_TRUE(w.AddConstant("w", DType::kF32, {100, 100}, data).ok());
  const std::string path = ::testing::TempDir() + "/progress.acorn";
  uint64_t last_done = 0, last_total = 0;
  int calls = 0;
  Status st = w.Write(path, [&](uint64_t done, uint64_t total) {
    EXPECT_GE(done, last_done);
    last_done = done;
    last_total = total;
    ++calls;
  });
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_GE(calls, 1);
  EXPECT_EQ(last_done, last_total);
  auto b = Bundle::Open(path.c_str());
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(std::memcmp((*b)->tensors()[0].data, data.data(), data.size()), 0);
  std::remove(path.c_str());
}

TEST(BundleWriterErrors, RejectsBadTensors) {
  BundleWriter w;
  EXPECT_FALSE(w.AddConstant("q", DType::kQ4_0, {3, 33}, std::vector<uint8_t>(10)).ok()) << "not whole blocks";
  EXPECT_FALSE(w.AddConstant("z", DType::kF32, {0, 4}, std::vector<uint8_t>()).ok()) << "zero dimension";
  ASSERT_TRUE(w.AddConstant("a", DType::kF32, {2}, std::vector<uint8_t>(8)).ok());
  EXPECT_FALSE(w.AddConstant("a", DType::kF32, {2}, std::vector<uint8_t>(8)).ok()) << "duplicate";
  EXPECT_FALSE(w.AddOp(fb::OpKind::Add, {0, 7}, {0}).ok()) << "missing tensor";
  // A fill that produces the wrong byte count fails the write and leaves no file behind.
  ASSERT_TRUE(w.AddConstant("b", DType::kF32, {4}, std::vector<uint8_t>(3)).ok());
  const std::string path = ::testing::TempDir() + "/bad.acorn";
  EXPECT_FALSE(w.Write(path).ok());
  EXPECT_EQ(std::fopen(path.c_str(), "rb"), nullptr);
  EXPECT_EQ(std::fopen((path + ".tmp." + std::to_string(static_cast<long>(getpid()))).c_str(), "rb"), nullptr);
}

TEST(BundleOpen, MissingFileNamesPath) {
  auto b = Bundle::Open("/nonexistent/dir/model.acorn");
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), ErrorCode::kNotFound);
  EXPECT_NE(b.status().message().find("/nonexistent/dir/model.acorn"), std::string::npos);
}

TEST(BundleOpen, DirectoryIsRefused) {
  auto b = Bundle::Open(::testing::TempDir().c_str());
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("not a regular file"), std::string::npos);
}

}  // namespace
}  // namespace acorn
