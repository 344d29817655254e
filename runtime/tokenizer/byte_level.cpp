#include "tokenizer/byte_level.h"

#include "tokenizer/unicode.h"

namespace acorn {
namespace {

struct ByteTables {
  std::string spelling[256];
  int16_t byte_of_char[512];  // every mapped character is below U+0200
  ByteTables() {
    for (int16_t& b : byte_of_char) b = -1;
    uint32_t next = 256;
    for (uint32_t b = 0; b < 256; ++b) {
      bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      uint32_t cp = printable ? b : next++;
      unicode::AppendUtf8(cp, &spelling[b]);
      byte_of_char[cp] = static_cast<int16_t>(b);
    }
  }
};

const ByteTables& Tables() {
  static const ByteTables tables;
  return tables;
}

}  // namespace

const std::string& ByteLevelCharFor(uint8_t b) { return Tables().spelling[b]; }

void AppendByteLevel(std::string_view text, std::string* out) {
  const ByteTables& t = Tables();
  for (unsigned char c : text) out->append(t.spelling[c]);
}

int ByteForByteLevelChar(uint32_t cp) { return cp < 512 ? Tables().byte_of_char[cp] : -1; }

}  // namespace acorn
