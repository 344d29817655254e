#!/usr/bin/env python3
"""Generates runtime/tokenizer/unicode_tables.cpp from the Unicode Character Database.

Input: the UCD text files of Debian's `unicode-data` package (/usr/share/unicode, Unicode 15.0 on
Debian 12), or another directory given with --ucd. Output: compact C++ tables (ranges and delta runs,
never one entry per code point except where the data is per code point: decompositions).

    python3 scripts/tokenizer/gen_unicode_tables.py [--ucd /usr/share/unicode] \
        [--out runtime/tokenizer/unicode_tables.cpp]

The table layout is declared in runtime/tokenizer/unicode_tables.h; keep both in step.
"""
import argparse
import os
import re

# Order must match enum class GeneralCategory in unicode_tables.h.
CATEGORIES = ["Cn", "Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Nl", "No", "Pc", "Pd",
              "Ps", "Pe", "Pi", "Pf", "Po", "Sm", "Sc", "Sk", "So", "Zs", "Zl", "Zp", "Cc", "Cf",
              "Cs", "Co"]


def read_unicode_data(ucd):
    """Returns {cp: fields} for every assigned code point, with First/Last ranges expanded."""
    rows = {}
    first = None
    with open(os.path.join(ucd, "UnicodeData.txt"), encoding="utf-8") as f:
        for line in f:
            fields = line.rstrip("\n").split(";")
            cp = int(fields[0], 16)
            name = fields[1]
            if name.endswith(", First>"):
                first = cp
                continue
            if name.endswith(", Last>"):
                for c in range(first, cp + 1):
                    rows[c] = fields
                first = None
                continue
            rows[cp] = fields
    return rows


def read_property_ranges(path, wanted):
    """Code point ranges of a binary property from a PropList-style file."""
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.split("#")[0].strip()
            if not line:
                continue
            cps, prop = [x.strip() for x in line.split(";")[:2]]
            if prop != wanted:
                continue
            if ".." in cps:
                a, b = cps.split("..")
                out.append((int(a, 16), int(b, 16)))
            else:
                out.append((int(cps, 16), int(cps, 16)))
    return merge_ranges(out)


def merge_ranges(ranges):
    ranges = sorted(ranges)
    merged = []
    for a, b in ranges:
        if merged and a <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def value_ranges(values):
    """[(start, end, value)] for a {cp: value} map, adjacent equal values merged."""
    out = []
    for cp in sorted(values):
        v = values[cp]
        if out and out[-1][1] == cp - 1 and out[-1][2] == v:
            out[-1] = (out[-1][0], cp, v)
        else:
            out.append((cp, cp, v))
    return out


def delta_runs(mapping):
    """Compresses {cp: target_cp} into runs (start, count, stride, delta): every stride-th code point
    from start, count of them, maps to cp + delta. Case mappings come in long runs of stride 1 or 2."""
    runs = []
    for cp in sorted(mapping):
        delta = mapping[cp] - cp
        if runs:
            start, count, stride, d = runs[-1]
            last = start + (count - 1) * stride
            if d == delta and count == 1 and cp - last in (1, 2):
                runs[-1] = (start, 2, cp - last, d)
                continue
            if d == delta and count > 1 and cp - last == stride:
                runs[-1] = (start, count + 1, stride, d)
                continue
        runs.append((cp, 1, 1, delta))
    return runs


def emit_ranges(out, name, ranges):
    out.append(f"const CodepointRange {name}[] = {{")
    line = ""
    for a, b in ranges:
        item = f"{{0x{a:X},0x{b:X}}},"
        if len(line) + len(item) > 98:
            out.append("  " + line.rstrip())
            line = ""
        line += item
    if line:
        out.append("  " + line.rstrip())
    out.append("};")
    out.append(f"const size_t {name}Count = sizeof({name}) / sizeof({name}[0]);")
    out.append("")


def emit_rows(out, ctype, name, rows, fmt):
    out.append(f"const {ctype} {name}[] = {{")
    line = ""
    for row in rows:
        item = fmt(row)
        if len(line) + len(item) > 98:
            out.append("  " + line.rstrip())
            line = ""
        line += item
    if line:
        out.append("  " + line.rstrip())
    out.append("};")
    out.append(f"const size_t {name}Count = sizeof({name}) / sizeof({name}[0]);")
    out.append("")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(os.path.dirname(here))
    ap = argparse.ArgumentParser()
    ap.add_argument("--ucd", default="/usr/share/unicode")
    ap.add_argument("--out", default=os.path.join(repo, "runtime/tokenizer/unicode_tables.cpp"))
    args = ap.parse_args()
    ucd = args.ucd

    with open(os.path.join(ucd, "DerivedAge.txt"), encoding="utf-8") as f:
        version = f.readline().strip().lstrip("# ").replace("DerivedAge-", "").replace(".txt", "")

    data = read_unicode_data(ucd)
    cat_index = {c: i for i, c in enumerate(CATEGORIES)}
    categories = value_ranges({cp: cat_index[f[2]] for cp, f in data.items()})

    white_space = read_property_ranges(os.path.join(ucd, "PropList.txt"), "White_Space")
    alphabetic = read_property_ranges(os.path.join(ucd, "DerivedCoreProperties.txt"), "Alphabetic")
    ccc = value_ranges({cp: int(f[3]) for cp, f in data.items() if int(f[3]) != 0})

    # Decompositions: one entry per code point that has one (Hangul syllables are algorithmic).
    decomp = []
    pool = []
    canonical_pairs = {}
    for cp in sorted(data):
        field = data[cp][5]
        if not field:
            continue
        compat = field.startswith("<")
        if compat:
            field = field.split(">", 1)[1]
        seq = [int(x, 16) for x in field.split()]
        decomp.append((cp, 1 if compat else 0, len(pool), len(seq)))
        pool.extend(seq)
        if not compat and len(seq) == 2:
            canonical_pairs[cp] = seq
    exclusions = set()
    for a, b in read_property_ranges(os.path.join(ucd, "DerivedNormalizationProps.txt"),
                                     "Full_Composition_Exclusion"):
        exclusions.update(range(a, b + 1))
    compositions = sorted((s[0], s[1], cp) for cp, s in canonical_pairs.items() if cp not in exclusions)

    lower, upper = {}, {}
    for cp, f in data.items():
        if f[13]:
            lower[cp] = int(f[13], 16)
        if f[12]:
            upper[cp] = int(f[12], 16)
    # Full (multi-character) unconditional lowercase mappings from SpecialCasing.txt: only U+0130.
    special_lower = []
    with open(os.path.join(ucd, "SpecialCasing.txt"), encoding="utf-8") as f:
        for line in f:
            line = line.split("#")[0].strip()
            if not line:
                continue
            parts = [x.strip() for x in line.split(";")]
            if len(parts) > 4 and parts[4]:
                continue  # conditional mapping
            lo = [int(x, 16) for x in parts[1].split()]
            if len(lo) > 1:
                special_lower.append((int(parts[0], 16), lo))
    fold = {}
    with open(os.path.join(ucd, "CaseFolding.txt"), encoding="utf-8") as f:
        for line in f:
            line = line.split("#")[0].strip()
            if not line:
                continue
            cp, status, target = [x.strip() for x in line.split(";")[:3]]
            if status in ("C", "S"):
                fold[int(cp, 16)] = int(target, 16)

    out = []
    out.append(f"// GENERATED by scripts/tokenizer/gen_unicode_tables.py from the Unicode {version} character")
    out.append("// database (Debian package unicode-data). Do not edit; regenerate.")
    out.append('#include "tokenizer/unicode_tables.h"')
    out.append("")
    out.append("namespace acorn {")
    out.append("namespace unicode_tables {")
    out.append("")
    out.append(f'const char kUnicodeVersion[] = "{version}";')
    out.append("")
    emit_rows(out, "CategoryRange", "kCategories", categories,
              lambda r: f"{{0x{r[0]:X},0x{r[1]:X},{r[2]}}},")
    emit_ranges(out, "kWhiteSpace", white_space)
    emit_ranges(out, "kAlphabetic", alphabetic)
    emit_rows(out, "CombiningClassRange", "kCombiningClasses", ccc,
              lambda r: f"{{0x{r[0]:X},0x{r[1]:X},{r[2]}}},")
    emit_rows(out, "Decomposition", "kDecompositions", decomp,
              lambda r: f"{{0x{r[0]:X},{r[1]},{r[2]},{r[3]}}},")
    emit_rows(out, "uint32_t", "kDecompositionPool", pool, lambda v: f"0x{v:X},")
    emit_rows(out, "Composition", "kCompositions", compositions,
              lambda r: f"{{0x{r[0]:X},0x{r[1]:X},0x{r[2]:X}}},")
    for name, mapping in (("kLowercase", lower), ("kUppercase", upper), ("kCaseFold", fold)):
        emit_rows(out, "DeltaRun", name, delta_runs(mapping),
                  lambda r: f"{{0x{r[0]:X},{r[1]},{r[2]},{r[3]}}},")
    out.append("const SpecialLowercase kSpecialLowercase[] = {")
    for cp, seq in special_lower:
        padded = seq + [0] * (3 - len(seq))
        out.append(f"  {{0x{cp:X},{{{','.join(f'0x{v:X}' for v in padded)}}},{len(seq)}}},")
    out.append("};")
    out.append("const size_t kSpecialLowercaseCount = sizeof(kSpecialLowercase) / sizeof(kSpecialLowercase[0]);")
    out.append("")
    out.append("}  // namespace unicode_tables")
    out.append("}  // namespace acorn")
    with open(args.out, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")
    print(f"wrote {args.out}: {len(categories)} category ranges, {len(decomp)} decompositions, "
          f"{len(compositions)} compositions")


if __name__ == "__main__":
    main()
