/* Reset and vector table of the MPS3 AN547 board (Cortex-M55 on the SSE-300), as QEMU's
 * mps3-an547 machine boots it: the core starts in the secure state and reads its vector table at
 * 0x10000000 (the ITCM's secure alias). The image is loaded into RAM as linked (QEMU loads the ELF
 * file), so nothing is copied from flash; .bss is cleared here. */
#include <stdint.h>
#include <string.h>

extern uint32_t __stack_top;
extern uint32_t __bss_start__;
extern uint32_t __bss_end__;

extern void __libc_init_array(void);
extern int main(void);
extern void board_exit(int code) __attribute__((noreturn));

void Reset_Handler(void) __attribute__((noreturn));
static void Fault_Handler(void) __attribute__((noreturn));

static void Fault_Handler(void) {
  /* A fault ends the run with a failure instead of hanging the emulator until its time limit. */
  board_exit(3);
}

void Reset_Handler(void) {
  /* CP10/CP11 full access: the FPU and MVE (Helium) that the code is compiled for. */
  volatile uint32_t* const cpacr = (volatile uint32_t*)0xE000ED88u;
  *cpacr |= (0xFu << 20);
  __asm__ volatile("dsb\n isb" ::: "memory");
  memset(&__bss_start__, 0, (size_t)((char*)&__bss_end__ - (char*)&__bss_start__));
  __libc_init_array();
  board_exit(main());
}

/* Initial stack pointer, reset, then the fault handlers (NMI, HardFault, MemManage, BusFault,
 * UsageFault, SecureFault). Interrupts are not used. */
__attribute__((section(".vectors"), used)) static void (*const g_vectors[])(void) = {
    (void (*)(void))(&__stack_top), Reset_Handler, Fault_Handler, Fault_Handler, Fault_Handler,
    Fault_Handler, Fault_Handler, Fault_Handler,
};
