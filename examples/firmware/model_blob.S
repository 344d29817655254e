/* The model bundle, linked into the image as read-only data: acorn loads it in place
 * (acorn_model_load_from_memory), with no file system. ACORN_FIRMWARE_MODEL is the bundle's path,
 * given by CMake. 64-byte alignment: the bundle's tensors are aligned relative to its start. */
#define STR2(x) #x
#define STR(x) STR2(x)
  .section .rodata.acorn_model, "a"
  .balign 64
  .global acorn_model_bundle
acorn_model_bundle:
  .incbin STR(ACORN_FIRMWARE_MODEL)
  .global acorn_model_bundle_end
acorn_model_bundle_end:
  .byte 0
#if defined(__ELF__)
  .section .note.GNU-stack, "", %progbits
#endif
