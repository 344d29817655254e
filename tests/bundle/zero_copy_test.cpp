// Constant tensors in uncompressed segments are used in place from the mapping: their pointers lie
// inside the mapped file, and loading a large bundle barely moves peak RSS.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "acorn/bundle.h"
#include "acorn/platform.h"
#include "sample_bundles.h"

namespace acorn {
namespace {

// VmHWM (peak resident set) from /proc, in bytes; 0 where unavailable.
uint64_t PeakRss() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

TEST(ZeroCopy, ConstantsPointIntoTheMapping) {
  const std::string path = ::testing::TempDir() + "/zero_copy_small.acorn";
  std::vector<uint8_t> bytes = testing::MakeSampleBundle();
  {
    std::ofstream f(path, std::ios::binary);
    f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  }
  auto b = Bundle::Open(path.c_str());
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  ASSERT_TRUE((*b)->is_mapped());
  const ByteSpan file = (*b)->file();
  for (const TensorDesc& t : (*b)->tensors()) {
    if (t.storage != Storage::kConstant) continue;
    EXPECT_GE(t.data, file.data()) << t.name;
    EXPECT_LE(t.data + t.max_bytes, file.data() + file.size()) << t.name;
    EXPECT_EQ(std::memcmp(t.data, bytes.data() + (t.data - file.data()), t.max_bytes), 0);
  }
  std::remove(path.c_str());
}

TEST(ZeroCopy, LoadingLargeBundleKeepsPeakRssFlat) {
  // 384 MiB of weights in 1 MiB tensors, so that writing the file never holds much in memory.
  constexpr int kTensors = 384;
  constexpr int64_t kRows = 512, kCols = 512;  // f32: 1 MiB
  const std::string path = ::testing::TempDir() + "/zero_copy_large.acorn";
  {
    BundleWriter w;
    for (int i = 0; i < kTensors; ++i) {
      ASSERT_TRUE(w.AddConstant("w" + std::to_string(i), DType::kF32, {kRows, kCols},
                                [i](uint8_t* dst, uint64_t size) {
                                  std::memset(dst, i & 0xff, size);
                                  return Status::Ok();
                                })
                      .ok());
    }
    ASSERT_TRUE(w.Write(path).ok());
  }
  const uint64_t before = PeakRss();
  if (before == 0) GTEST_SKIP() << "no /proc/self/status VmHWM on this system";
  auto b = Bundle::Open(path.c_str());
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  const uint64_t after = PeakRss();
  const uint64_t file_size = (*b)->file().size();
  EXPECT_GT(file_size, uint64_t{384} << 20);
  // The loader reads only the FlatBuffer header; weights stay on disk until a kernel touches them.
  EXPECT_LT(after - before, file_size / 20) << "peak RSS grew by " << (after - before) << " bytes";
  // The data is really there, in place.
  const TensorDesc& last = (*b)->tensors().back();
  EXPECT_EQ(last.data[0], static_cast<uint8_t>((kTensors - 1) & 0xff));
  std::remove(path.c_str());
}

TEST(CallerBuffer, UsedInPlaceAndNeverCopied) {
  std::vector<uint8_t> bytes = testing::MakeSampleBundle();
  auto b = Bundle::FromBuffer(bytes.data(), bytes.size());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ((*b)->file().data(), bytes.data());
  auto null = Bundle::FromBuffer(nullptr, 10);
  EXPECT_FALSE(null.ok());
}

}  // namespace
}  // namespace acorn
