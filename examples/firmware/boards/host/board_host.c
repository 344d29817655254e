/* The board interface (board.h) on the build machine: the console is standard output. The
 * firmware program runs here unchanged, which gives the text the emulated board must print. No
 * cycle counter (host speed is what acorn-bench measures) and no heap figure. */
#include <stdio.h>
#include <stdlib.h>

#include "board.h"

void board_init(void) {}

void board_write(const char* text, size_t len) {
  fwrite(text, 1, len, stdout);
  fflush(stdout);
}

uint64_t board_cycles(void) { return 0; }

size_t board_heap_bytes(void) { return 0; }

void board_exit(int code) { exit(code); }
