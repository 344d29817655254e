// The C API (acorn/acorn.h) over the C++ one: handles hold the C++ objects, every Status becomes a
// code and, when the caller asked, an acorn_error that carries its message. No global mutable state.
#include "acorn/acorn.h"

#include <cinttypes>
#include <cstddef>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "acorn/chat.h"
#include "acorn/encoder.h"
#include "acorn/generate.h"
#include "acorn/model.h"

struct acorn_error {
  acorn_status code;
  std::string message;
};

struct acorn_model {
  std::shared_ptr<const acorn::Model> model;
  int threads = 0;
};

struct acorn_session {
  std::unique_ptr<acorn::Session> session;
};

struct acorn_chat {
  std::unique_ptr<acorn::Chat> chat;
};

namespace {

static_assert(static_cast<int>(acorn::ErrorCode::kInternal) == ACORN_INTERNAL, "acorn_status mirrors ErrorCode");
static_assert(static_cast<int>(acorn::StopReason::kCancelled) == ACORN_STOP_CANCELLED, "stop reasons mirror");

// Whether a caller's struct (of struct_size bytes) reaches `field`: older callers pass smaller structs.
#define ACORN_HAS_FIELD(opts, type, field) \
  ((opts) != nullptr && (opts)->struct_size >= offsetof(type, field) + sizeof(((type*)nullptr)->field))

acorn_status Fail(acorn_error** err, acorn_status code, std::string message) {
  if (err != nullptr) *err = new (std::nothrow) acorn_error{code, std::move(message)};
  return code;
}

acorn_status Fail(acorn_error** err, const acorn::Status& status) {
  return Fail(err, static_cast<acorn_status>(status.code()), status.message());
}

// Writes the library's defaults into a caller's options struct of `size` bytes (sizeof as the caller
// was compiled, maybe an older and smaller struct): never past it, and struct_size says how much.
template <typename T>
void FillCallerStruct(T* out, size_t size, T* defaults) {
  if (out == nullptr || size < sizeof(size_t)) return;
  const size_t n = size < sizeof(T) ? size : sizeof(T);
  defaults->struct_size = n;
  std::memcpy(out, defaults, n);
}

acorn_status Ok(acorn_error** err) {
  if (err != nullptr) *err = nullptr;
  return ACORN_OK;
}

acorn::Status ModelOptionsFrom(const acorn_model_options* o, acorn::ModelOptions* options, int* threads) {
  std::string backends = "cpu";
  if (ACORN_HAS_FIELD(o, acorn_model_options, backends) && o->backends != nullptr) backends = o->backends;
  ACORN_RETURN_IF_ERROR(acorn::ParseBackendList(backends, &options->backends));
  if (ACORN_HAS_FIELD(o, acorn_model_options, threads)) *threads = o->threads;
  if (ACORN_HAS_FIELD(o, acorn_model_options, load_mode)) {
    if (o->load_mode != ACORN_LOAD_MMAP && o->load_mode != ACORN_LOAD_READ) {
      return ACORN_ERROR(kInvalidArgument, "unknown load mode %d", static_cast<int>(o->load_mode));
    }
    options->load_mode = o->load_mode == ACORN_LOAD_READ ? acorn::LoadMode::kRead : acorn::LoadMode::kMap;
  }
  if (ACORN_HAS_FIELD(o, acorn_model_options, cpu_repack)) options->cpu_repack = o->cpu_repack != 0;
  if (ACORN_HAS_FIELD(o, acorn_model_options, cpu_bf16_products)) {
    options->cpu_bf16_products = o->cpu_bf16_products != 0;
  }
  return acorn::Status::Ok();
}

acorn::SessionOptions SessionOptionsFrom(const acorn_model* model, const acorn_session_options* o) {
  acorn::SessionOptions options;
  options.threads = model->threads;
  if (ACORN_HAS_FIELD(o, acorn_session_options, threads) && o->threads > 0) options.threads = o->threads;
  if (ACORN_HAS_FIELD(o, acorn_session_options, arena_bytes)) {
    options.arena = o->arena;
    options.arena_bytes = o->arena_bytes;
  }
  return options;
}

acorn::GenerateOptions GenerateOptionsFrom(const acorn_generate_options* o) {
  acorn_generate_options d;
  acorn_generate_options_init(&d);
  // Fields the caller's (older) struct lacks keep the defaults.
  if (o != nullptr) std::memcpy(&d, o, o->struct_size < sizeof d ? o->struct_size : sizeof d);
  acorn::GenerateOptions options;
  options.max_new_tokens = d.max_tokens;
  options.sampler.temperature = d.temperature;
  options.sampler.top_k = d.top_k;
  options.sampler.top_p = d.top_p;
  options.sampler.min_p = d.min_p;
  options.sampler.repetition_penalty = d.repeat_penalty;
  options.sampler.repeat_last_n = d.repeat_last_n;
  options.sampler.seed = d.seed;
  return options;
}

bool AddSpecial(const acorn_generate_options* o) {
  return ACORN_HAS_FIELD(o, acorn_generate_options, add_special_tokens) ? o->add_special_tokens != 0 : true;
}

acorn::StreamCallback Stream(acorn_text_callback on_text, void* user) {
  if (on_text == nullptr) return nullptr;
  return [on_text, user](const std::string& piece) { return on_text(piece.data(), piece.size(), user) == 0; };
}

void FillStats(const acorn::GenerateResult& r, acorn_generate_stats* stats) {
  if (stats == nullptr) return;
  acorn_generate_stats s;
  s.struct_size = stats->struct_size;
  s.prompt_tokens = r.stats.prompt_tokens;
  s.generated_tokens = r.stats.generated_tokens;
  s.prefill_ms = r.stats.prefill_ms;
  s.decode_ms = r.stats.decode_ms;
  s.stop_reason = static_cast<acorn_stop_reason>(r.reason);
  std::memcpy(stats, &s, stats->struct_size < sizeof s ? stats->struct_size : sizeof s);
}

// Puts what a create call made into a new handle H (in its member `held`) for the caller.
template <typename H, typename T>
acorn_status HandOut(acorn::Result<T> made, T H::*held, const char* what, H** out, acorn_error** err) {
  if (!made.ok()) return Fail(err, made.status());
  H* handle = new (std::nothrow) H;
  if (handle == nullptr) return Fail(err, ACORN_OUT_OF_MEMORY, std::string("out of memory for the ") + what + " handle");
  handle->*held = std::move(made).value();
  *out = handle;
  return Ok(err);
}

acorn_status FinishLoad(acorn::Result<std::shared_ptr<const acorn::Model>> loaded, int threads, acorn_model** out,
                        acorn_error** err) {
  const acorn_status st = HandOut(std::move(loaded), &acorn_model::model, "model", out, err);
  if (st == ACORN_OK) (*out)->threads = threads;
  return st;
}

acorn_status NeedTokenizer(const acorn_model* model, acorn_error** err) {
  if (model == nullptr) return Fail(err, ACORN_INVALID_ARGUMENT, "model is NULL");
  if (model->model->tokenizer() == nullptr) {
    return Fail(err, ACORN_UNSUPPORTED, "the bundle has no tokenizer; only token ids can go in");
  }
  return ACORN_OK;
}

}  // namespace

extern "C" {

const char* acorn_version(void) { return ACORN_VERSION_STRING; }

const char* acorn_status_name(acorn_status status) {
  if (status < ACORN_OK || status > ACORN_INTERNAL) return "unknown error";
  return acorn::ErrorCodeName(static_cast<acorn::ErrorCode>(status));
}

acorn_status acorn_error_code(const acorn_error* err) { return err != nullptr ? err->code : ACORN_OK; }
const char* acorn_error_message(const acorn_error* err) { return err != nullptr ? err->message.c_str() : ""; }
void acorn_error_free(acorn_error* err) { delete err; }

void acorn_model_options_init_sized(acorn_model_options* options, size_t size) {
  acorn_model_options d;
  std::memset(&d, 0, sizeof d);
  d.backends = "cpu";
  d.threads = 0;
  d.load_mode = ACORN_LOAD_MMAP;
  d.cpu_repack = 1;
  d.cpu_bf16_products = 0;
  FillCallerStruct(options, size, &d);
}

acorn_status acorn_model_load(const char* path, const acorn_model_options* options, acorn_model** out,
                              acorn_error** err) {
  if (out == nullptr) return Fail(err, ACORN_INVALID_ARGUMENT, "out is NULL");
  *out = nullptr;
  if (path == nullptr) return Fail(err, ACORN_INVALID_ARGUMENT, "path is NULL");
  acorn::ModelOptions model_options;
  int threads = 0;
  acorn::Status st = ModelOptionsFrom(options, &model_options, &threads);
  if (!st.ok()) return Fail(err, st);
  auto loaded = acorn::Model::Load(path, model_options);
  if (!loaded.ok()) {
    const std::string& msg = loaded.status().message();
    // The message always names the file, whatever layer failed.
    const std::string text = msg.find(path) != std::string::npos ? msg : std::string(path) + ": " + msg;
    return Fail(err, static_cast<acorn_status>(loaded.status().code()), text);
  }
  return FinishLoad(std::move(loaded), threads, out, err);
}

acorn_status acorn_model_load_from_memory(const void* data, size_t size, const acorn_model_options* options,
                                          acorn_model** out, acorn_error** err) {
  if (out == nullptr) return Fail(err, ACORN_INVALID_ARGUMENT, "out is NULL");
  *out = nullptr;
  if (data == nullptr || size == 0) return Fail(err, ACORN_INVALID_ARGUMENT, "no model data (NULL or 0 bytes)");
  acorn::ModelOptions model_options;
  int threads = 0;
  acorn::Status st = ModelOptionsFrom(options, &model_options, &threads);
  if (!st.ok()) return Fail(err, st);
  auto bundle = acorn::Bundle::FromBuffer(static_cast<const uint8_t*>(data), size);
  if (!bundle.ok()) return Fail(err, bundle.status());
  return FinishLoad(acorn::Model::FromBundle(std::move(bundle).value(), model_options), threads, out, err);
}

void acorn_model_free(acorn_model* model) { delete model; }

int64_t acorn_model_context_length(const acorn_model* model) {
  return model != nullptr ? model->model->bundle().context_length() : 0;
}

int64_t acorn_model_vocab_size(const acorn_model* model) {
  if (model == nullptr || model->model->tokenizer() == nullptr) return 0;
  return model->model->tokenizer()->vocab_size();
}

acorn_status acorn_tokenize(const acorn_model* model, const char* text, size_t len, int add_special_tokens,
                            int32_t* ids, size_t capacity, size_t* n_ids, acorn_error** err) {
  if (acorn_status s = NeedTokenizer(model, err); s != ACORN_OK) return s;
  if (text == nullptr && len > 0) return Fail(err, ACORN_INVALID_ARGUMENT, "text is NULL");
  if (n_ids == nullptr) return Fail(err, ACORN_INVALID_ARGUMENT, "n_ids is NULL");
  const std::vector<int32_t> out =
      model->model->tokenizer()->Encode(std::string_view(text != nullptr ? text : "", len), add_special_tokens != 0);
  *n_ids = out.size();
  if (ids == nullptr && capacity == 0) return Ok(err);
  if (ids == nullptr || capacity < out.size()) {
    return Fail(err, ACORN_OUT_OF_RANGE,
                acorn::StrFormat("the buffer holds %zu ids; the text makes %zu", capacity, out.size()));
  }
  if (!out.empty()) std::memcpy(ids, out.data(), out.size() * sizeof(int32_t));
  return Ok(err);
}

acorn_status acorn_detokenize(const acorn_model* model, const int32_t* ids, size_t n_ids, int skip_special_tokens,
                              char* text, size_t capacity, size_t* n_text, acorn_error** err) {
  if (acorn_status s = NeedTokenizer(model, err); s != ACORN_OK) return s;
  if (ids == nullptr && n_ids > 0) return Fail(err, ACORN_INVALID_ARGUMENT, "ids is NULL");
  if (n_text == nullptr) return Fail(err, ACORN_INVALID_ARGUMENT, "n_text is NULL");
  const acorn::Tokenizer& tok = *model->model->tokenizer();
  for (size_t i = 0; i < n_ids; ++i) {
    if (ids[i] < 0 || ids[i] >= tok.vocab_size()) {
      return Fail(err, ACORN_INVALID_ARGUMENT,
                  acorn::StrFormat("id %" PRId32 " at index %zu is outside the vocabulary (%" PRId32 ")", ids[i], i,
                                   tok.vocab_size()));
    }
  }
  const std::string out = tok.Decode(acorn::Span<const int32_t>(ids, n_ids), skip_special_tokens != 0);
  *n_text = out.size();
  if (text == nullptr && capacity == 0) return Ok(err);
  if (text == nullptr || capacity < out.size() + 1) {
    return Fail(err, ACORN_OUT_OF_RANGE,
                acorn::StrFormat("the buffer holds %zu bytes; the text needs %zu with its NUL", capacity, out.size() + 1));
  }
  std::memcpy(text, out.c_str(), out.size() + 1);
  return Ok(err);
}

void acorn_session_options_init_sized(acorn_session_options* options, size_t size) {
  acorn_session_options d;
  std::memset(&d, 0, sizeof d);
  FillCallerStruct(options, size, &d);
}

acorn_status acorn_session_create(const acorn_model* model, const acorn_session_options* options,
                                  acorn_session** out, acorn_error** err) {
  if (out == nullptr) return Fail(err, ACORN_INVALID_ARGUMENT, "out is NULL");
  *out = nullptr;
  if (model == nullptr) return Fail(err, ACORN_INVALID_ARGUMENT, "model is NULL");
  return HandOut(acorn::Session::Create(model->model, SessionOptionsFrom(model, options)), &acorn_session::session,
                 "session", out, err);
}

void acorn_session_free(acorn_session* session) { delete session; }

size_t acorn_session_arena_bytes(const acorn_model* model, int threads) {
  if (model == nullptr) return 0;
  return static_cast<size_t>(acorn::Session::ArenaBytes(*model->model, threads > 0 ? threads : model->threads));
}

void acorn_session_reset(acorn_session* session) {
  if (session != nullptr) session->session->Reset();
}

int64_t acorn_session_position(const acorn_session* session) {
  return session != nullptr ? session->session->position() : 0;
}

void acorn_generate_options_init_sized(acorn_generate_options* options, size_t size) {
  acorn_generate_options o;
  std::memset(&o, 0, sizeof o);
  const acorn::GenerateOptions d;
  o.max_tokens = d.max_new_tokens;
  o.temperature = 0.0f;
  o.top_k = d.sampler.top_k;
  o.top_p = d.sampler.top_p;
  o.min_p = d.sampler.min_p;
  o.repeat_penalty = d.sampler.repetition_penalty;
  o.repeat_last_n = d.sampler.repeat_last_n;
  o.seed = d.sampler.seed;
  o.add_special_tokens = 1;
  FillCallerStruct(options, size, &o);
}

acorn_status acorn_generate(acorn_session* session, const char* prompt, size_t len,
                            const acorn_generate_options* options, acorn_text_callback on_text, void* user,
                            acorn_generate_stats* stats, acorn_error** err) {
  if (session == nullptr) return Fail(err, ACORN_INVALID_ARGUMENT, "session is NULL");
  if (prompt == nullptr && len > 0) return Fail(err, ACORN_INVALID_ARGUMENT, "prompt is NULL");
  const acorn::Model& model = session->session->model();
  const acorn::Tokenizer* tok = model.tokenizer();
  if (tok == nullptr) return Fail(err, ACORN_UNSUPPORTED, "the bundle has no tokenizer, so it cannot take text");
  acorn::GenerateOptions o = GenerateOptionsFrom(options);
  int64_t eos = -1;
  if (model.bundle().GetInt("tokenizer.eos_token_id", &eos) && eos >= 0) o.stop_ids.push_back(static_cast<int32_t>(eos));
  const std::vector<int32_t> ids = tok->Encode(std::string_view(prompt != nullptr ? prompt : "", len), AddSpecial(options));
  if (ids.empty()) return Fail(err, ACORN_INVALID_ARGUMENT, "the prompt makes no tokens");
  acorn::Sampler sampler(o.sampler);
  acorn::GenerateResult result;
  acorn::Status st = acorn::Generate(*session->session, *tok, ids, o, sampler, Stream(on_text, user), &result);
  if (!st.ok()) return Fail(err, st);
  FillStats(result, stats);
  return Ok(err);
}

acorn_status acorn_chat_create(const acorn_model* model, const char* system_prompt,
                               const acorn_session_options* session_options, const acorn_generate_options* options,
                               acorn_chat** out, acorn_error** err) {
  if (out == nullptr) return Fail(err, ACORN_INVALID_ARGUMENT, "out is NULL");
  *out = nullptr;
  if (model == nullptr) return Fail(err, ACORN_INVALID_ARGUMENT, "model is NULL");
  acorn::ChatOptions chat_options;
  if (system_prompt != nullptr) chat_options.system_prompt = system_prompt;
  chat_options.generate = GenerateOptionsFrom(options);
  return HandOut(acorn::Chat::Create(model->model, SessionOptionsFrom(model, session_options), chat_options),
                 &acorn_chat::chat, "chat", out, err);
}

void acorn_chat_free(acorn_chat* chat) { delete chat; }

void acorn_chat_reset(acorn_chat* chat) {
  if (chat != nullptr) chat->chat->Reset();
}

acorn_status acorn_chat_reply(acorn_chat* chat, const char* user_message, acorn_text_callback on_text, void* user,
                              acorn_generate_stats* stats, acorn_error** err) {
  if (chat == nullptr) return Fail(err, ACORN_INVALID_ARGUMENT, "chat is NULL");
  if (user_message == nullptr) return Fail(err, ACORN_INVALID_ARGUMENT, "user_message is NULL");
  acorn::GenerateResult result;
  acorn::Status st = chat->chat->Reply(user_message, Stream(on_text, user), &result);
  if (!st.ok()) return Fail(err, st);
  FillStats(result, stats);
  return Ok(err);
}

acorn_status acorn_chat_add_message(acorn_chat* chat, const char* role, const char* content, acorn_error** err) {
  if (chat == nullptr || role == nullptr || content == nullptr) {
    return Fail(err, ACORN_INVALID_ARGUMENT, "chat, role and content must not be NULL");
  }
  const acorn::Status st = chat->chat->AddMessage(role, content);
  return st.ok() ? Ok(err) : Fail(err, st);
}

size_t acorn_chat_message_count(const acorn_chat* chat) {
  return chat != nullptr ? chat->chat->messages().size() : 0;
}

acorn_status acorn_embed(const acorn_model* model, const char* text, size_t len, float* embedding, size_t capacity,
                         size_t* n_floats, acorn_error** err) {
  if (acorn_status s = NeedTokenizer(model, err); s != ACORN_OK) return s;
  if (text == nullptr && len > 0) return Fail(err, ACORN_INVALID_ARGUMENT, "text is NULL");
  if (n_floats == nullptr) return Fail(err, ACORN_INVALID_ARGUMENT, "n_floats is NULL");
  auto encoder = acorn::Encoder::Create(model->model, SessionOptionsFrom(model, nullptr));
  if (!encoder.ok()) return Fail(err, encoder.status());
  *n_floats = static_cast<size_t>((*encoder)->hidden_size());
  if (embedding == nullptr && capacity == 0) return Ok(err);
  if (embedding == nullptr || capacity < *n_floats) {
    return Fail(err, ACORN_OUT_OF_RANGE,
                acorn::StrFormat("the buffer holds %zu floats; the embedding has %zu", capacity, *n_floats));
  }
  const std::vector<int32_t> ids =
      model->model->tokenizer()->Encode(std::string_view(text != nullptr ? text : "", len), true);
  acorn::EncoderInput input;
  input.ids = acorn::Span<const int32_t>(ids.data(), ids.size());
  std::vector<acorn::EncoderOutput> outputs;
  acorn::EncodeOptions encode_options;
  encode_options.hidden_states = false;
  acorn::Status st = (*encoder)->Encode(acorn::Span<const acorn::EncoderInput>(&input, 1), &outputs, encode_options);
  if (!st.ok()) return Fail(err, st);
  if (outputs.size() != 1 || outputs[0].embedding.size() != *n_floats) {
    return Fail(err, ACORN_INTERNAL, "the encoder gave no embedding of the expected size");
  }
  std::memcpy(embedding, outputs[0].embedding.data(), *n_floats * sizeof(float));
  return Ok(err);
}

}  // extern "C"
