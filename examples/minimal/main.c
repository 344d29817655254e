/* minimal: the C API in a few lines. `minimal MODEL PROMPT` loads a bundle, answers PROMPT with a
 * greedy reply through the bundle's chat template, streaming it to stdout. */
#include <stdio.h>
#include <string.h>

#include "acorn/acorn.h"

static int print_piece(const char* piece, size_t len, void* user) {
  (void)user;
  fwrite(piece, 1, len, stdout);
  fflush(stdout);
  return 0; /* nonzero would stop the reply */
}

static int fail(const char* what, acorn_error* err) {
  fprintf(stderr, "minimal: %s: %s (%s)\n", what, acorn_error_message(err),
          acorn_status_name(acorn_error_code(err)));
  acorn_error_free(err);
  return 1;
}

int main(int argc, char** argv) {
  acorn_model* model = NULL;
  acorn_chat* chat = NULL;
  acorn_error* err = NULL;
  acorn_generate_options options;
  int rc = 0;
  if (argc != 3) {
    fprintf(stderr, "usage: %s MODEL PROMPT\n(acorn %s)\n", argv[0], acorn_version());
    return 2;
  }
  if (acorn_model_load(argv[1], NULL, &model, &err) != ACORN_OK) return fail("load", err);

  acorn_generate_options_init(&options); /* greedy: temperature 0 */
  options.max_tokens = 128;
  if (acorn_chat_create(model, NULL, NULL, &options, &chat, &err) != ACORN_OK) {
    rc = fail("chat", err);
  } else if (acorn_chat_reply(chat, argv[2], print_piece, NULL, NULL, &err) != ACORN_OK) {
    rc = fail("reply", err);
  } else {
    putchar('\n');
  }
  acorn_chat_free(chat);
  acorn_model_free(model);
  return rc;
}
