/* acorn.h: the stable C API of acorn (C11; no C++ in this header).
 *
 * Handles are opaque: acorn_model (a loaded bundle, immutable, shared by many sessions on many
 * threads), acorn_session (one conversation's state; one thread at a time), acorn_chat (a
 * multi-turn conversation with the bundle's chat template; owns its own session).
 *
 * Errors: every fallible call returns an acorn_status. When `err` is not NULL and the call fails,
 * *err receives a new acorn_error (code and message) that the caller frees with
 * acorn_error_free(); on success *err is set to NULL. There is no global error state.
 *
 * Options structs start with `struct_size`: fill them with the matching *_init() macro, which
 * passes sizeof(struct) as this program was compiled to the library; the library writes only that
 * many bytes (its defaults) and reads only the fields struct_size covers, so that a program built
 * against an older header keeps working with a newer library. See docs/API.md for ownership,
 * threads and ABI rules.
 */
#ifndef ACORN_ACORN_H_
#define ACORN_ACORN_H_

#include <stddef.h>
#include <stdint.h>

#include "acorn/version.h" /* ACORN_VERSION_MAJOR, _MINOR, _PATCH, _STRING */

#ifdef __cplusplus
extern "C" {
#endif

/* "MAJOR.MINOR.PATCH" of the library actually linked (may be newer than the header). */
const char* acorn_version(void);

/* Mirrors acorn::ErrorCode. Values only ever grow. */
typedef enum acorn_status {
  ACORN_OK = 0,
  ACORN_INVALID_ARGUMENT = 1, /* the caller passed something wrong */
  ACORN_NOT_FOUND = 2,        /* a file, tensor or key that does not exist */
  ACORN_MALFORMED = 3,        /* a bundle or input that breaks the format */
  ACORN_UNSUPPORTED = 4,      /* valid, but not something this build can do */
  ACORN_OUT_OF_RANGE = 5,     /* beyond the context; a caller buffer too small */
  ACORN_OUT_OF_MEMORY = 6,
  ACORN_IO = 7,               /* the operating system refused (open, map, read) */
  ACORN_BACKEND = 8,          /* an accelerator reported an error */
  ACORN_INTERNAL = 9
} acorn_status;

/* A constant name for a status ("ok", "invalid argument", ...). */
const char* acorn_status_name(acorn_status status);

typedef struct acorn_error acorn_error;
acorn_status acorn_error_code(const acorn_error* err);
/* Valid until acorn_error_free(err). */
const char* acorn_error_message(const acorn_error* err);
void acorn_error_free(acorn_error* err); /* NULL is fine */

typedef struct acorn_model acorn_model;
typedef struct acorn_session acorn_session;
typedef struct acorn_chat acorn_chat;

/* ---- Models ---------------------------------------------------------------------------------- */

typedef enum acorn_load_mode {
  ACORN_LOAD_MMAP = 0, /* map the file; weights are used in place (default) */
  ACORN_LOAD_READ = 1  /* read the file into memory */
} acorn_load_mode;

typedef struct acorn_model_options {
  size_t struct_size;
  const char* backends;      /* preference list, e.g. "cuda,cpu"; NULL: "cpu" */
  int threads;               /* default CPU threads of sessions made from this model; 0: all */
  acorn_load_mode load_mode; /* acorn_model_load only */
  /* 1 (default): where this CPU's kernels read q8_0/q4_0/q4_1/q5_0/q5_1/Q4_K/Q5_K/Q6_K matrices faster
   * in another layout (16-row panels: AVX-512, AVX2, ARM dotprod), copy them into it at load
   * (memory and load time for speed); 0: every kernel reads the bundle in place (zero copy). */
  int cpu_repack;
  /* 1: on CPUs with AMX-BF16, multiply f32/f16 matrices in bf16 (copied at load; activations rounded
   * to bf16, sums in f32): prompts and embeddings several times faster at 8 significant bits per
   * factor (acorn::ModelOptions::cpu_bf16_products). 0 (default): f32 products. */
  int cpu_bf16_products;
} acorn_model_options;

void acorn_model_options_init_sized(acorn_model_options* options, size_t size);
#define acorn_model_options_init(options) acorn_model_options_init_sized((options), sizeof(*(options)))

/* options may be NULL (defaults). On success *out owns a model; free it with acorn_model_free. */
acorn_status acorn_model_load(const char* path, const acorn_model_options* options, acorn_model** out,
                              acorn_error** err);
/* Loads from the caller's memory (weights in flash, a downloaded buffer). The buffer is never
 * written and must stay valid and unchanged until the model (and everything made from it) is freed. */
acorn_status acorn_model_load_from_memory(const void* data, size_t size, const acorn_model_options* options,
                                          acorn_model** out, acorn_error** err);
/* Frees the caller's reference; sessions and chats made from the model keep it alive. NULL is fine. */
void acorn_model_free(acorn_model* model);

int64_t acorn_model_context_length(const acorn_model* model);
/* Vocabulary size of the tokenizer, or 0 when the bundle has none. */
int64_t acorn_model_vocab_size(const acorn_model* model);

/* ---- Tokenizer ------------------------------------------------------------------------------- */

/* Encodes `len` bytes of UTF-8 text. *n_ids always receives the number of ids the text makes; if
 * `capacity` is smaller, nothing is written and ACORN_OUT_OF_RANGE is returned (ids = NULL with
 * capacity = 0 asks for the count and returns ACORN_OK). */
acorn_status acorn_tokenize(const acorn_model* model, const char* text, size_t len, int add_special_tokens,
                            int32_t* ids, size_t capacity, size_t* n_ids, acorn_error** err);
/* Decodes ids into `text` (NUL-terminated). *n_text receives the length without the NUL; if
 * capacity < *n_text + 1, nothing is written and ACORN_OUT_OF_RANGE is returned (text = NULL with
 * capacity = 0 asks for the length and returns ACORN_OK). */
acorn_status acorn_detokenize(const acorn_model* model, const int32_t* ids, size_t n_ids, int skip_special_tokens,
                              char* text, size_t capacity, size_t* n_text, acorn_error** err);

/* ---- Sessions -------------------------------------------------------------------------------- */

typedef struct acorn_session_options {
  size_t struct_size;
  int threads;        /* 0: the model's default */
  void* arena;        /* the caller's memory for the session (64-byte aligned), or NULL to allocate */
  size_t arena_bytes; /* its size: at least acorn_session_arena_bytes(model, threads) */
} acorn_session_options;

void acorn_session_options_init_sized(acorn_session_options* options, size_t size);
#define acorn_session_options_init(options) acorn_session_options_init_sized((options), sizeof(*(options)))
/* The memory a session with `threads` threads (0: the model's default) needs as its arena: the
 * KV cache, the activations and the kernels' scratch. A session in the caller's arena allocates
 * nothing more while it runs. */
size_t acorn_session_arena_bytes(const acorn_model* model, int threads);

acorn_status acorn_session_create(const acorn_model* model, const acorn_session_options* options,
                                  acorn_session** out, acorn_error** err);
void acorn_session_free(acorn_session* session); /* NULL is fine */
/* Forgets the conversation: position 0. */
void acorn_session_reset(acorn_session* session);
/* Tokens the session holds (its position in the context). */
int64_t acorn_session_position(const acorn_session* session);

/* ---- Generation ------------------------------------------------------------------------------ */

/* Receives each new piece of UTF-8 text (not NUL-terminated); return nonzero to stop generating. */
typedef int (*acorn_text_callback)(const char* piece, size_t len, void* user);

typedef struct acorn_generate_options {
  size_t struct_size;
  int max_tokens;           /* new tokens at most (default 256) */
  float temperature;        /* 0: greedy (default) */
  int top_k;                /* 0: off (default 40) */
  float top_p;              /* 1: off (default 0.95) */
  float min_p;              /* 0: off (default 0.05) */
  float repeat_penalty;     /* 1: off (default) */
  int repeat_last_n;        /* tokens the penalty looks back over (default 64) */
  uint64_t seed;            /* same seed, same tokens on every platform (default 0) */
  int add_special_tokens;   /* acorn_generate: add the tokenizer's BOS etc. to the prompt (default 1) */
} acorn_generate_options;

void acorn_generate_options_init_sized(acorn_generate_options* options, size_t size);
#define acorn_generate_options_init(options) acorn_generate_options_init_sized((options), sizeof(*(options)))

typedef enum acorn_stop_reason {
  ACORN_STOP_TOKEN = 0,    /* end of sequence / end of turn */
  ACORN_STOP_STRING = 1,
  ACORN_STOP_MAX_TOKENS = 2,
  ACORN_STOP_CONTEXT_FULL = 3,
  ACORN_STOP_CANCELLED = 4 /* the callback returned nonzero */
} acorn_stop_reason;

typedef struct acorn_generate_stats {
  size_t struct_size; /* set by the caller (sizeof); the library fills what fits */
  int64_t prompt_tokens;
  int64_t generated_tokens;
  double prefill_ms;
  double decode_ms;
  acorn_stop_reason stop_reason;
} acorn_generate_stats;

/* Tokenizes `prompt` (len bytes), runs it from the session's current position and samples until
 * the bundle's end-of-sequence token, max_tokens, a full context, or the callback's word. options,
 * on_text and stats may be NULL. No chat template is applied (acorn_chat does that). */
acorn_status acorn_generate(acorn_session* session, const char* prompt, size_t len,
                            const acorn_generate_options* options, acorn_text_callback on_text, void* user,
                            acorn_generate_stats* stats, acorn_error** err);

/* ---- Chat ------------------------------------------------------------------------------------ */

/* A conversation with the bundle's chat template; it owns its own session. system_prompt,
 * session_options and options may be NULL. */
acorn_status acorn_chat_create(const acorn_model* model, const char* system_prompt,
                               const acorn_session_options* session_options, const acorn_generate_options* options,
                               acorn_chat** out, acorn_error** err);
void acorn_chat_free(acorn_chat* chat); /* NULL is fine */
/* Forgets everything but the system prompt. */
void acorn_chat_reset(acorn_chat* chat);
/* Adds the user's message (NUL-terminated), streams the assistant's reply and keeps it in the
 * conversation. on_text and stats may be NULL. */
acorn_status acorn_chat_reply(acorn_chat* chat, const char* user_message, acorn_text_callback on_text, void* user,
                              acorn_generate_stats* stats, acorn_error** err);
/* Adds a message without generating (role "user" or "assistant", content NUL-terminated): restores a
 * saved conversation. The next acorn_chat_reply continues from it. */
acorn_status acorn_chat_add_message(acorn_chat* chat, const char* role, const char* content, acorn_error** err);
/* Messages in the conversation (system prompt, user turns and replies). */
size_t acorn_chat_message_count(const acorn_chat* chat);

/* ---- Embeddings (encoder bundles: BERT family) ----------------------------------------------- */

/* The pooled sentence embedding of `text` (normalized when the bundle says so). *n_floats always
 * receives the embedding size; if capacity is smaller, nothing is written and ACORN_OUT_OF_RANGE is
 * returned (embedding = NULL with capacity = 0 asks for the size and returns ACORN_OK). Fails with ACORN_UNSUPPORTED on a decoder bundle. Each call uses its own working memory,
 * so calls on one model may run on several threads. */
acorn_status acorn_embed(const acorn_model* model, const char* text, size_t len, float* embedding, size_t capacity,
                         size_t* n_floats, acorn_error** err);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* ACORN_ACORN_H_ */
