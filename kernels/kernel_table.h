// The kernel table: one static entry per (op kind, weight dtype, backend) -> function pointer.
// Binding looks each op up once at load; a step is then a flat loop of calls through these
// pointers. There is no registration by static initializers (which breaks static linking), and an
// application can put its own entries in front of the table at load (ModelOptions::custom_kernels).
// An accelerator library (libacorn_cuda) brings its own entries (accelerator.h, AcceleratorPlugin).
#pragma once

#include "acorn/kernel.h"

namespace acorn {

// The built-in table: reference kernels for every op, CPU kernels for the hot ones.
Span<const KernelEntry> BuiltinKernels();

// First entry for `op` on `backend`, searching `custom` before the built-in table; nullptr when none,
// or when the first matching custom entry has a null fn (the application hides that kernel).
const KernelEntry* FindKernel(const Bundle& bundle, const OpDesc& op, Backend backend, Span<const KernelEntry> custom);

}  // namespace acorn
