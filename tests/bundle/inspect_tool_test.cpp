// acorn-inspect end to end: prints a bundle made by the writer; on truncated or corrupted files it
// exits 1 with the loader's message, never crashing.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "sample_bundles.h"

namespace acorn {
namespace {

struct ToolRun {
  int exit_code;
  std::string output;
};

ToolRun RunInspect(const std::string& args) {
  const std::string cmd = std::string(ACORN_INSPECT_BIN) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  ToolRun r{-1, ""};
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

std::string WriteFile(const std::string& name, const std::vector<uint8_t>& bytes) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  return path;
}

TEST(InspectTool, PrintsContents) {
  testing::SampleOptions o;
  o.compress = true;
  const std::string path = WriteFile("inspect.acorn", testing::MakeSampleBundle(o));
  ToolRun text = RunInspect(path);
  ASSERT_EQ(text.exit_code, 0) << text.output;
  for (const char* needle : {"general.architecture", "\"sample\"", "output.weight", "q8_0", "[T, 64]", "zstd",
                             "RmsNorm", "arena", "state"}) {
    EXPECT_NE(text.output.find(needle), std::string::npos) << needle << "\n" << text.output;
  }
  ToolRun json = RunInspect(path + " --json");
  ASSERT_EQ(json.exit_code, 0) << json.output;
  EXPECT_NE(json.output.find("\"arena_bytes\""), std::string::npos);
  EXPECT_NE(json.output.find("\"compression\": \"zstd\""), std::string::npos);
  EXPECT_NE(json.output.find("\"MatMul\": 1"), std::string::npos) << json.output;
}

TEST(InspectTool, UsageAndMissingFile) {
  EXPECT_EQ(RunInspect("--help").exit_code, 0);
  EXPECT_EQ(RunInspect("").exit_code, 2);
  ToolRun missing = RunInspect("/no/such/file.acorn");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.output.find("no such file"), std::string::npos) << missing.output;
}

TEST(InspectTool, TruncatedAndFlippedFilesExitOne) {
  const std::vector<uint8_t> bytes = testing::MakeSampleBundle();
  // A few cuts and flips through the tool itself (the loader tests cover every byte).
  for (size_t cut : {size_t{5}, size_t{100}, size_t{1000}, size_t{4097}, bytes.size() / 2}) {
    std::vector<uint8_t> t(bytes.begin(), bytes.begin() + static_cast<long>(cut));
    ToolRun r = RunInspect(WriteFile("cut.acorn", t));
    EXPECT_EQ(r.exit_code, 1) << "cut " << cut << ": " << r.output;
    EXPECT_NE(r.output.find("acorn-inspect: "), std::string::npos);
  }
  int refused = 0;
  for (size_t at = 0; at < 4096; at += 97) {
    std::vector<uint8_t> bad = bytes;
    bad[at] ^= 0xff;
    ToolRun r = RunInspect(WriteFile("flip.acorn", bad));
    EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 1) << "flip at " << at << " exit " << r.exit_code << ": " << r.output;
    refused += r.exit_code == 1;
  }
  EXPECT_GT(refused, 0);
}

}  // namespace
}  // namespace acorn
