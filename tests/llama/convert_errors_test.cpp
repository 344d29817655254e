// acorn-convert refuses what it cannot convert with a message that names the problem, and leaves
// no output file behind.
#include <gtest/gtest.h>

#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "acorn/platform.h"
#include "bundle_writer.h"
#include "safetensors.h"
#include "verify_bundle.h"

namespace {

struct Result {
  int code;
  std::string output;
};

Result Convert(const std::string& args) {
  // timeout: a hostile input must never hang the converter (FIFOs once did).
  const std::string cmd = "timeout 60 " + std::string(ACORN_CONVERT_BIN) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  Result r{-1, ""};
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  const int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string MakeDir(const std::string& name, const std::string& config) {
  const std::string dir = ::testing::TempDir() + "/convert_err_" + name;
  std::system(("rm -rf " + dir + " && mkdir -p " + dir).c_str());
  std::ofstream(dir + "/config.json") << config;
  return dir;
}

const char* kLlama =
    R"({"architectures":["LlamaForCausalLM"],"hidden_size":64,"num_hidden_layers":1,"num_attention_heads":4,)"
    R"("num_key_value_heads":2,"intermediate_size":128,"vocab_size":256,"rope_theta":10000.0%s})";

std::string Llama(const std::string& extra) {
  char buf[1024];
  std::snprintf(buf, sizeof buf, kLlama, extra.c_str());
  return buf;
}

TEST(ConvertErrors, UsageAndHelp) {
  EXPECT_EQ(Convert("--help").code, 0);
  EXPECT_NE(Convert("--help").output.find("--dtype"), std::string::npos);
  EXPECT_EQ(Convert("").code, 2);
  EXPECT_EQ(Convert("/tmp -o x.acorn --dtype q9_9").code, 2);
}

TEST(ConvertErrors, MissingDirectoryOrConfig) {
  Result r = Convert("/no/such/model -o /tmp/x.acorn");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.output.find("config.json: not found"), std::string::npos) << r.output;
}

TEST(ConvertErrors, UnsupportedArchitectureNamed) {
  const std::string dir = MakeDir("arch", R"({"architectures":["GPT2LMHeadModel"],"model_type":"gpt2"})");
  Result r = Convert(dir + " -o " + dir + "/out.acorn");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.output.find("GPT2LMHeadModel"), std::string::npos) << r.output;
}

TEST(ConvertErrors, UnsupportedRopeTypeNamed) {
  const std::string dir = MakeDir("rope", Llama(R"(,"rope_scaling":{"rope_type":"yarn","factor":4.0})"));
  Result r = Convert(dir + " -o " + dir + "/out.acorn");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.output.find("rope type 'yarn'"), std::string::npos) << r.output;
}

TEST(ConvertErrors, NoWeightsOrMissingTensor) {
  const std::string dir = MakeDir("noweights", Llama(""));
  Result r = Convert(dir + " -o " + dir + "/out.acorn");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.output.find("no *.safetensors"), std::string::npos) << r.output;
  // A safetensors file that lacks the embedding.
  const std::string header = R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  std::ofstream f(dir + "/model.safetensors", std::ios::binary);
  const uint64_t len = header.size();
  f.write(reinterpret_cast<const char*>(&len), 8);
  f << header;
  f.write("\0\0\0\0", 4);
  f.close();
  r = Convert(dir + " -o " + dir + "/out.acorn");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.output.find("model.embed_tokens.weight"), std::string::npos) << r.output;
  EXPECT_FALSE(std::ifstream(dir + "/out.acorn").good());
}

TEST(ConvertErrors, ContextBeyondConfigRefused) {
  const std::string dir = MakeDir("ctx", Llama(R"(,"max_position_embeddings":64)"));
  Result r = Convert(dir + " -o " + dir + "/out.acorn --random-weights --context 128");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.output.find("exceeds the model's max_position_embeddings 64"), std::string::npos) << r.output;
  r = Convert(dir + " -o " + dir + "/out.acorn --random-weights --context 64 --dtype q4_0");
  EXPECT_EQ(r.code, 0) << r.output;
}

// --- Issue 12: hostile checkpoint directories end in a clean error (exit 1, a message naming the
// problem, no output file), never a crash, a hang or a huge allocation. ---

// Writes a .safetensors file: the 8-byte length (or `length` when given), the header, `data` bytes.
void WriteSafetensors(const std::string& path, const std::string& header, const std::string& data,
                      uint64_t length = UINT64_MAX) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  const uint64_t len = length == UINT64_MAX ? header.size() : length;
  f.write(reinterpret_cast<const char*>(&len), 8);
  f << header << data;
}

// Expects exit code 1, `expect` in the output, no output file and no temporary left in `dir`.
void ExpectRefused(const std::string& dir, const std::string& extra, const std::string& expect) {
  const std::string out = dir + "/out.acorn";
  std::remove(out.c_str());
  Result r = Convert(dir + " -o " + out + " " + extra);
  EXPECT_EQ(r.code, 1) << dir << ": " << r.output;
  EXPECT_NE(r.output.find(expect), std::string::npos) << "expected '" << expect << "' in: " << r.output;
  EXPECT_NE(r.output.find("acorn-convert: "), std::string::npos) << r.output;
  EXPECT_FALSE(std::ifstream(out).good()) << "a refused conversion left " << out;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) EXPECT_EQ(std::strstr(e->d_name, ".tmp."), nullptr) << "left " << e->d_name;
    closedir(d);
  }
}

// Every tensor of the kLlama config (hidden 64, 4 heads of 16, 2 kv heads, ffn 128, vocab 256, one
// layer, untied) as F32 zeros in one safetensors file; `poison` sets elements of one tensor.
struct Poison {
  std::string tensor;
  int64_t index = -1;
  float value = 0;
};
void WriteCheckpoint(const std::string& dir, const Poison& poison = Poison()) {
  const std::vector<std::pair<std::string, std::vector<int64_t>>> shapes = {
      {"model.embed_tokens.weight", {256, 64}}, {"model.layers.0.input_layernorm.weight", {64}},
      {"model.layers.0.self_attn.q_proj.weight", {64, 64}}, {"model.layers.0.self_attn.k_proj.weight", {32, 64}},
      {"model.layers.0.self_attn.v_proj.weight", {32, 64}}, {"model.layers.0.self_attn.o_proj.weight", {64, 64}},
      {"model.layers.0.post_attention_layernorm.weight", {64}}, {"model.layers.0.mlp.gate_proj.weight", {128, 64}},
      {"model.layers.0.mlp.up_proj.weight", {128, 64}}, {"model.layers.0.mlp.down_proj.weight", {64, 128}},
      {"model.norm.weight", {64}}, {"lm_head.weight", {256, 64}},
  };
  std::string header = "{", data;
  for (const auto& t : shapes) {
    int64_t n = 1;
    std::string dims;
    for (int64_t d : t.second) {
      n *= d;
      dims += (dims.empty() ? "" : ",") + std::to_string(d);
    }
    std::vector<float> values(static_cast<size_t>(n), 0.0f);
    if (t.first == poison.tensor) values[static_cast<size_t>(poison.index)] = poison.value;
    const size_t begin = data.size();
    data.append(reinterpret_cast<const char*>(values.data()), values.size() * 4);
    header += (header.size() > 1 ? "," : "") + std::string("\"") + t.first + "\":{\"dtype\":\"F32\",\"shape\":[" + dims +
              "],\"data_offsets\":[" + std::to_string(begin) + "," + std::to_string(data.size()) + "]}";
  }
  header += "}";
  WriteSafetensors(dir + "/model.safetensors", header, data);
}

TEST(ConvertHostile, ValidTinyCheckpointConverts) {
  const std::string dir = MakeDir("tiny_ok", Llama(""));
  WriteCheckpoint(dir);
  Result r = Convert(dir + " -o " + dir + "/out.acorn --dtype q8_0");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("loading the bundle back"), std::string::npos) << r.output;
  EXPECT_TRUE(std::ifstream(dir + "/out.acorn").good());
}

TEST(ConvertHostile, MalformedSafetensorsHeaders) {
  const std::string t = R"("model.embed_tokens.weight":)";
  const struct {
    const char* name;
    std::string header;
    std::string data;
    const char* expect;
  } cases[] = {
      {"one_offset", "{" + t + R"({"dtype":"F32","shape":[1],"data_offsets":[0]}})", std::string(4, '\0'),
       "data_offsets has 1 entries"},
      {"no_offsets", "{" + t + R"({"dtype":"F32","shape":[1],"data_offsets":[]}})", std::string(4, '\0'),
       "data_offsets has 0 entries"},
      {"offsets_string", "{" + t + R"({"dtype":"F32","shape":[1],"data_offsets":"0,4"}})", std::string(4, '\0'),
       "data_offsets is a string"},
      {"offset_float", "{" + t + R"({"dtype":"F32","shape":[1],"data_offsets":[0.5,4]}})", std::string(4, '\0'),
       "not an integer"},
      {"offset_negative", "{" + t + R"({"dtype":"F32","shape":[1],"data_offsets":[-4,0]}})", std::string(4, '\0'),
       "negative"},
      {"dtype_number", "{" + t + R"({"dtype":7,"shape":[1],"data_offsets":[0,4]}})", std::string(4, '\0'),
       "dtype is a number"},
      {"shape_object", "{" + t + R"({"dtype":"F32","shape":{"a":1},"data_offsets":[0,4]}})", std::string(4, '\0'),
       "shape is an object"},
      {"shape_string_dim", "{" + t + R"({"dtype":"F32","shape":["1"],"data_offsets":[0,4]}})", std::string(4, '\0'),
       "shape[0] is a string"},
      {"shape_negative", "{" + t + R"({"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", std::string(4, '\0'),
       "negative"},
      {"shape_overflow", "{" + t + R"({"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,4]}})",
       std::string(4, '\0'), "too large"},
      {"begin_after_end", "{" + t + R"({"dtype":"F32","shape":[1],"data_offsets":[4,0]}})", std::string(4, '\0'),
       "do not lie inside"},
      {"beyond_file", "{" + t + R"({"dtype":"F32","shape":[1],"data_offsets":[0,400]}})", std::string(4, '\0'),
       "do not lie inside"},
      {"size_mismatch", "{" + t + R"({"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", std::string(4, '\0'),
       "need 8"},
      {"overlap", "{" + t + R"({"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
       std::string(8, '\0'), "overlap"},
      {"tensor_not_object", "{" + t + "[1,2]}", "", "is not an object"},
      {"header_array", "[1,2,3]", "", "not a JSON object"},
      {"header_not_json", "{\"a\":", "", "not valid JSON"},
  };
  for (const auto& c : cases) {
    const std::string dir = MakeDir(std::string("st_") + c.name, Llama(""));
    WriteSafetensors(dir + "/model.safetensors", c.header, c.data);
    SCOPED_TRACE(c.name);
    ExpectRefused(dir, "", c.expect);
  }
  // The header length: beyond the file, and beyond the safetensors limit (a sparse file, so the
  // test writes almost nothing).
  std::string dir = MakeDir("st_len_beyond_file", Llama(""));
  WriteSafetensors(dir + "/model.safetensors", "{}", "", 1000);
  ExpectRefused(dir, "", "beyond the end of the file");
  dir = MakeDir("st_len_beyond_limit", Llama(""));
  const uint64_t huge = (uint64_t{100} << 20) + 1;
  WriteSafetensors(dir + "/model.safetensors", "{}", "", huge);
  ASSERT_EQ(::truncate((dir + "/model.safetensors").c_str(), static_cast<off_t>(huge + 16)), 0);
  ExpectRefused(dir, "", "exceeds the limit");
}

TEST(ConvertHostile, ParseFileInProcess) {
  // data_offsets with one entry once read past the array (and a null pointer).
  std::string header = R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0]}})";
  std::string bytes(8, '\0');
  const uint64_t len = header.size();
  std::memcpy(&bytes[0], &len, 8);
  bytes += header + std::string(4, '\0');
  std::vector<acorn::convert::SourceTensor> out;
  acorn::Status st = acorn::convert::SafetensorsCheckpoint::ParseFile(reinterpret_cast<const uint8_t*>(bytes.data()),
                                                                      bytes.size(), "mem", &out);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("data_offsets"), std::string::npos) << st.message();
}

TEST(ConvertHostile, JsonValuesOfTheWrongType) {
  struct Case {
    const char* name;
    std::string config;
    const char* expect;
  };
  const Case cases[] = {
      {"hidden_string", Llama(R"(,"hidden_size":"64")"), "hidden_size is a string"},
      {"arch_number",
       R"({"architectures":[5],"hidden_size":64,"num_hidden_layers":1,"num_attention_heads":4,"intermediate_size":128,"vocab_size":256})",
       "architectures[0] is a number"},
      {"rope_scaling_string", Llama(R"(,"rope_scaling":"linear")"), "rope_scaling is a string"},
      {"rope_factor_string", Llama(R"(,"rope_scaling":{"rope_type":"linear","factor":"2"})"), "factor is a string"},
      {"tie_string", Llama(R"(,"tie_word_embeddings":"yes")"), "tie_word_embeddings is a string"},
      {"eos_object", Llama(R"(,"eos_token_id":{"a":1})"), "eos_token_id is an object"},
      {"config_array", "[1,2]", "not a JSON object"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    ExpectRefused(MakeDir(std::string("json_") + c.name, c.config), "--random-weights", c.expect);
  }
  // tokenizer_config.json
  std::string dir = MakeDir("json_tokcfg", Llama(""));
  std::ofstream(dir + "/tokenizer_config.json") << R"({"chat_template": 5})";
  ExpectRefused(dir, "--random-weights", "chat_template is a number");
  dir = MakeDir("json_tokcfg_bos", Llama(""));
  std::ofstream(dir + "/tokenizer_config.json") << R"({"bos_token": {"content": 1}})";
  ExpectRefused(dir, "--random-weights", "content is a number");
  // model.safetensors.index.json
  dir = MakeDir("json_index", Llama(""));
  std::ofstream(dir + "/model.safetensors.index.json") << R"({"weight_map": {"a": 5}})";
  ExpectRefused(dir, "", "weight_map.a is a number");
  dir = MakeDir("json_index_array", Llama(""));
  std::ofstream(dir + "/model.safetensors.index.json") << R"({"weight_map": ["a"]})";
  ExpectRefused(dir, "", "weight_map is an array");
  // BERT's config takes the same accessors.
  dir = MakeDir("json_bert", R"({"model_type":"bert","hidden_size":"64"})");
  ExpectRefused(dir, "--random-weights", "hidden_size is a string");
}

TEST(ConvertHostile, ShapeNumbersOutsideLimits) {
  const struct {
    const char* name;
    std::string extra;
    const char* expect;
  } cases[] = {
      {"head_dim_2_40", R"(,"head_dim":1099511627776)", "head_dim = 1099511627776 is outside"},
      {"head_dim_odd", R"(,"head_dim":15)", "head_dim 15"},
      {"heads_kv_mismatch", R"(,"num_key_value_heads":3)", "key/value heads"},
      {"max_pos_huge", R"(,"max_position_embeddings":9223372036854775807)", "max_position_embeddings"},
      {"vocab_huge", R"(,"vocab_size":4611686018427387904)", "vocabulary size"},
      {"layers_huge", R"(,"num_hidden_layers":1000000)", "layer count"},
      {"ffn_huge", R"(,"intermediate_size":100000000)", "intermediate"},
      {"bos_out_of_vocab", R"(,"bos_token_id":256)", "bos_token_id 256"},
      {"rope_factor_zero", R"(,"rope_scaling":{"rope_type":"linear","factor":0})", "rope scaling factor"},
      {"rope_factor_negative", R"(,"rope_scaling":{"rope_type":"linear","factor":-2})", "rope scaling factor"},
      {"llama3_equal_factors",
       R"(,"rope_scaling":{"rope_type":"llama3","factor":8,"low_freq_factor":4,"high_freq_factor":4})",
       "high_freq_factor"},
      {"rope_theta_zero", R"(,"rope_theta":0)", "rope_theta"},
      {"rope_theta_inf", R"(,"rope_theta":1e999)", "1e999"},
      {"eps_negative", R"(,"rms_norm_eps":-1e-6)", "rms_norm_eps"},
      {"eps_inf", R"(,"rms_norm_eps":1e999)", "1e999"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    std::string config = Llama(c.extra);
    // kLlama sets rope_theta itself; a later duplicate key wins in nlohmann, as in Python.
    ExpectRefused(MakeDir(std::string("range_") + c.name, config), "--random-weights", c.expect);
  }
  // 2^62 heads: once overflowed heads * head_dim.
  ExpectRefused(MakeDir("range_heads",
                        R"({"architectures":["LlamaForCausalLM"],"hidden_size":64,"num_hidden_layers":1,)"
                        R"("num_attention_heads":4611686018427387904,"intermediate_size":128,"vocab_size":256})"),
                "--random-weights", "num_attention_heads");
}

TEST(ConvertHostile, NonFiniteWeightsNamedWithTheFirstBadIndex) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  for (const char* dtype : {"f16", "q8_0", "q4_0"}) {
    for (float bad : {nan, inf, -inf}) {
      const std::string dir = MakeDir("nan_weight", Llama(""));
      WriteCheckpoint(dir, {"model.layers.0.mlp.up_proj.weight", 70, bad});
      SCOPED_TRACE(std::string(dtype) + " " + std::to_string(bad));
      ExpectRefused(dir, std::string("--dtype ") + dtype, "model.layers.0.mlp.up_proj.weight");
      ExpectRefused(dir, std::string("--dtype ") + dtype, "element 70 (row 1, column 6)");
    }
  }
}

TEST(ConvertHostile, FifosAndDirectoriesAreErrorsNotHangs) {
  const auto start = std::chrono::steady_clock::now();
  // config.json as a FIFO.
  std::string dir = MakeDir("fifo_config", "");
  std::remove((dir + "/config.json").c_str());
  ASSERT_EQ(::mkfifo((dir + "/config.json").c_str(), 0600), 0);
  ExpectRefused(dir, "", "FIFO");
  // A shard as a FIFO, directly and through the index.
  dir = MakeDir("fifo_shard", Llama(""));
  ASSERT_EQ(::mkfifo((dir + "/model.safetensors").c_str(), 0600), 0);
  ExpectRefused(dir, "", "FIFO");
  dir = MakeDir("fifo_index_shard", Llama(""));
  ASSERT_EQ(::mkfifo((dir + "/shard.bin").c_str(), 0600), 0);
  std::ofstream(dir + "/model.safetensors.index.json") << R"({"weight_map": {"a": "shard.bin"}})";
  ExpectRefused(dir, "", "FIFO");
  // The index itself, and a directory where a shard should be.
  dir = MakeDir("fifo_index", Llama(""));
  ASSERT_EQ(::mkfifo((dir + "/model.safetensors.index.json").c_str(), 0600), 0);
  ExpectRefused(dir, "", "FIFO");
  dir = MakeDir("dir_shard", Llama(""));
  ASSERT_EQ(::mkdir((dir + "/x.safetensors").c_str(), 0700), 0);
  ExpectRefused(dir, "", "directory");
  // tokenizer_config.json as a FIFO.
  dir = MakeDir("fifo_tokcfg", Llama(""));
  ASSERT_EQ(::mkfifo((dir + "/tokenizer_config.json").c_str(), 0600), 0);
  ExpectRefused(dir, "--random-weights", "FIFO");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
}

TEST(ConvertHostile, IndexPathsMustStayInsideTheCheckpoint) {
  const std::string outside = MakeDir("outside", Llama(""));
  WriteCheckpoint(outside);
  std::string dir = MakeDir("index_dotdot", Llama(""));
  std::ofstream(dir + "/model.safetensors.index.json")
      << R"({"weight_map": {"a": "../convert_err_outside/model.safetensors"}})";
  ExpectRefused(dir, "", "outside the checkpoint directory");
  dir = MakeDir("index_absolute", Llama(""));
  std::ofstream(dir + "/model.safetensors.index.json") << R"({"weight_map": {"a": ")" + outside + R"(/model.safetensors"}})";
  ExpectRefused(dir, "", "absolute");
  dir = MakeDir("index_symlink", Llama(""));
  ASSERT_EQ(::symlink((outside + "/model.safetensors").c_str(), (dir + "/shard.safetensors").c_str()), 0);
  std::ofstream(dir + "/model.safetensors.index.json") << R"({"weight_map": {"a": "shard.safetensors"}})";
  ExpectRefused(dir, "", "outside the checkpoint directory");
  dir = MakeDir("index_missing", Llama(""));
  std::ofstream(dir + "/model.safetensors.index.json") << R"({"weight_map": {"a": "nope.safetensors"}})";
  ExpectRefused(dir, "", "does not exist");
}

TEST(ConvertHostile, TemporaryFileNeverFollowsAPlantedSymlink) {
  // The old temporary name was OUT.tmp.<pid>: predictable, opened with fopen, which follows links.
  const std::string dir = MakeDir("tmp_symlink", Llama(""));
  const std::string victim = dir + "/victim.txt", out = dir + "/out.acorn";
  std::ofstream(victim) << "precious";
  const std::string planted = out + ".tmp." + std::to_string(static_cast<long>(getpid()));
  ASSERT_EQ(::symlink(victim.c_str(), planted.c_str()), 0);
  acorn::BundleWriter writer;
  auto t = writer.AddTensor("tokens", acorn::DType::kI32, {acorn::kTokensDim}, acorn::Storage::kInput);
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(writer.Write(out).ok());
  std::ifstream in(victim);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "precious");
  struct stat sb;
  ASSERT_EQ(::lstat(out.c_str(), &sb), 0);
  EXPECT_TRUE(S_ISREG(sb.st_mode));
}

// A bundle for a bigger device than the converting machine (a long context's KV cache that does not
// fit this machine's memory) is converted: it loads and verifies; only the one-step run is skipped,
// with a note saying so. (It was once refused, which made such bundles impossible to build here.)
TEST(ConvertErrors, BundleLargerThanThisMachineIsWrittenWithANote) {
  // 4 layers x 2 (K, V) x 2^24 positions x 1024 floats: a 512 GiB arena.
  const uint64_t arena = 4ull * 2 * (1ull << 24) * 1024 * 4;
  const uint64_t physical = acorn::platform::PhysicalMemoryBytes();
  if (physical == 0 || physical >= arena) GTEST_SKIP() << "this machine has room for a 512 GiB arena";
  const std::string dir = MakeDir(
      "bigger_device",
      R"({"architectures":["LlamaForCausalLM"],"hidden_size":1024,"num_hidden_layers":4,"num_attention_heads":8,)"
      R"("num_key_value_heads":8,"intermediate_size":128,"vocab_size":256,"max_position_embeddings":16777216})");
  const std::string out = dir + "/out.acorn";
  Result r = Convert(dir + " --random-weights --quiet --dtype q8_0 --context 16777216 -o " + out);
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("one-step check was skipped"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("more than this machine"), std::string::npos) << r.output;
  EXPECT_TRUE(std::ifstream(out).good());
}

TEST(ConvertHostile, BundleTheLoaderRefusesIsNotWritten) {
  // A graph whose op lacks an input: the writer accepts it, the loader does not.
  const std::string dir = MakeDir("load_refused", Llama(""));
  acorn::BundleWriter writer;
  auto tokens = writer.AddTensor("tokens", acorn::DType::kI32, {acorn::kTokensDim}, acorn::Storage::kInput);
  auto logits = writer.AddTensor("logits", acorn::DType::kF32, {acorn::kTokensDim, 4}, acorn::Storage::kOutput);
  ASSERT_TRUE(tokens.ok() && logits.ok());
  ASSERT_TRUE(writer.AddOp(acorn::fb::OpKind::Embedding, {*tokens}, {*logits}).ok());
  const std::string out = dir + "/refused.acorn";
  acorn::Status st = acorn::convert::WriteVerified(&writer, out, /*quiet=*/true);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("fails to load"), std::string::npos) << st.message();
  EXPECT_FALSE(std::ifstream(out).good());
}

TEST(ConvertHostile, BundleWithNanLogitsIsNotWritten) {
  const std::string dir = MakeDir("nan_logits", Llama(""));
  acorn::BundleWriter writer;
  writer.SetLimits(4, 4);
  std::vector<float> table(16, std::numeric_limits<float>::quiet_NaN());
  std::vector<uint8_t> bytes(table.size() * 4);
  std::memcpy(bytes.data(), table.data(), bytes.size());
  auto tokens = writer.AddTensor("tokens", acorn::DType::kI32, {acorn::kTokensDim}, acorn::Storage::kInput);
  auto embed = writer.AddConstant("token_embd", acorn::DType::kF32, {4, 4}, bytes);
  auto logits = writer.AddTensor("logits", acorn::DType::kF32, {acorn::kTokensDim, 4}, acorn::Storage::kOutput);
  ASSERT_TRUE(tokens.ok() && embed.ok() && logits.ok());
  ASSERT_TRUE(writer.AddOp(acorn::fb::OpKind::Embedding, {*embed, *tokens}, {*logits}).ok());
  const std::string out = dir + "/nan.acorn";
  acorn::Status st = acorn::convert::WriteVerified(&writer, out, /*quiet=*/true);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("NaN"), std::string::npos) << st.message();
  EXPECT_FALSE(std::ifstream(out).good());
}

}  // namespace
