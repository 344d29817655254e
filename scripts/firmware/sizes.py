#!/usr/bin/env python3
"""Sizes of a firmware image by part, read from the GNU ld map file of the link (-Wl,-Map).

Counts what the image keeps after --gc-sections: every input section placed in an allocated output
section that is stored in the image (code, read-only data, initialized data, unwind tables), not
.bss, the heap or the stack. The parts:

  core        the loader, verifier, memory planner and interpreter (acorn_base, acorn_platform,
              acorn_runtime, and model/session/op_shapes of acorn_interpreter)
  kernels     the kernel table and the reference and CPU kernels
  tokenizer   acorn_tokenizer
  llm + C API generation, sampling, chat and its templates, the encoder, the C API
  C/C++ libs  newlib, libstdc++, libgcc, libm and the C start-up files
  application the firmware example itself (its main, board support)
  model       the bundle linked into the image

usage: sizes.py MAP [--markdown]
"""
import re
import sys
from collections import OrderedDict

STORED = re.compile(r"^\.(vectors|text|rodata|data|ARM\.exidx|ARM\.extab|init_array|fini_array|preinit_array)\b")
INPUT = re.compile(r"^ (\S+)?\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$")
CORE_LIBS = ("libacorn_base.a", "libacorn_platform.a", "libacorn_runtime.a")
CORE_INTERPRETER = ("model.cpp", "session.cpp", "op_shapes.cpp")
KERNEL_LIBS = ("libacorn_kernel_table.a", "libacorn_kernels_cpu.a", "libacorn_kernels_reference.a")


def part_of(origin):
    if "model_blob" in origin:
        return "model"
    lib = re.search(r"(lib[\w+]+\.a)\((.*)\)", origin)
    if lib:
        name, member = lib.group(1), lib.group(2)
        if name in CORE_LIBS:
            return "core"
        if name == "libacorn_interpreter.a":
            return "core" if member.split(".")[0] + ".cpp" in CORE_INTERPRETER else "llm + C API"
        if name in KERNEL_LIBS:
            return "kernels"
        if name == "libacorn_tokenizer.a":
            return "tokenizer"
        return "C/C++ libs"
    if "/examples/firmware/" in origin or origin.startswith("examples/firmware/"):
        return "application"
    return "C/C++ libs"


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    sizes = OrderedDict((k, 0) for k in ("core", "kernels", "tokenizer", "llm + C API", "C/C++ libs",
                                          "application", "model"))
    in_map = False
    stored = False
    pending = None  # a section name on its own line; address, size and file follow on the next
    for raw in open(sys.argv[1], encoding="utf-8", errors="replace"):
        line = raw.rstrip("\n")
        if line.startswith("Linker script and memory map"):
            in_map = True
            continue
        if not in_map:
            continue
        if line and not line.startswith(" "):  # an output section
            stored = bool(STORED.match(line))
            continue
        if not stored:
            continue
        if pending is not None:
            m = re.match(r"^\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$", line)
            if m:
                sizes[part_of(m.group(3))] += int(m.group(2), 16)
            pending = None
            continue
        m = INPUT.match(line)
        if m and m.group(1) and not m.group(1).startswith("*"):
            sizes[part_of(m.group(4))] += int(m.group(3), 16)
        elif re.match(r"^ \.[\w.$]+$", line):
            pending = line.strip()
    image = sum(v for k, v in sizes.items() if k != "model")
    if "--markdown" in sys.argv:
        print("| part | bytes |\n|---|---|")
        for k, v in sizes.items():
            print(f"| {k} | {v:,} |")
        print(f"| image without the model | {image:,} |")
    else:
        for k, v in sizes.items():
            print(f"  {k:<24} {v:>10,} bytes")
        print(f"  {'image without the model':<24} {image:>10,} bytes")


if __name__ == "__main__":
    main()
