/* firmware: acorn on a board with no operating system. The model bundle is linked into the image
 * (model_blob.S) and loaded in place; the session lives in a static arena, so that after loading
 * nothing comes from the heap; the reply is generated greedily and printed on the board's UART.
 * The same file runs on the build machine (boards/host), which is how scripts/firmware/test.sh
 * checks the board's text. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "acorn/acorn.h"
#include "board.h"

#ifndef ACORN_FIRMWARE_PROMPT
#define ACORN_FIRMWARE_PROMPT "What are the days of the week?"
#endif
#ifndef ACORN_FIRMWARE_MAX_TOKENS
#define ACORN_FIRMWARE_MAX_TOKENS 48
#endif
#ifndef ACORN_FIRMWARE_ARENA_BYTES
#define ACORN_FIRMWARE_ARENA_BYTES (8u << 20)
#endif

extern const unsigned char acorn_model_bundle[];
extern const unsigned char acorn_model_bundle_end[];

/* The session's memory: the KV cache, activations and kernel scratch. */
static unsigned char g_arena[ACORN_FIRMWARE_ARENA_BYTES] __attribute__((aligned(64)));

static void print(const char* text) { board_write(text, strlen(text)); }

/* The heap the C library holds, where the board knows it (not on the host, whose text is compared
 * with the board's without these lines). */
static void print_heap(const char* when) {
  char line[96];
  const size_t bytes = board_heap_bytes();
  if (bytes == 0) return;
  snprintf(line, sizeof line, "[heap %s: %lu bytes]\n", when, (unsigned long)bytes);
  print(line);
}

static int on_text(const char* piece, size_t len, void* user) {
  (void)user;
  board_write(piece, len);
  return 0;
}

static void fail(const char* what, acorn_error* err) {
  char line[320];
  snprintf(line, sizeof line, "\nacorn-firmware: %s: %s (%s)\n", what, acorn_error_message(err),
           acorn_status_name(acorn_error_code(err)));
  print(line);
  acorn_error_free(err);
  board_exit(1);
}

int main(void) {
  acorn_model* model = NULL;
  acorn_chat* chat = NULL;
  acorn_error* err = NULL;
  acorn_model_options model_options;
  acorn_session_options session_options;
  acorn_generate_options options;
  acorn_generate_stats stats;
  char line[200];
  const size_t bundle_bytes = (size_t)(acorn_model_bundle_end - acorn_model_bundle);

  board_init();
  snprintf(line, sizeof line, "acorn-firmware %s: model %lu bytes at %p\n", acorn_version(),
           (unsigned long)bundle_bytes, (const void*)acorn_model_bundle);
  print(line);

  acorn_model_options_init(&model_options);
  model_options.threads = 1;
  if (acorn_model_load_from_memory(acorn_model_bundle, bundle_bytes, &model_options, &model, &err) != ACORN_OK) {
    fail("load", err);
  }
  print_heap("after load");
  const size_t need = acorn_session_arena_bytes(model, 1);
  snprintf(line, sizeof line, "arena %lu of %lu bytes\n", (unsigned long)need, (unsigned long)sizeof g_arena);
  print(line);

  acorn_session_options_init(&session_options);
  session_options.threads = 1;
  session_options.arena = g_arena;
  session_options.arena_bytes = sizeof g_arena;
  acorn_generate_options_init(&options); /* greedy */
  options.max_tokens = ACORN_FIRMWARE_MAX_TOKENS;
  if (acorn_chat_create(model, NULL, &session_options, &options, &chat, &err) != ACORN_OK) fail("chat", err);

  print("> " ACORN_FIRMWARE_PROMPT "\n<reply>");
  memset(&stats, 0, sizeof stats);
  stats.struct_size = sizeof stats;
  const uint64_t t0 = board_cycles();
  if (acorn_chat_reply(chat, ACORN_FIRMWARE_PROMPT, on_text, NULL, &stats, &err) != ACORN_OK) fail("reply", err);
  const uint64_t t1 = board_cycles();
  print("</reply>\n");
  snprintf(line, sizeof line, "prompt %ld tokens, generated %ld tokens", (long)stats.prompt_tokens,
           (long)stats.generated_tokens);
  print(line);
  if (t1 != t0) { /* boards without a counter (and emulators) report none */
    snprintf(line, sizeof line, ", %lu kcycles", (unsigned long)((t1 - t0) / 1000u));
    print(line);
  }
  print("\n");
  print_heap("after the reply");

  acorn_chat_free(chat);
  acorn_model_free(model);
  board_exit(0);
}
