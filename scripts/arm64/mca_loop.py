#!/usr/bin/env python3
"""Cycles per iteration of one function's hot loop, by llvm-mca, from clang's assembly.

usage: mca_loop.py ASM FUNCTION MNEMONIC UNITS CPU...

Finds FUNCTION in the AArch64 assembly file ASM, takes its innermost loops (a label and the last
branch back to it, with no other loop inside), keeps those that contain the instruction MNEMONIC
(a regular expression; e.g. 'sdot' picks the dot-product loop when a function has several paths),
and of those the longest; a function that only tail-calls another is followed. Runs llvm-mca on that loop body for each CPU model and prints one line
per CPU: the CPU, cycles per iteration, cycles per unit (iteration / UNITS, e.g. 32-value blocks
per iteration), and the loop's length in instructions. Used by scripts/arm64/estimate.sh.
"""
import re
import subprocess
import sys

BRANCH = re.compile(r"^\s*(b\.\w+|b|cbz|cbnz|tbz|tbnz)\s+(?:[^,]+,\s*)*(\.?L\w+)\s*$")
LABEL = re.compile(r"^(\.?L\w+|[A-Za-z_]\w*):")


def function_lines(path, name):
    lines = open(path).read().splitlines()
    start = next((i for i, l in enumerate(lines) if l.startswith(name + ":")), None)
    if start is None:
        sys.exit(f"mca_loop: {name} not found in {path}")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith(".Lfunc_end")), len(lines))
    return lines[start:end]


def is_instruction(line):
    s = line.strip()
    return bool(s) and not s.startswith(("//", ".", "@", ";")) and not LABEL.match(s)


def loops(lines):
    labels = {}
    for i, l in enumerate(lines):
        m = LABEL.match(l)
        if m:
            labels[m.group(1)] = i
    found = {}
    for i, l in enumerate(lines):
        m = BRANCH.match(l.split("//")[0])
        if m and m.group(2) in labels and labels[m.group(2)] < i:
            found[labels[m.group(2)]] = i  # the last branch back to a label closes its loop
    spans = sorted(found.items())
    inner = [(a, b) for a, b in spans if not any((c, d) != (a, b) and a <= c and d <= b for c, d in spans)]
    return inner


def main():
    if len(sys.argv) < 6:
        sys.exit(__doc__)
    asm, name, mnemonic, units = sys.argv[1], sys.argv[2], re.compile(r"^\s*" + sys.argv[3] + r"\b"), float(sys.argv[4])
    lines = function_lines(asm, name)
    # A wrapper that only tail-calls the function that holds the loop: follow it.
    for _ in range(3):
        if loops(lines):
            break
        jump = next((l.split()[1] for l in lines if re.match(r"^\s*b\s+[A-Za-z_]", l)), None)
        if jump is None:
            break
        lines = function_lines(asm, jump)
    candidates = []
    for a, b in loops(lines):
        body = [l.split("//")[0].rstrip() for l in lines[a + 1 : b + 1] if is_instruction(l)]
        if any(mnemonic.match(l) for l in body):
            candidates.append(body)
    if not candidates:
        sys.exit(f"mca_loop: no innermost loop with {sys.argv[3]} in {name}")
    body = max(candidates, key=len)
    for cpu in sys.argv[5:]:
        out = subprocess.run(["llvm-mca", "-mtriple=aarch64", f"-mcpu={cpu}", "-iterations=200"],
                             input="\n".join(body) + "\n", capture_output=True, text=True)
        if out.returncode != 0:
            print(f"{cpu} error {out.stderr.strip().splitlines()[-1] if out.stderr.strip() else out.returncode}")
            continue
        iters = int(re.search(r"Iterations:\s+(\d+)", out.stdout).group(1))
        cycles = int(re.search(r"Total Cycles:\s+(\d+)", out.stdout).group(1))
        per_iter = cycles / iters
        print(f"{cpu} {per_iter:.2f} {per_iter / units:.2f} {len(body)}")


if __name__ == "__main__":
    main()
