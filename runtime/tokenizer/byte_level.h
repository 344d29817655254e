// GPT-2's byte <-> character table: byte-level BPE vocabularies spell every byte as a printable
// character (printable Latin-1 bytes as themselves, the others as U+0100 onwards).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace acorn {

// The UTF-8 spelling of the character that stands for byte b.
const std::string& ByteLevelCharFor(uint8_t b);
// Appends the byte-level spelling of every byte of text.
void AppendByteLevel(std::string_view text, std::string* out);
// The byte a character stands for, or -1 when it stands for none.
int ByteForByteLevelChar(uint32_t cp);

}  // namespace acorn
