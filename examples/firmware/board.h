/* The board interface of the firmware example: the few things firmware_main.c needs from the
 * hardware. Each board (boards/<name>/) implements it; boards/host runs the same program on the
 * build machine, so that its output can be compared with the emulated board's byte for byte. */
#ifndef ACORN_FIRMWARE_BOARD_H_
#define ACORN_FIRMWARE_BOARD_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Brings up what the program needs (the UART). Called first. */
void board_init(void);
/* Writes bytes to the console (the board's UART). */
void board_write(const char* text, size_t len);
/* A cycle or time counter for the report, 0 where the board has none. */
uint64_t board_cycles(void);
/* Bytes of heap the C library has taken from the board so far (its high-water mark), 0 where
 * unknown. */
size_t board_heap_bytes(void);
/* Ends the program; on an emulated board this also ends the emulator with `code`. */
void board_exit(int code) __attribute__((noreturn));

#ifdef __cplusplus
}
#endif

#endif /* ACORN_FIRMWARE_BOARD_H_ */
