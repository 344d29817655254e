// The C API (acorn/acorn.h) on the shipped default model: errors with messages, tokenize round
// trips, greedy generation equal to the C++ API's, the stop callback, chat, loading from memory,
// and two sessions of one model on two threads.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "acorn/acorn.h"
#include "acorn/generate.h"

namespace {

std::string DefaultModel() { return std::string(ACORN_MODELS_DIR) + "/acorn-chat-mini.acorn"; }

struct ModelHandle {
  acorn_model* model = nullptr;
  ~ModelHandle() { acorn_model_free(model); }
};

void Load(ModelHandle* h) {
  acorn_model_options options;
  acorn_model_options_init(&options);
  options.threads = 1;
  acorn_error* err = nullptr;
  ASSERT_EQ(acorn_model_load(DefaultModel().c_str(), &options, &h->model, &err), ACORN_OK) << acorn_error_message(err);
  EXPECT_EQ(err, nullptr);
  ASSERT_NE(h->model, nullptr);
}

int Collect(const char* piece, size_t len, void* user) {
  static_cast<std::string*>(user)->append(piece, len);
  return 0;
}

int StopAfterFirst(const char* piece, size_t len, void* user) {
  static_cast<std::string*>(user)->append(piece, len);
  return 1;
}

const char* kPrompt = "The capital of France is";

std::string GenerateC(acorn_session* session, int max_tokens, acorn_generate_stats* stats) {
  acorn_generate_options options;
  acorn_generate_options_init(&options);
  options.max_tokens = max_tokens;
  std::string text;
  acorn_error* err = nullptr;
  EXPECT_EQ(acorn_generate(session, kPrompt, std::strlen(kPrompt), &options, Collect, &text, stats, &err), ACORN_OK)
      << acorn_error_message(err);
  acorn_error_free(err);
  return text;
}

TEST(CApi, Version) {
  EXPECT_EQ(std::string(acorn_version()), std::to_string(ACORN_VERSION_MAJOR) + "." +
                                              std::to_string(ACORN_VERSION_MINOR) + "." +
                                              std::to_string(ACORN_VERSION_PATCH));
  EXPECT_STREQ(acorn_status_name(ACORN_NOT_FOUND), "not found");
}

TEST(CApi, LoadFailureNamesThePath) {
  const std::string path = "/nonexistent/dir/missing-model.acorn";
  acorn_model* model = reinterpret_cast<acorn_model*>(1);
  acorn_error* err = nullptr;
  const acorn_status st = acorn_model_load(path.c_str(), nullptr, &model, &err);
  EXPECT_NE(st, ACORN_OK);
  EXPECT_EQ(model, nullptr);
  ASSERT_NE(err, nullptr);
  EXPECT_EQ(acorn_error_code(err), st);
  EXPECT_NE(std::string(acorn_error_message(err)).find(path), std::string::npos) << acorn_error_message(err);
  acorn_error_free(err);
  // No err out-parameter: still a code.
  EXPECT_NE(acorn_model_load(path.c_str(), nullptr, &model, nullptr), ACORN_OK);

  acorn_model_options options;
  acorn_model_options_init(&options);
  options.backends = "tpu";
  EXPECT_EQ(acorn_model_load(DefaultModel().c_str(), &options, &model, &err), ACORN_INVALID_ARGUMENT);
  ASSERT_NE(err, nullptr);
  EXPECT_NE(std::string(acorn_error_message(err)).find("tpu"), std::string::npos) << acorn_error_message(err);
  acorn_error_free(err);
}

TEST(CApi, TokenizeRoundTrip) {
  ModelHandle h;
  ASSERT_NO_FATAL_FAILURE(Load(&h));
  EXPECT_GT(acorn_model_vocab_size(h.model), 0);
  const std::string text = "Hello, world! Acorns grow into oaks.";
  size_t n = 0;
  ASSERT_EQ(acorn_tokenize(h.model, text.data(), text.size(), 0, nullptr, 0, &n, nullptr), ACORN_OK);
  ASSERT_GT(n, 1u);
  std::vector<int32_t> ids(n);
  size_t small = 0;
  acorn_error* err = nullptr;
  EXPECT_EQ(acorn_tokenize(h.model, text.data(), text.size(), 0, ids.data(), 1, &small, &err), ACORN_OUT_OF_RANGE);
  EXPECT_EQ(small, n);
  EXPECT_NE(err, nullptr);
  acorn_error_free(err);
  ASSERT_EQ(acorn_tokenize(h.model, text.data(), text.size(), 0, ids.data(), ids.size(), &n, nullptr), ACORN_OK);
  EXPECT_EQ(n, ids.size());

  size_t len = 0;
  ASSERT_EQ(acorn_detokenize(h.model, ids.data(), ids.size(), 0, nullptr, 0, &len, nullptr), ACORN_OK);
  std::vector<char> buf(len + 1);
  EXPECT_EQ(acorn_detokenize(h.model, ids.data(), ids.size(), 0, buf.data(), len, &len, nullptr), ACORN_OUT_OF_RANGE);
  ASSERT_EQ(acorn_detokenize(h.model, ids.data(), ids.size(), 0, buf.data(), buf.size(), &len, nullptr), ACORN_OK);
  EXPECT_EQ(std::string(buf.data(), len), text);

  const int32_t bad = -5;
  EXPECT_EQ(acorn_detokenize(h.model, &bad, 1, 0, buf.data(), buf.size(), &len, nullptr), ACORN_INVALID_ARGUMENT);
}

TEST(CApi, GreedyGenerationMatchesCpp) {
  constexpr int kMax = 24;
  // The C++ API, as an application would call it.
  auto model = acorn::Model::Load(DefaultModel().c_str());
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  auto session = acorn::Session::Create(*model);
  ASSERT_TRUE(session.ok());
  const acorn::Tokenizer* tok = (*model)->tokenizer();
  acorn::GenerateOptions o;
  o.max_new_tokens = kMax;
  int64_t eos = -1;
  if ((*model)->bundle().GetInt("tokenizer.eos_token_id", &eos) && eos >= 0) o.stop_ids.push_back(static_cast<int32_t>(eos));
  acorn::Sampler greedy;
  acorn::GenerateResult expected;
  ASSERT_TRUE(acorn::Generate(**session, *tok, tok->Encode(kPrompt, true), o, greedy, nullptr, &expected).ok());
  ASSERT_FALSE(expected.text.empty());

  ModelHandle h;
  ASSERT_NO_FATAL_FAILURE(Load(&h));
  acorn_session* s = nullptr;
  ASSERT_EQ(acorn_session_create(h.model, nullptr, &s, nullptr), ACORN_OK);
  acorn_generate_stats stats;
  stats.struct_size = sizeof stats;
  EXPECT_EQ(GenerateC(s, kMax, &stats), expected.text);
  EXPECT_EQ(stats.generated_tokens, static_cast<int64_t>(expected.tokens.size()));
  EXPECT_EQ(static_cast<int>(stats.stop_reason), static_cast<int>(expected.reason));
  EXPECT_GT(acorn_session_position(s), 0);
  acorn_session_reset(s);
  EXPECT_EQ(acorn_session_position(s), 0);
  // Same again after a reset; and with an older caller's smaller options struct (defaults fill in).
  EXPECT_EQ(GenerateC(s, kMax, nullptr), expected.text);
  acorn_session_reset(s);
  acorn_generate_options old;
  acorn_generate_options_init(&old);
  old.max_tokens = kMax;
  old.struct_size = offsetof(acorn_generate_options, add_special_tokens);
  std::string text;
  ASSERT_EQ(acorn_generate(s, kPrompt, std::strlen(kPrompt), &old, Collect, &text, nullptr, nullptr), ACORN_OK);
  EXPECT_EQ(text, expected.text);
  acorn_session_free(s);
}

// cpu_repack = 0 reads the bundle in place; the default-on repack (where this CPU has panel
// kernels) gives the same greedy text.
TEST(CApi, RepackOptionDefaultsOnAndCanBeTurnedOff) {
  acorn_model_options options;
  acorn_model_options_init(&options);
  EXPECT_EQ(options.cpu_repack, 1);
  std::string texts[2];
  for (int repack = 0; repack < 2; ++repack) {
    options.cpu_repack = repack;
    acorn_model* model = nullptr;
    ASSERT_EQ(acorn_model_load(DefaultModel().c_str(), &options, &model, nullptr), ACORN_OK);
    acorn_session* s = nullptr;
    ASSERT_EQ(acorn_session_create(model, nullptr, &s, nullptr), ACORN_OK);
    texts[repack] = GenerateC(s, 12, nullptr);
    acorn_session_free(s);
    acorn_model_free(model);
  }
  EXPECT_FALSE(texts[0].empty());
  EXPECT_EQ(texts[0], texts[1]);
}

// cpu_bf16_products is off by default; on, the model loads and generates (its f32/f16 matrices in
// bf16 where the CPU has AMX-BF16; tests/llama checks the logits).
TEST(CApi, Bf16ProductsOptionDefaultsOff) {
  acorn_model_options options;
  acorn_model_options_init(&options);
  EXPECT_EQ(options.cpu_bf16_products, 0);
  options.cpu_bf16_products = 1;
  acorn_model* model = nullptr;
  ASSERT_EQ(acorn_model_load(DefaultModel().c_str(), &options, &model, nullptr), ACORN_OK);
  acorn_session* s = nullptr;
  ASSERT_EQ(acorn_session_create(model, nullptr, &s, nullptr), ACORN_OK);
  EXPECT_FALSE(GenerateC(s, 4, nullptr).empty());
  acorn_session_free(s);
  acorn_model_free(model);
}

TEST(CApi, CallbackStopsGeneration) {
  ModelHandle h;
  ASSERT_NO_FATAL_FAILURE(Load(&h));
  acorn_session* s = nullptr;
  ASSERT_EQ(acorn_session_create(h.model, nullptr, &s, nullptr), ACORN_OK);
  acorn_generate_options options;
  acorn_generate_options_init(&options);
  options.max_tokens = 64;
  std::string text;
  acorn_generate_stats stats;
  stats.struct_size = sizeof stats;
  ASSERT_EQ(acorn_generate(s, kPrompt, std::strlen(kPrompt), &options, StopAfterFirst, &text, &stats, nullptr), ACORN_OK);
  EXPECT_EQ(stats.stop_reason, ACORN_STOP_CANCELLED);
  EXPECT_FALSE(text.empty());
  EXPECT_LT(stats.generated_tokens, 64);
  acorn_session_free(s);
}

TEST(CApi, ChatReply) {
  ModelHandle h;
  ASSERT_NO_FATAL_FAILURE(Load(&h));
  acorn_generate_options options;
  acorn_generate_options_init(&options);
  options.max_tokens = 32;
  acorn_chat* chat = nullptr;
  acorn_error* err = nullptr;
  ASSERT_EQ(acorn_chat_create(h.model, nullptr, nullptr, &options, &chat, &err), ACORN_OK) << acorn_error_message(err);
  std::string reply;
  acorn_generate_stats stats;
  stats.struct_size = sizeof stats;
  ASSERT_EQ(acorn_chat_reply(chat, "Hi! What is an acorn?", Collect, &reply, &stats, &err), ACORN_OK)
      << acorn_error_message(err);
  EXPECT_FALSE(reply.empty());
  EXPECT_GT(stats.prompt_tokens, 0);
  EXPECT_EQ(acorn_chat_message_count(chat), 2u);
  // The model may be freed first: the chat keeps it alive.
  acorn_model_free(h.model);
  h.model = nullptr;
  std::string second;
  EXPECT_EQ(acorn_chat_reply(chat, "Thanks.", Collect, &second, nullptr, nullptr), ACORN_OK);
  EXPECT_EQ(acorn_chat_message_count(chat), 4u);
  acorn_chat_reset(chat);
  EXPECT_EQ(acorn_chat_message_count(chat), 0u);
  acorn_chat_free(chat);
}

// A conversation restored with acorn_chat_add_message continues exactly as the live one did
// (greedy): the same reply to the same next message.
TEST(CApi, ChatRestoredFromMessagesContinuesTheSame) {
  ModelHandle h;
  ASSERT_NO_FATAL_FAILURE(Load(&h));
  acorn_generate_options options;
  acorn_generate_options_init(&options);
  options.max_tokens = 32;
  acorn_chat* live = nullptr;
  acorn_chat* restored = nullptr;
  acorn_error* err = nullptr;
  ASSERT_EQ(acorn_chat_create(h.model, nullptr, nullptr, &options, &live, &err), ACORN_OK) << acorn_error_message(err);
  ASSERT_EQ(acorn_chat_create(h.model, nullptr, nullptr, &options, &restored, &err), ACORN_OK);
  std::string first, live_second, restored_second;
  ASSERT_EQ(acorn_chat_reply(live, "What is 2 plus 3?", Collect, &first, nullptr, &err), ACORN_OK);
  ASSERT_EQ(acorn_chat_reply(live, "And 4 plus 4?", Collect, &live_second, nullptr, &err), ACORN_OK);

  ASSERT_EQ(acorn_chat_add_message(restored, "user", "What is 2 plus 3?", &err), ACORN_OK) << acorn_error_message(err);
  ASSERT_EQ(acorn_chat_add_message(restored, "assistant", first.c_str(), &err), ACORN_OK) << acorn_error_message(err);
  EXPECT_EQ(acorn_chat_message_count(restored), 2u);
  ASSERT_EQ(acorn_chat_reply(restored, "And 4 plus 4?", Collect, &restored_second, nullptr, &err), ACORN_OK);
  EXPECT_EQ(restored_second, live_second);
  EXPECT_EQ(acorn_chat_message_count(restored), 4u);

  // Only user and assistant turns; the error says what is allowed and nothing is added.
  EXPECT_EQ(acorn_chat_add_message(restored, "system", "x", &err), ACORN_INVALID_ARGUMENT);
  ASSERT_NE(err, nullptr);
  EXPECT_NE(std::string(acorn_error_message(err)).find("\"user\" or \"assistant\""), std::string::npos)
      << acorn_error_message(err);
  acorn_error_free(err);
  EXPECT_EQ(acorn_chat_add_message(restored, nullptr, "x", nullptr), ACORN_INVALID_ARGUMENT);
  EXPECT_EQ(acorn_chat_message_count(restored), 4u);
  acorn_chat_free(live);
  acorn_chat_free(restored);
}

TEST(CApi, LoadFromMemoryAndEmbedRefusesDecoder) {
  std::ifstream in(DefaultModel(), std::ios::binary);
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_FALSE(bytes.empty());
  acorn_model* model = nullptr;
  acorn_error* err = nullptr;
  ASSERT_EQ(acorn_model_load_from_memory(bytes.data(), bytes.size(), nullptr, &model, &err), ACORN_OK)
      << acorn_error_message(err);
  EXPECT_GT(acorn_model_context_length(model), 0);
  size_t n = 0;
  EXPECT_EQ(acorn_tokenize(model, "hello", 5, 1, nullptr, 0, &n, nullptr), ACORN_OK);
  EXPECT_GT(n, 0u);
  float e[4];
  EXPECT_NE(acorn_embed(model, "hello", 5, e, 4, &n, &err), ACORN_OK);
  ASSERT_NE(err, nullptr);
  EXPECT_STRNE(acorn_error_message(err), "");
  acorn_error_free(err);
  acorn_model_free(model);

  const char junk[64] = "not a bundle";
  EXPECT_NE(acorn_model_load_from_memory(junk, sizeof junk, nullptr, &model, &err), ACORN_OK);
  EXPECT_EQ(model, nullptr);
  EXPECT_NE(err, nullptr);
  acorn_error_free(err);
}

// A program built against an older acorn.h has smaller options structs: *_init writes only as many
// bytes as it says, and the library reads only the fields that struct_size covers.
TEST(CApi, OlderCallersSmallerStructsAreRespected) {
  ModelHandle h;
  ASSERT_NO_FATAL_FAILURE(Load(&h));
  // The session options of a header without arena/arena_bytes, followed by bytes that must stay.
  const size_t old_size = offsetof(acorn_session_options, arena);
  alignas(acorn_session_options) unsigned char buffer[sizeof(acorn_session_options) + 16];
  std::memset(buffer, 0xAB, sizeof buffer);
  auto* old = reinterpret_cast<acorn_session_options*>(buffer);
  acorn_session_options_init_sized(old, old_size);
  EXPECT_EQ(old->struct_size, old_size);
  for (size_t i = old_size; i < sizeof buffer; ++i) ASSERT_EQ(buffer[i], 0xAB) << "init wrote byte " << i;
  old->threads = 1;
  acorn_session* session = nullptr;
  acorn_error* err = nullptr;
  // 0xAB... where arena would be is never read: the session allocates its own arena.
  ASSERT_EQ(acorn_session_create(h.model, old, &session, &err), ACORN_OK) << acorn_error_message(err);
  acorn_session_free(session);
}

// A session in the caller's memory: acorn_session_arena_bytes is exactly what it needs.
TEST(CApi, SessionInTheCallersArena) {
  ModelHandle h;
  ASSERT_NO_FATAL_FAILURE(Load(&h));
  const size_t need = acorn_session_arena_bytes(h.model, 2);
  ASSERT_GT(need, 0u);
  std::vector<uint8_t> memory(need + 64);
  acorn_session_options so;
  acorn_session_options_init(&so);
  so.threads = 2;
  so.arena = memory.data() + (64 - reinterpret_cast<uintptr_t>(memory.data()) % 64) % 64;
  so.arena_bytes = need - 1;
  acorn_session* session = nullptr;
  acorn_error* err = nullptr;
  EXPECT_EQ(acorn_session_create(h.model, &so, &session, &err), ACORN_OUT_OF_MEMORY);
  ASSERT_NE(err, nullptr);
  EXPECT_NE(std::string(acorn_error_message(err)).find("too small"), std::string::npos) << acorn_error_message(err);
  acorn_error_free(err);
  so.arena_bytes = need;
  ASSERT_EQ(acorn_session_create(h.model, &so, &session, &err), ACORN_OK) << acorn_error_message(err);
  acorn_generate_options options;
  acorn_generate_options_init(&options);
  options.max_tokens = 8;
  std::string text;
  EXPECT_EQ(acorn_generate(session, "Hello", 5, &options, Collect, &text, nullptr, nullptr), ACORN_OK);
  EXPECT_FALSE(text.empty());
  acorn_session_free(session);
}

TEST(CApi, TwoSessionsOnTwoThreads) {
  ModelHandle h;
  ASSERT_NO_FATAL_FAILURE(Load(&h));
  acorn_session* a = nullptr;
  acorn_session* b = nullptr;
  ASSERT_EQ(acorn_session_create(h.model, nullptr, &a, nullptr), ACORN_OK);
  ASSERT_EQ(acorn_session_create(h.model, nullptr, &b, nullptr), ACORN_OK);
  const std::string expected = GenerateC(a, 16, nullptr);
  acorn_session_reset(a);
  std::string ta, tb;
  std::thread t1([&] { ta = GenerateC(a, 16, nullptr); });
  std::thread t2([&] { tb = GenerateC(b, 16, nullptr); });
  t1.join();
  t2.join();
  EXPECT_EQ(ta, expected);
  EXPECT_EQ(tb, expected);
  acorn_session_free(a);
  acorn_session_free(b);
}

}  // namespace
