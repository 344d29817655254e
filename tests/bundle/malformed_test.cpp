// Every kind of malformed bundle is refused with a message that says what and where; none crashes.
// Bundles here are assembled field by field with the generated FlatBuffers API, so that each test
// can break exactly one rule.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "acorn/bundle.h"
#include "acorn/memory_plan.h"
#include "acorn_generated.h"
#include "sample_bundles.h"

namespace acorn {
namespace {

struct RawTensor {
  std::string name;
  fb::DType dtype = fb::DType::F32;
  std::vector<int64_t> shape;
  fb::Storage storage = fb::Storage::Constant;
  uint32_t segment = 0;
  uint64_t offset = 0;
  uint64_t size = 0;
};
struct RawSegment {
  uint64_t offset = 4096;
  uint64_t size = 4096;
  fb::Compression compression = fb::Compression::None;
  uint64_t uncompressed_size = 4096;
};
struct RawOp {
  fb::OpKind kind = fb::OpKind::Add;
  std::vector<uint32_t> inputs, outputs;
  fb::OpAttrs attrs_type = fb::OpAttrs::NONE;
  uint32_t rope_head_dim = 8;
  uint32_t heads = 2, kv_heads = 1;
  bool attrs_table = true;  // false: the union's type without its table
};

// A valid bundle: two f32 constants in one segment, added into a planned tensor, copied to an output.
struct RawBundle {
  uint32_t version = kSchemaVersion;
  uint32_t max_tokens = 4;
  std::vector<RawTensor> tensors = {
      {"a", fb::DType::F32, {4, 4}, fb::Storage::Constant, 0, 0, 64},
      {"b", fb::DType::F32, {4, 4}, fb::Storage::Constant, 0, 64, 64},
      {"sum", fb::DType::F32, {4, 4}, fb::Storage::Planned},
      {"out", fb::DType::F32, {4, 4}, fb::Storage::Output},
  };
  std::vector<RawSegment> segments = {RawSegment()};
  std::vector<RawOp> ops = {{fb::OpKind::Add, {0, 1}, {2}}, {fb::OpKind::Copy, {2}, {3}}};
  std::vector<uint32_t> graph_outputs = {3};
  uint64_t file_size = 8192;

  std::vector<uint8_t> Build() const {
    flatbuffers::FlatBufferBuilder b;
    std::vector<flatbuffers::Offset<fb::Tensor>> ts;
    for (const RawTensor& t : tensors) {
      ts.push_back(fb::CreateTensor(b, b.CreateString(t.name), t.dtype, b.CreateVector(t.shape), t.storage, t.segment,
                                    t.offset, t.size));
    }
    std::vector<flatbuffers::Offset<fb::Segment>> ss;
    for (const RawSegment& s : segments) {
      ss.push_back(fb::CreateSegment(b, s.offset, s.size, s.compression, s.uncompressed_size));
    }
    std::vector<flatbuffers::Offset<fb::Op>> os;
    for (const RawOp& o : ops) {
      flatbuffers::Offset<void> attrs = 0;
      switch (o.attrs_type) {
        case fb::OpAttrs::RopeAttrs: attrs = fb::CreateRopeAttrs(b, o.rope_head_dim, o.heads).Union(); break;
        case fb::OpAttrs::AttentionAttrs: attrs = fb::CreateAttentionAttrs(b, o.heads, o.kv_heads, 8, 0.5f).Union(); break;
        case fb::OpAttrs::NormAttrs: attrs = fb::CreateNormAttrs(b).Union(); break;
        default: break;
      }
      if (!o.attrs_table) attrs = 0;
      os.push_back(fb::CreateOp(b, o.kind, b.CreateVector(o.inputs), b.CreateVector(o.outputs), o.attrs_type, attrs));
    }
    auto graph = fb::CreateGraph(b, 0, b.CreateVector(os), 0, b.CreateVector(graph_outputs), max_tokens, 16);
    auto root = fb::CreateBundle(b, version, 0, b.CreateVector(ts), b.CreateVector(ss), graph);
    fb::FinishSizePrefixedBundleBuffer(b, root);
    std::vector<uint8_t> out(b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize());
    EXPECT_LE(out.size(), 4096u);
    out.resize(file_size, 0);
    return out;
  }
};

// Loads `bytes` and expects failure with `needle` in the message.
void ExpectRefused(const std::vector<uint8_t>& bytes, const std::string& needle) {
  auto b = Bundle::FromBuffer(bytes.data(), bytes.size());
  ASSERT_FALSE(b.ok()) << "expected refusal containing '" << needle << "'";
  EXPECT_NE(b.status().message().find(needle), std::string::npos) << "message: " << b.status().message();
}

TEST(Malformed, BaselineIsValid) {
  std::vector<uint8_t> bytes = RawBundle().Build();
  auto b = Bundle::FromBuffer(bytes.data(), bytes.size());
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_TRUE(PlanMemory(**b).ok());
}

TEST(Malformed, TooShortAndEmpty) {
  ExpectRefused({}, "too short");
  ExpectRefused({1, 2, 3}, "too short");
}

TEST(Malformed, BadIdentifier) {
  std::vector<uint8_t> bytes = RawBundle().Build();
  bytes[8] = 'G';
  ExpectRefused(bytes, "not an acorn bundle");
}

TEST(Malformed, UnknownSchemaVersion) {
  RawBundle r;
  r.version = 7;
  auto bytes = r.Build();
  auto b = Bundle::FromBuffer(bytes.data(), bytes.size());
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), ErrorCode::kUnsupported);
  EXPECT_NE(b.status().message().find("version 7"), std::string::npos) << b.status().message();
  EXPECT_NE(b.status().message().find("reads version 1"), std::string::npos) << b.status().message();
}

TEST(Malformed, SizePrefixBeyondFile) {
  std::vector<uint8_t> bytes = RawBundle().Build();
  const uint32_t huge = 0x7fffffff;
  std::memcpy(bytes.data(), &huge, 4);
  ExpectRefused(bytes, "truncated");
}

TEST(Malformed, SegmentOutsideFile) {
  RawBundle r;
  r.segments[0].size = r.segments[0].uncompressed_size = 8192;
  ExpectRefused(r.Build(), "outside the file");
  r = RawBundle();
  r.segments[0].size = r.segments[0].uncompressed_size = UINT64_MAX - 100;  // offset + size overflows
  ExpectRefused(r.Build(), "outside the file");
}

TEST(Malformed, SegmentMisalignedOrInsideHeader) {
  RawBundle r;
  r.segments[0].offset = 4100;
  r.segments[0].size = r.segments[0].uncompressed_size = 128;
  ExpectRefused(r.Build(), "not a multiple of 4096");
  r.segments[0].offset = 0;
  ExpectRefused(r.Build(), "inside the FlatBuffer");
}

TEST(Malformed, OverlappingSegments) {
  RawBundle r;
  r.file_size = 12288;
  r.segments = {RawSegment{4096, 8192, fb::Compression::None, 8192}, RawSegment{8192, 4096, fb::Compression::None, 4096}};
  ExpectRefused(r.Build(), "overlap");
}

TEST(Malformed, UncompressedSizeMismatch) {
  RawBundle r;
  r.segments[0].uncompressed_size = 100;
  ExpectRefused(r.Build(), "declares 100 bytes");
}

TEST(Malformed, UnknownCompression) {
  RawBundle r;
  r.segments[0].compression = static_cast<fb::Compression>(9);
  ExpectRefused(r.Build(), "unknown compression");
}

TEST(Malformed, TensorOffsets) {
  RawBundle r;
  r.tensors[1].offset = 32;
  ExpectRefused(r.Build(), "not 64-byte aligned");
  r = RawBundle();
  r.tensors[1].offset = 4096 - 64 + 64;
  ExpectRefused(r.Build(), "outside segment 0");
  r = RawBundle();
  r.tensors[1].offset = UINT64_MAX - 63;
  ExpectRefused(r.Build(), "outside segment 0");
  r = RawBundle();
  r.tensors[1].segment = 3;
  ExpectRefused(r.Build(), "segment 3 does not exist");
}

TEST(Malformed, SizeDtypeMismatch) {
  RawBundle r;
  r.tensors[0].size = 60;
  ExpectRefused(r.Build(), "stores 60 bytes but f32 with this shape needs 64");
  r = RawBundle();
  r.tensors[0].dtype = fb::DType::F16;  // 4x4 f16 = 32 bytes, 64 stored
  ExpectRefused(r.Build(), "needs 32");
}

TEST(Malformed, QuantizedRowsNotWholeBlocks) {
  RawBundle r;
  r.tensors[0].dtype = fb::DType::Q4_0;
  ExpectRefused(r.Build(), "not a fixed multiple of the q4_0 block");
}

TEST(Malformed, DimensionsOverflow) {
  RawBundle r;
  r.tensors[0].shape = {int64_t{1} << 40, int64_t{1} << 40};
  ExpectRefused(r.Build(), "overflows");
  r.tensors[0].shape = {INT64_MAX, INT64_MAX, INT64_MAX};
  ExpectRefused(r.Build(), "overflows");
  r.tensors[0].shape = {4, 0};
  ExpectRefused(r.Build(), "dimension 1 is 0");
  r.tensors[0].shape = {-5, 4};
  ExpectRefused(r.Build(), "dimension 0 is -5");
  r.tensors[0].shape = {};
  ExpectRefused(r.Build(), "rank 0");
  r.tensors[0].shape = {1, 1, 1, 1, 1, 1, 1, 16};
  ExpectRefused(r.Build(), "rank 8");
}

TEST(Malformed, TokensDimensionRules) {
  RawBundle r;
  r.tensors[0].shape = {-1, 4};  // on a constant
  ExpectRefused(r.Build(), "cannot have a tokens dimension");
  r = RawBundle();
  r.tensors[2].shape = {-1, -1};
  ExpectRefused(r.Build(), "more than one tokens dimension");
  r = RawBundle();
  r.max_tokens = 0;
  ExpectRefused(r.Build(), "max_tokens 0");
}

TEST(Malformed, UnknownEnums) {
  RawBundle r;
  r.tensors[0].dtype = static_cast<fb::DType>(77);
  ExpectRefused(r.Build(), "unknown dtype 77");
  r = RawBundle();
  r.tensors[2].storage = static_cast<fb::Storage>(40);
  ExpectRefused(r.Build(), "unknown storage 40");
  r = RawBundle();
  r.ops[0].kind = static_cast<fb::OpKind>(999);
  ExpectRefused(r.Build(), "unknown op kind 999");
}

TEST(Malformed, DuplicateAndEmptyNames) {
  RawBundle r;
  r.tensors[1].name = "a";
  ExpectRefused(r.Build(), "duplicate name 'a'");
  r = RawBundle();
  r.tensors[1].name = "";
  ExpectRefused(r.Build(), "empty name");
}

TEST(Malformed, OpArityAndReferences) {
  RawBundle r;
  r.ops[0].inputs = {0};
  ExpectRefused(r.Build(), "has 1 inputs and 1 outputs, expected 2..2 and 1");
  r = RawBundle();
  r.ops[0].inputs = {0, 42};
  ExpectRefused(r.Build(), "names tensor 42");
  r = RawBundle();
  r.ops[0].outputs = {0};
  ExpectRefused(r.Build(), "writes constant tensor 'a'");
  r = RawBundle();
  r.ops[0].outputs = {1};
  r.ops[0].inputs = {0, 1};
  ExpectRefused(r.Build(), "writes constant");
  r = RawBundle();
  std::swap(r.ops[0], r.ops[1]);  // Copy reads 'sum' before Add writes it
  ExpectRefused(r.Build(), "reads tensor 'sum' before any op writes it");
  r = RawBundle();
  r.ops[0].inputs = {0, 2};
  r.ops[0].outputs = {2};
  ExpectRefused(r.Build(), "before any op writes it");
}

TEST(Malformed, OpAttributes) {
  RawBundle r;
  r.ops[0] = {fb::OpKind::Rope, {0, 1}, {2}, fb::OpAttrs::NONE};
  ExpectRefused(r.Build(), "attributes missing");
  r.ops[0].attrs_type = fb::OpAttrs::NormAttrs;
  ExpectRefused(r.Build(), "carries attributes of type");
  r.ops[0].attrs_type = fb::OpAttrs::RopeAttrs;
  r.ops[0].rope_head_dim = 7;
  ExpectRefused(r.Build(), "head_dim 7");
  r = RawBundle();
  r.tensors.push_back({"c", fb::DType::F32, {4, 4}, fb::Storage::Constant, 0, 128, 64});
  r.tensors.push_back({"d", fb::DType::F32, {4, 4}, fb::Storage::Constant, 0, 192, 64});
  r.tensors.push_back({"e", fb::DType::F32, {4, 4}, fb::Storage::Constant, 0, 256, 64});
  r.ops[0] = {fb::OpKind::Attention, {0, 1, 4, 5, 6}, {2}, fb::OpAttrs::AttentionAttrs, 8, 3, 2};
  ExpectRefused(r.Build(), "inconsistent");
}

// A union type with no table once passed the verifier and crashed the first step (null attributes
// read by the Rope and Attention kernels and shape rules).
TEST(Malformed, AttributeTypeWithoutTable) {
  RawBundle r;
  r.ops[0] = {fb::OpKind::Rope, {0, 1}, {2}, fb::OpAttrs::RopeAttrs};
  r.ops[0].attrs_table = false;
  ExpectRefused(r.Build(), "has no attribute table");
  r = RawBundle();
  r.tensors.push_back({"c", fb::DType::F32, {4, 4}, fb::Storage::Constant, 0, 128, 64});
  r.tensors.push_back({"d", fb::DType::F32, {4, 4}, fb::Storage::Constant, 0, 192, 64});
  r.tensors.push_back({"e", fb::DType::F32, {4, 4}, fb::Storage::Constant, 0, 256, 64});
  r.ops[0] = {fb::OpKind::Attention, {0, 1, 4, 5, 6}, {2}, fb::OpAttrs::AttentionAttrs};
  r.ops[0].attrs_table = false;
  ExpectRefused(r.Build(), "has no attribute table");
  // The same for kinds whose attributes are optional: a type without a table is never "defaults".
  r = RawBundle();
  r.ops[1] = {fb::OpKind::Copy, {2}, {3}, fb::OpAttrs::CopyAttrs};
  r.ops[1].attrs_table = false;
  ExpectRefused(r.Build(), "has no attribute table");
}

// Attributes are copied at load: the loaded description holds its own values and names, not
// pointers into the buffer, so a buffer changed after load cannot change what a step reads.
TEST(Malformed, AttributesAndNamesAreCopiedAtLoad) {
  RawBundle r;
  r.tensors[0].shape = {4, 16};
  r.tensors[0].size = 256;
  r.tensors[1] = {"pos", fb::DType::I32, {4}, fb::Storage::Constant, 0, 256, 16};
  r.tensors[2].shape = {4, 16};
  r.tensors[3].shape = {4, 16};
  r.ops[0] = {fb::OpKind::Rope, {0, 1}, {2}, fb::OpAttrs::RopeAttrs, 8, 2};
  std::vector<uint8_t> bytes = r.Build();
  auto b = Bundle::FromBuffer(bytes.data(), bytes.size());
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  const OpDesc& op = (*b)->ops()[0];
  EXPECT_EQ(op.attrs.head_dim, 8u);
  EXPECT_EQ(op.attrs.n_heads, 2u);
  ASSERT_EQ(op.attrs.rope_inv_freq.size(), 4u);  // made at load from theta
  EXPECT_FLOAT_EQ(op.attrs.rope_inv_freq[0], 1.0f);
  const char* name = (*b)->tensors()[0].name;
  EXPECT_STREQ(name, "a");
  EXPECT_FALSE(name >= reinterpret_cast<const char*>(bytes.data()) &&
               name < reinterpret_cast<const char*>(bytes.data() + bytes.size()))
      << "tensor names must not point into the buffer";
}

// A FIFO, a directory or a device given as the model: a clear error at once (opening a FIFO used to
// wait for a writer forever), in both load modes.
TEST(Malformed, NotARegularFileIsRefusedWithoutBlocking) {
  const std::string fifo = ::testing::TempDir() + "/acorn_fifo_model.acorn";
  std::remove(fifo.c_str());
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  for (LoadMode mode : {LoadMode::kMap, LoadMode::kRead}) {
    for (const std::string& path : {fifo, ::testing::TempDir(), std::string("/dev/null")}) {
      auto b = Bundle::Open(path.c_str(), mode);
      ASSERT_FALSE(b.ok()) << path;
      EXPECT_NE(b.status().message().find("not a regular file"), std::string::npos) << b.status().message();
    }
  }
  std::remove(fifo.c_str());
}

TEST(Malformed, GraphOutputMustBeOutput) {
  RawBundle r;
  r.graph_outputs = {2};
  ExpectRefused(r.Build(), "has storage planned");
  r.graph_outputs = {9};
  ExpectRefused(r.Build(), "names tensor 9");
}

TEST(Malformed, CorruptZstdSegment) {
  testing::SampleOptions o;
  o.compress = true;
  std::vector<uint8_t> bytes = testing::MakeSampleBundle(o);
  auto good = Bundle::FromBuffer(bytes.data(), bytes.size());
  ASSERT_TRUE(good.ok());
  const SegmentDesc z = (*good)->segments()[1];
  ASSERT_EQ(z.compression, Compression::kZstd);
  good = Result<std::unique_ptr<Bundle>>(Status(ErrorCode::kInternal, "released"));
  // Flip bytes at several places inside the compressed frame: header, body, checksum.
  for (uint64_t at : {uint64_t{0}, uint64_t{5}, z.stored_size / 2, z.stored_size - 1}) {
    std::vector<uint8_t> bad = bytes;
    bad[z.file_offset + at] ^= 0x5a;
    ExpectRefused(bad, "segment 1");
  }
}

TEST(Malformed, TruncatedAnywhere) {
  testing::SampleOptions o;
  for (bool compress : {false, true}) {
    o.compress = compress;
    std::vector<uint8_t> bytes = testing::MakeSampleBundle(o);
    auto good = Bundle::FromBuffer(bytes.data(), bytes.size());
    ASSERT_TRUE(good.ok());
    uint64_t data_end = 0;
    for (const SegmentDesc& s : (*good)->segments()) data_end = std::max(data_end, s.file_offset + s.stored_size);
    // Every cut before the end of the last segment must be refused, each with a message.
    for (uint64_t cut = 0; cut < data_end; cut += (cut < 4096 ? 7 : 61)) {
      std::vector<uint8_t> t(bytes.begin(), bytes.begin() + static_cast<long>(cut));
      auto b = Bundle::FromBuffer(t.data(), t.size());
      ASSERT_FALSE(b.ok()) << "cut at " << cut;
      EXPECT_FALSE(b.status().message().empty());
    }
  }
}

TEST(Malformed, ByteFlipsNeverCrash) {
  // Flipping any header byte must either be refused or still give a bundle that plans; the
  // sanitizer build turns any out-of-bounds access here into a failure.
  std::vector<uint8_t> bytes = testing::MakeSampleBundle();
  auto good = Bundle::FromBuffer(bytes.data(), bytes.size());
  ASSERT_TRUE(good.ok());
  const uint64_t header = (*good)->segments()[0].file_offset;
  int refused = 0;
  for (uint64_t i = 0; i < header; ++i) {
    for (uint8_t mask : {0x01, 0x80, 0xff}) {
      std::vector<uint8_t> bad = bytes;
      bad[i] ^= mask;
      auto b = Bundle::FromBuffer(bad.data(), bad.size());
      if (!b.ok()) {
        ++refused;
        EXPECT_FALSE(b.status().message().empty());
        continue;
      }
      auto plan = PlanMemory(**b);
      (void)plan;
    }
  }
  EXPECT_GT(refused, 0);
}

}  // namespace
}  // namespace acorn
