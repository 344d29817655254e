#include "tokenizer/decoder.h"

#include "tokenizer/byte_level.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/unicode.h"

namespace acorn {
namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// "<0xAB>" -> 0xAB, else -1 (Rust's u8::from_str_radix accepts either case).
int ByteToken(const std::string& t) {
  if (t.size() != 6 || t.compare(0, 3, "<0x") != 0 || t[5] != '>') return -1;
  int hi = HexDigit(t[3]), lo = HexDigit(t[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

void ByteLevelDecode(std::vector<std::string>* tokens) {
  std::string bytes;
  for (const std::string& t : *tokens) {
    std::string mapped;
    bool all = true;
    for (size_t i = 0; i < t.size() && all;) {
      int n;
      uint32_t cp = unicode::DecodeUtf8(t.data() + i, t.data() + t.size(), &n);
      int b = ByteForByteLevelChar(cp);
      if (b < 0) {
        all = false;
      } else {
        mapped.push_back(static_cast<char>(b));
      }
      i += n;
    }
    bytes += all ? mapped : t;
  }
  tokens->assign(1, unicode::SanitizeUtf8(bytes));
}

void ByteFallbackDecode(std::vector<std::string>* tokens) {
  std::vector<std::string> out;
  std::string pending;
  auto flush = [&]() {
    if (pending.empty()) return;
    if (unicode::IsValidUtf8(pending)) {
      out.push_back(pending);
    } else {
      for (size_t i = 0; i < pending.size(); ++i) out.push_back("\xEF\xBF\xBD");
    }
    pending.clear();
  };
  for (std::string& t : *tokens) {
    int b = ByteToken(t);
    if (b >= 0) {
      pending.push_back(static_cast<char>(b));
      continue;
    }
    flush();
    out.push_back(std::move(t));
  }
  flush();
  tokens->swap(out);
}

void StripDecode(uint32_t ch, uint32_t start, uint32_t stop, std::vector<std::string>* tokens) {
  for (std::string& t : *tokens) {
    std::u32string chars = unicode::ToUtf32(t);
    size_t begin = 0;
    for (size_t i = 0; i < start && i < chars.size() && chars[i] == ch; ++i) begin = i + 1;
    size_t end = chars.size();
    for (size_t i = 0; i < stop && i < chars.size(); ++i) {
      size_t index = chars.size() - i - 1;
      if (index < begin || chars[index] != ch) break;
      end = index;
    }
    t = unicode::ToUtf8(std::u32string_view(chars).substr(begin, end - begin));
  }
}

void MetaspaceDecode(const DecoderStep& step, std::vector<std::string>* tokens) {
  for (size_t i = 0; i < tokens->size(); ++i) {
    std::string& t = (*tokens)[i];
    std::string out;
    for (size_t at = 0; at < t.size();) {
      if (t.compare(at, step.replacement.size(), step.replacement) == 0) {
        if (!(i == 0 && step.prepend_scheme != PrependScheme::kNever)) out.push_back(' ');
        at += step.replacement.size();
      } else {
        out.push_back(t[at++]);
      }
    }
    t.swap(out);
  }
}

void WordPieceCleanup(std::string* t) {
  static const std::pair<const char*, const char*> kRules[] = {
      {" .", "."},   {" ?", "?"},     {" !", "!"},     {" ,", ","},     {" ' ", "'"},    {" n't", "n't"},
      {" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"},
  };
  for (auto [from, to] : kRules) *t = ReplaceLiteral(*t, from, to);
}

void WordPieceDecode(const DecoderStep& step, std::vector<std::string>* tokens) {
  for (size_t i = 0; i < tokens->size(); ++i) {
    std::string& t = (*tokens)[i];
    if (i != 0) {
      if (!step.prefix.empty() && t.compare(0, step.prefix.size(), step.prefix) == 0) {
        t.erase(0, step.prefix.size());
      } else {
        t.insert(0, " ");
      }
    }
    if (step.cleanup) WordPieceCleanup(&t);
  }
}

void BpeSuffixDecode(const DecoderStep& step, std::vector<std::string>* tokens) {
  for (size_t i = 0; i < tokens->size(); ++i) {
    std::string& t = (*tokens)[i];
    std::string replacement = i + 1 == tokens->size() ? "" : " ";
    t = ReplaceLiteral(t, step.suffix, replacement);
  }
}

}  // namespace

Result<Decoder> Decoder::Create(const std::vector<DecoderStep>& steps) {
  Decoder d;
  d.steps_ = steps;
  for (const DecoderStep& step : steps) {
    uint32_t strip_char = 0;
    if (step.kind == DecoderKind::kStrip) {
      std::u32string c = unicode::ToUtf32(step.content);
      if (c.size() != 1) return ACORN_ERROR(kMalformed, "Strip decoder content must be one character");
      strip_char = c[0];
    }
    if (step.kind == DecoderKind::kMetaspace && unicode::ToUtf32(step.replacement).size() != 1) {
      return ACORN_ERROR(kMalformed, "Metaspace decoder replacement must be one character (it is %zu bytes)",
                         step.replacement.size());
    }
    d.strip_chars_.push_back(strip_char);
    if (step.kind == DecoderKind::kReplace && step.pattern.is_regex) {
      ACORN_ASSIGN_OR_RETURN(Regex re, Regex::Compile(step.pattern.text));
      d.regexes_.push_back(std::make_unique<Regex>(std::move(re)));
    } else {
      d.regexes_.push_back(nullptr);
    }
  }
  return d;
}

std::string Decoder::Decode(std::vector<std::string> tokens) const {
  if (steps_.empty()) {
    std::string out;
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (i) out.push_back(' ');
      out += tokens[i];
    }
    return out;
  }
  // Decode cannot fail, so a hostile Replace step is bounded instead: one regex step allowance for
  // the whole call, and no replacement that would grow the text past kMaxTokenizerExpansion. A
  // token whose replacement is refused stays as it is.
  size_t input_bytes = 0;
  for (const std::string& t : tokens) input_bytes += t.size();
  uint64_t budget = Regex::StepBudget(input_bytes);
  const size_t max_bytes = MaxExpandedBytes(input_bytes);
  std::string replaced;
  for (size_t s = 0; s < steps_.size(); ++s) {
    const DecoderStep& step = steps_[s];
    switch (step.kind) {
      case DecoderKind::kByteLevel: ByteLevelDecode(&tokens); break;
      case DecoderKind::kReplace: {
        size_t total = 0;
        for (const std::string& t : tokens) total += t.size();
        for (std::string& t : tokens) {
          const size_t others = total - t.size();
          if (others > max_bytes) break;
          if (!ReplaceAll(t, step.pattern, regexes_[s].get(), step.content, &budget, max_bytes - others, &replaced).ok()) {
            continue;
          }
          total = others + replaced.size();
          t.swap(replaced);
        }
        break;
      }
      case DecoderKind::kByteFallback: ByteFallbackDecode(&tokens); break;
      case DecoderKind::kFuse: {
        std::string all;
        for (const std::string& t : tokens) all += t;
        tokens.assign(1, all);
        break;
      }
      case DecoderKind::kStrip: StripDecode(strip_chars_[s], step.start, step.stop, &tokens); break;
      case DecoderKind::kMetaspace: MetaspaceDecode(step, &tokens); break;
      case DecoderKind::kWordPiece: WordPieceDecode(step, &tokens); break;
      case DecoderKind::kBpe: BpeSuffixDecode(step, &tokens); break;
    }
  }
  std::string out;
  for (const std::string& t : tokens) out += t;
  return out;
}

}  // namespace acorn
