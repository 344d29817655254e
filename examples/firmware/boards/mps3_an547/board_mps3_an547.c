/* The board interface (board.h) for the MPS3 AN547: UART0 (a CMSDK APB UART, which QEMU connects
 * to its first serial port), the Cortex-M55's cycle counter (DWT), and the end of the run through
 * semihosting, which QEMU (-semihosting) turns into its own exit status. Also the few system calls
 * newlib needs: the heap (for loading; steps allocate nothing) and console output. */
#include <errno.h>
#include <stdint.h>
#include <sys/stat.h>

#include "board.h"

#define UART0_BASE 0x59303000u /* secure alias of UART0 */
#define UART_DATA (*(volatile uint32_t*)(UART0_BASE + 0x00u))
#define UART_STATE (*(volatile uint32_t*)(UART0_BASE + 0x04u))
#define UART_CTRL (*(volatile uint32_t*)(UART0_BASE + 0x08u))
#define UART_BAUDDIV (*(volatile uint32_t*)(UART0_BASE + 0x10u))
#define UART_STATE_TX_FULL 1u
#define UART_CTRL_TX_EN 1u

#define DEMCR (*(volatile uint32_t*)0xE000EDFCu)
#define DWT_CTRL (*(volatile uint32_t*)0xE0001000u)
#define DWT_CYCCNT (*(volatile uint32_t*)0xE0001004u)

void board_init(void) {
  UART_BAUDDIV = 16; /* the smallest divider the UART accepts; the emulator ignores the rate */
  UART_CTRL = UART_CTRL_TX_EN;
  DEMCR |= 1u << 24; /* TRCENA */
  DWT_CYCCNT = 0;
  DWT_CTRL |= 1u;
}

void board_write(const char* text, size_t len) {
  for (size_t i = 0; i < len; ++i) {
    if (text[i] == '\n') {
      while (UART_STATE & UART_STATE_TX_FULL) {
      }
      UART_DATA = '\r';
    }
    while (UART_STATE & UART_STATE_TX_FULL) {
    }
    UART_DATA = (uint8_t)text[i];
  }
}

uint64_t board_cycles(void) { return DWT_CYCCNT; }

/* Semihosting SYS_EXIT (0x18): reason ADP_Stopped_ApplicationExit ends QEMU with status 0, any
 * other reason with status 1. */
void board_exit(int code) {
  const uint32_t reason = code == 0 ? 0x20026u : 0x20023u;
  register uint32_t r0 __asm__("r0") = 0x18u;
  register uint32_t r1 __asm__("r1") = reason;
  __asm__ volatile("bkpt 0xab" : : "r"(r0), "r"(r1) : "memory");
  for (;;) {
  }
}

/* ---- newlib system calls ---- */
extern char __heap_start__;
extern char __heap_end__;

static char* brk = &__heap_start__;

size_t board_heap_bytes(void) { return (size_t)(brk - &__heap_start__); }

void* _sbrk(ptrdiff_t increment) {
  if (increment > &__heap_end__ - brk || increment < &__heap_start__ - brk) {
    errno = ENOMEM;
    return (void*)-1;
  }
  char* old = brk;
  brk += increment;
  return old;
}

int _write(int fd, const char* buf, int len) {
  if (fd != 1 && fd != 2) {
    errno = EBADF;
    return -1;
  }
  board_write(buf, (size_t)len);
  return len;
}

int _read(int fd, char* buf, int len) {
  (void)fd, (void)buf, (void)len;
  errno = EBADF;
  return -1;
}
int _close(int fd) {
  (void)fd;
  return -1;
}
int _fstat(int fd, struct stat* st) {
  (void)fd;
  st->st_mode = S_IFCHR;
  return 0;
}
int _isatty(int fd) { return fd <= 2; }
int _lseek(int fd, int offset, int whence) {
  (void)fd, (void)offset, (void)whence;
  return 0;
}
void _exit(int code) { board_exit(code); }
int _kill(int pid, int sig) {
  (void)pid, (void)sig;
  errno = EINVAL;
  return -1;
}
int _getpid(void) { return 1; }
