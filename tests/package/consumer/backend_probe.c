/* backend_probe MODEL BACKENDS: loads MODEL with a backend preference list through the C API and
 * prints "loaded" or the error. An application linking only libacorn reaches the CUDA backend by
 * libacorn loading libacorn_cuda itself; consume_installed.sh checks what this prints. */
#include <stdio.h>

#include "acorn/acorn.h"

int main(int argc, char** argv) {
  acorn_model_options options;
  acorn_model* model = NULL;
  acorn_error* err = NULL;
  if (argc != 3) return 2;
  acorn_model_options_init(&options);
  options.backends = argv[2];
  if (acorn_model_load(argv[1], &options, &model, &err) != ACORN_OK) {
    printf("error: %s\n", acorn_error_message(err));
    acorn_error_free(err);
    return 1;
  }
  printf("loaded\n");
  acorn_model_free(model);
  return 0;
}
