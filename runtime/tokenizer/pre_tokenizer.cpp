#include "tokenizer/pre_tokenizer.h"

#include <algorithm>
#include <tuple>

#include "tokenizer/byte_level.h"
#include "tokenizer/unicode.h"

namespace acorn {
namespace {

// GPT-2's pattern, which the ByteLevel pre-tokenizer uses when use_regex is set.
constexpr char kGpt2Pattern[] = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
// The Whitespace pre-tokenizer's pattern.
constexpr char kWordsPattern[] = "\\w+|[^\\w\\s]+";

// (begin, end, is_match) pieces that cover the text.
using Pieces = std::vector<std::tuple<size_t, size_t, bool>>;

void PiecesFromMatches(const std::vector<std::pair<size_t, size_t>>& matches, size_t size, Pieces* out) {
  out->clear();
  size_t prev = 0;
  for (auto [b, e] : matches) {
    if (prev != b) out->emplace_back(prev, b, false);
    out->emplace_back(b, e, true);
    prev = e;
  }
  if (prev != size) out->emplace_back(prev, size, false);
}

// Every character for which pred holds is a match of its own.
template <typename Pred>
void PiecesFromPredicate(std::string_view text, Pred pred, Pieces* out) {
  out->clear();
  size_t last = 0;
  for (size_t i = 0; i < text.size();) {
    int n;
    uint32_t cp = unicode::DecodeUtf8(text.data() + i, text.data() + text.size(), &n);
    if (pred(cp)) {
      if (last < i) out->emplace_back(last, i, false);
      out->emplace_back(i, i + n, true);
      last = i + n;
    }
    i += n;
  }
  if (last < text.size()) out->emplace_back(last, text.size(), false);
}

void LiteralMatches(std::string_view text, std::string_view needle, std::vector<std::pair<size_t, size_t>>* out) {
  out->clear();
  if (needle.empty()) return;
  for (size_t at = text.find(needle); at != std::string_view::npos; at = text.find(needle, at + needle.size())) {
    out->push_back({at, at + needle.size()});
  }
}

// HF's SplitDelimiterBehavior applied to pieces; appends the resulting non-empty sub-pieces.
void ApplyBehavior(const PreToken& in, const Pieces& pieces, SplitBehavior behavior, bool invert,
                   std::vector<PreToken>* out) {
  std::vector<std::pair<size_t, size_t>> spans;
  switch (behavior) {
    case SplitBehavior::kIsolated:
      for (auto& [b, e, m] : pieces) spans.push_back({b, e});
      break;
    case SplitBehavior::kRemoved:
      for (auto& [b, e, m] : pieces) {
        if (m == invert) spans.push_back({b, e});
      }
      break;
    case SplitBehavior::kMergedWithPrevious: {
      bool previous_match = false;
      for (auto& [b, e, m0] : pieces) {
        bool m = m0 != invert;
        if (m && !previous_match && !spans.empty()) {
          spans.back().second = e;
        } else {
          spans.push_back({b, e});
        }
        previous_match = m;
      }
      break;
    }
    case SplitBehavior::kMergedWithNext: {
      bool previous_match = false;
      for (size_t i = pieces.size(); i-- > 0;) {
        auto& [b, e, m0] = pieces[i];
        bool m = m0 != invert;
        if (m && !previous_match && !spans.empty()) {
          spans.back().first = b;
        } else {
          spans.push_back({b, e});
        }
        previous_match = m;
      }
      std::reverse(spans.begin(), spans.end());
      break;
    }
    case SplitBehavior::kContiguous: {
      bool previous_match = false;
      for (auto& [b, e, m0] : pieces) {
        bool m = m0 != invert;
        if (m == previous_match && !spans.empty()) {
          spans.back().second = e;
        } else {
          spans.push_back({b, e});
        }
        previous_match = m;
      }
      break;
    }
  }
  for (auto [b, e] : spans) {
    if (e > b) out->push_back({in.text.substr(b, e - b), in.at_origin && b == 0});
  }
}

std::string ReplaceSpaces(const std::string& text, const std::string& replacement) {
  std::string out;
  out.reserve(text.size() + 8);
  for (char c : text) {
    if (c == ' ') {
      out += replacement;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

bool IsBertPunctuation(uint32_t cp) {
  if (cp < 0x80) return (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126);
  return (unicode::CategoryBit(unicode::Category(cp)) & unicode::kPunctuationMask) != 0;
}

}  // namespace

Result<PreTokenizer> PreTokenizer::Create(const std::vector<PreTokenizerStep>& steps) {
  PreTokenizer p;
  p.steps_ = steps;
  for (const PreTokenizerStep& step : steps) {
    std::string pattern;
    if (step.kind == PreTokenizerKind::kSplit && step.pattern.is_regex) pattern = step.pattern.text;
    if (step.kind == PreTokenizerKind::kByteLevel && step.use_regex) pattern = kGpt2Pattern;
    if (step.kind == PreTokenizerKind::kWhitespace) pattern = kWordsPattern;
    if (step.kind == PreTokenizerKind::kMetaspace && unicode::ToUtf32(step.replacement).size() != 1) {
      return ACORN_ERROR(kInvalidArgument, "Metaspace pre-tokenizer replacement must be one character (it is %zu bytes)",
                         step.replacement.size());
    }
    if (pattern.empty()) {
      p.regexes_.push_back(nullptr);
      continue;
    }
    ACORN_ASSIGN_OR_RETURN(Regex re, Regex::Compile(pattern));
    p.regexes_.push_back(std::make_unique<Regex>(std::move(re)));
  }
  return p;
}

Status PreTokenizer::Split(std::string_view text, bool at_origin, std::vector<PreToken>* out, uint64_t* budget) const {
  std::vector<PreToken> current;
  if (!text.empty()) current.push_back({std::string(text), at_origin});
  std::vector<PreToken> next;
  std::vector<std::pair<size_t, size_t>> matches;
  Pieces pieces;
  for (size_t s = 0; s < steps_.size(); ++s) {
    const PreTokenizerStep& step = steps_[s];
    const Regex* regex = regexes_[s].get();
    next.clear();
    for (PreToken& piece : current) {
      switch (step.kind) {
        case PreTokenizerKind::kSplit:
          if (regex) {
            ACORN_RETURN_IF_ERROR(regex->FindAll(piece.text, &matches, budget));
          } else {
            LiteralMatches(piece.text, step.pattern.text, &matches);
          }
          PiecesFromMatches(matches, piece.text.size(), &pieces);
          ApplyBehavior(piece, pieces, step.behavior, step.invert, &next);
          break;
        case PreTokenizerKind::kByteLevel: {
          if (step.add_prefix_space && piece.text[0] != ' ') piece.text.insert(0, " ");
          size_t first = next.size();
          if (regex) {
            ACORN_RETURN_IF_ERROR(regex->FindAll(piece.text, &matches, budget));
            PiecesFromMatches(matches, piece.text.size(), &pieces);
            ApplyBehavior(piece, pieces, SplitBehavior::kIsolated, false, &next);
          } else {
            next.push_back(std::move(piece));
          }
          for (size_t i = first; i < next.size(); ++i) {
            std::string mapped;
            mapped.reserve(next[i].text.size() * 2);
            AppendByteLevel(next[i].text, &mapped);
            next[i].text.swap(mapped);
          }
          break;
        }
        case PreTokenizerKind::kMetaspace: {
          piece.text = ReplaceSpaces(piece.text, step.replacement);
          bool starts = piece.text.compare(0, step.replacement.size(), step.replacement) == 0;
          if (!starts && (step.prepend_scheme == PrependScheme::kAlways ||
                          (step.prepend_scheme == PrependScheme::kFirst && piece.at_origin))) {
            piece.text.insert(0, step.replacement);
          }
          if (step.split) {
            LiteralMatches(piece.text, step.replacement, &matches);
            PiecesFromMatches(matches, piece.text.size(), &pieces);
            ApplyBehavior(piece, pieces, SplitBehavior::kMergedWithNext, false, &next);
          } else {
            next.push_back(std::move(piece));
          }
          break;
        }
        case PreTokenizerKind::kBert: {
          std::vector<PreToken> words;
          PiecesFromPredicate(piece.text, unicode::IsWhiteSpace, &pieces);
          ApplyBehavior(piece, pieces, SplitBehavior::kRemoved, false, &words);
          for (const PreToken& w : words) {
            PiecesFromPredicate(w.text, IsBertPunctuation, &pieces);
            ApplyBehavior(w, pieces, SplitBehavior::kIsolated, false, &next);
          }
          break;
        }
        case PreTokenizerKind::kWhitespace:
          ACORN_RETURN_IF_ERROR(regex->FindAll(piece.text, &matches, budget));
          PiecesFromMatches(matches, piece.text.size(), &pieces);
          ApplyBehavior(piece, pieces, SplitBehavior::kRemoved, true, &next);
          break;
        case PreTokenizerKind::kWhitespaceSplit:
          PiecesFromPredicate(piece.text, unicode::IsWhiteSpace, &pieces);
          ApplyBehavior(piece, pieces, SplitBehavior::kRemoved, false, &next);
          break;
        case PreTokenizerKind::kDigits:
          PiecesFromPredicate(piece.text, unicode::IsNumeric, &pieces);
          ApplyBehavior(piece, pieces, step.individual_digits ? SplitBehavior::kIsolated : SplitBehavior::kContiguous,
                        false, &next);
          break;
        case PreTokenizerKind::kPunctuation:
          PiecesFromPredicate(piece.text, IsBertPunctuation, &pieces);
          ApplyBehavior(piece, pieces, step.behavior, false, &next);
          break;
      }
    }
    current.swap(next);
  }
  for (PreToken& p : current) {
    if (!p.text.empty()) out->push_back(std::move(p));
  }
  return Status::Ok();
}

}  // namespace acorn
