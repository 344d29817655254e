#include "tokenizer/normalizer.h"

#include "core/limits.h"
#include "tokenizer/unicode.h"

namespace acorn {
namespace {

using unicode::GeneralCategory;

// HF's BERT "control": Cc, Cf, Co or Cs, but not unassigned code points (Cn), which it keeps.
bool IsBertControl(uint32_t cp) {
  if (cp == '\t' || cp == '\n' || cp == '\r') return false;
  return (unicode::CategoryBit(unicode::Category(cp)) & (unicode::kOtherMask & ~unicode::CategoryBit(GeneralCategory::kCn))) != 0;
}

bool IsChineseChar(uint32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF) ||
         (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

bool IsNonSpacingMark(uint32_t cp) { return unicode::Category(cp) == GeneralCategory::kMn; }

std::u32string Lowercase(const std::u32string& text) {
  std::u32string out;
  out.reserve(text.size());
  for (char32_t c : text) unicode::AppendLowercase(c, &out);
  return out;
}

std::u32string StripMarks(const std::u32string& text) {
  std::u32string out;
  out.reserve(text.size());
  for (char32_t c : text) {
    if (!IsNonSpacingMark(c)) out.push_back(c);
  }
  return out;
}

std::u32string ApplyBert(const NormalizerStep& step, std::u32string text) {
  if (step.clean_text) {
    std::u32string out;
    out.reserve(text.size());
    for (char32_t c : text) {
      if (c == 0 || c == 0xFFFD || IsBertControl(c)) continue;
      out.push_back(unicode::IsWhiteSpace(c) ? U' ' : c);
    }
    text.swap(out);
  }
  if (step.handle_chinese_chars) {
    std::u32string out;
    out.reserve(text.size());
    for (char32_t c : text) {
      if (IsChineseChar(c)) {
        out.push_back(U' ');
        out.push_back(c);
        out.push_back(U' ');
      } else {
        out.push_back(c);
      }
    }
    text.swap(out);
  }
  if (step.strip_accents) text = StripMarks(unicode::Normalize(text, unicode::NormalizationForm::kNfd));
  if (step.lowercase) text = Lowercase(text);
  return text;
}

}  // namespace

size_t MaxExpandedBytes(size_t bytes) {
  return static_cast<size_t>(limits::kMaxTokenizerExpansion * (static_cast<uint64_t>(bytes) + 64));
}

std::string ReplaceLiteral(std::string_view text, std::string_view needle, std::string_view content) {
  if (needle.empty()) return std::string(text);
  std::string out;
  out.reserve(text.size());
  size_t last = 0;
  for (size_t at = text.find(needle); at != std::string_view::npos; at = text.find(needle, last)) {
    out.append(text.substr(last, at - last));
    out.append(content);
    last = at + needle.size();
  }
  out.append(text.substr(last));
  return out;
}

Status ReplaceAll(std::string_view text, const TokenizerPattern& pattern, const Regex* regex,
                  std::string_view content, uint64_t* budget, size_t max_bytes, std::string* out) {
  std::vector<std::pair<size_t, size_t>> matches;
  if (regex) {
    ACORN_RETURN_IF_ERROR(regex->FindAll(text, &matches, budget));
  } else if (!pattern.text.empty()) {
    const std::string& needle = pattern.text;
    for (size_t at = text.find(needle); at != std::string_view::npos; at = text.find(needle, at + needle.size())) {
      matches.push_back({at, at + needle.size()});
    }
  }
  // Sized before it is built, so that a long content cannot allocate without bound.
  uint64_t size = text.size();
  for (auto [b, e] : matches) size = size - (e - b) + content.size();
  if (size > max_bytes) {
    return ACORN_ERROR(kOutOfRange, "a Replace step makes %llu bytes of %zu, more than %llu times the input "
                       "(limits::kMaxTokenizerExpansion): its content (%zu bytes) is too long for this text",
                       static_cast<unsigned long long>(size), text.size(),
                       static_cast<unsigned long long>(limits::kMaxTokenizerExpansion), content.size());
  }
  out->clear();
  out->reserve(static_cast<size_t>(size));
  size_t last = 0;
  for (auto [b, e] : matches) {
    out->append(text.substr(last, b - last));
    out->append(content);
    last = e;
  }
  out->append(text.substr(last));
  return Status::Ok();
}

Result<Normalizer> Normalizer::Create(const std::vector<NormalizerStep>& steps) {
  Normalizer n;
  n.steps_ = steps;
  for (const NormalizerStep& step : steps) {
    if (step.kind == NormalizerKind::kReplace && step.pattern.is_regex) {
      ACORN_ASSIGN_OR_RETURN(Regex re, Regex::Compile(step.pattern.text));
      n.regexes_.push_back(std::make_unique<Regex>(std::move(re)));
    } else {
      n.regexes_.push_back(nullptr);
    }
  }
  return n;
}

Status Normalizer::Apply(std::string_view input, std::string* out, uint64_t* budget) const {
  std::string& text = *out;
  text.assign(input.data(), input.size());
  const size_t max_bytes = MaxExpandedBytes(input.size());
  std::string replaced;
  for (size_t i = 0; i < steps_.size(); ++i) {
    const NormalizerStep& step = steps_[i];
    switch (step.kind) {
      case NormalizerKind::kPrepend:
        if (!text.empty()) text.insert(0, step.content);
        break;
      case NormalizerKind::kReplace:
        ACORN_RETURN_IF_ERROR(ReplaceAll(text, step.pattern, regexes_[i].get(), step.content, budget, max_bytes, &replaced));
        text.swap(replaced);
        break;
      case NormalizerKind::kLowercase:
        text = unicode::ToUtf8(Lowercase(unicode::ToUtf32(text)));
        break;
      case NormalizerKind::kNfc:
        text = unicode::ToUtf8(unicode::Normalize(unicode::ToUtf32(text), unicode::NormalizationForm::kNfc));
        break;
      case NormalizerKind::kNfd:
        text = unicode::ToUtf8(unicode::Normalize(unicode::ToUtf32(text), unicode::NormalizationForm::kNfd));
        break;
      case NormalizerKind::kNfkc:
        text = unicode::ToUtf8(unicode::Normalize(unicode::ToUtf32(text), unicode::NormalizationForm::kNfkc));
        break;
      case NormalizerKind::kNfkd:
        text = unicode::ToUtf8(unicode::Normalize(unicode::ToUtf32(text), unicode::NormalizationForm::kNfkd));
        break;
      case NormalizerKind::kStripAccents: {
        // Unlike BERT's accent stripping (Mn only), HF's StripAccents drops every mark (M*).
        std::u32string s = unicode::ToUtf32(text), kept;
        for (char32_t c : s) {
          if (!(unicode::CategoryBit(unicode::Category(c)) & unicode::kMarkMask)) kept.push_back(c);
        }
        text = unicode::ToUtf8(kept);
        break;
      }
        break;
      case NormalizerKind::kBert:
        text = unicode::ToUtf8(ApplyBert(step, unicode::ToUtf32(text)));
        break;
      case NormalizerKind::kStrip: {
        std::u32string s = unicode::ToUtf32(text);
        size_t b = 0, e = s.size();
        if (step.strip_left) {
          while (b < e && unicode::IsWhiteSpace(s[b])) ++b;
        }
        if (step.strip_right) {
          while (e > b && unicode::IsWhiteSpace(s[e - 1])) --e;
        }
        text = unicode::ToUtf8(s.substr(b, e - b));
        break;
      }
    }
    if (text.size() > max_bytes) {
      return ACORN_ERROR(kOutOfRange, "normalizer step %zu makes %zu bytes of %zu, more than %llu times the input "
                         "(limits::kMaxTokenizerExpansion)", i, text.size(), input.size(),
                         static_cast<unsigned long long>(limits::kMaxTokenizerExpansion));
    }
  }
  return Status::Ok();
}

}  // namespace acorn
