#include "tokenizer/added_tokens.h"

#include <algorithm>

#include "tokenizer/unicode.h"

namespace acorn {
namespace {

uint32_t LastChar(std::string_view s) {
  size_t i = s.size();
  do {
    --i;
  } while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80);
  int n;
  return unicode::DecodeUtf8(s.data() + i, s.data() + s.size(), &n);
}

// HF tests single_word boundaries with the regexes \w$ and ^\w.
bool EndsWithWord(std::string_view s) { return !s.empty() && unicode::IsWordChar(LastChar(s)); }
bool StartsWithWord(std::string_view s) {
  if (s.empty()) return false;
  int n;
  return unicode::IsWordChar(unicode::DecodeUtf8(s.data(), s.data() + s.size(), &n));
}

// Offset just after the last non-space character of s (0 when all space).
size_t SpaceLeftmostAtEnd(std::string_view s) {
  size_t end = s.size();
  while (end > 0) {
    size_t i = end;
    do {
      --i;
    } while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80);
    int n;
    if (!unicode::IsWhiteSpace(unicode::DecodeUtf8(s.data() + i, s.data() + s.size(), &n))) return end;
    end = i;
  }
  return 0;
}

// Length of the leading white space of s.
size_t SpaceRightmostAtStart(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    int n;
    if (!unicode::IsWhiteSpace(unicode::DecodeUtf8(s.data() + i, s.data() + s.size(), &n))) return i;
    i += n;
  }
  return s.size();
}

}  // namespace

void AddedTokenMatcher::Build(std::vector<const AddedTokenSpec*> tokens, std::vector<std::string> patterns) {
  tokens_ = std::move(tokens);
  patterns_ = std::move(patterns);
  by_first_byte_.assign(256, {});
  for (uint32_t i = 0; i < patterns_.size(); ++i) {
    if (patterns_[i].empty()) continue;
    by_first_byte_[static_cast<unsigned char>(patterns_[i][0])].push_back(i);
  }
  for (auto& list : by_first_byte_) {
    std::stable_sort(list.begin(), list.end(),
                     [&](uint32_t a, uint32_t b) { return patterns_[a].size() > patterns_[b].size(); });
  }
}

bool SpecialTokenPolicy::Allows(size_t begin, size_t end) const {
  if (split_all) return false;
  if (untrusted == nullptr) return true;
  // The first range that ends after begin is the only one that can overlap [begin, end).
  auto it = std::upper_bound(untrusted->begin(), untrusted->end(), begin,
                             [](size_t b, const std::pair<size_t, size_t>& r) { return b < r.second; });
  return it == untrusted->end() || it->first >= end;
}

void AddedTokenMatcher::Split(std::string_view text, std::vector<TextSegment>* out,
                              const SpecialTokenPolicy* policy) const {
  out->clear();
  if (text.empty() || tokens_.empty()) {
    out->push_back({-1, 0, text.size()});
    return;
  }
  size_t start_offset = 0;  // end of the last emitted segment
  size_t search = 0;        // where the next match may start (the previous match's end)
  while (search < text.size()) {
    // Leftmost match, longest at that position.
    size_t at = search;
    int32_t hit = -1;
    for (; at < text.size(); ++at) {
      for (uint32_t i : by_first_byte_[static_cast<unsigned char>(text[at])]) {
        if (text.compare(at, patterns_[i].size(), patterns_[i]) != 0) continue;
        if (policy && tokens_[i]->special && !policy->Allows(at, at + patterns_[i].size())) continue;
        hit = static_cast<int32_t>(i);
        break;
      }
      if (hit >= 0) break;
    }
    if (hit < 0) break;
    const AddedTokenSpec& token = *tokens_[hit];
    size_t begin = at, end = at + patterns_[hit].size();
    search = end;
    if (token.single_word) {
      bool space_before = begin == 0 || !EndsWithWord(text.substr(0, begin));
      bool space_after = end == text.size() || !StartsWithWord(text.substr(end));
      if (!space_before || !space_after) continue;
    }
    if (token.lstrip) begin = std::max(SpaceLeftmostAtEnd(text.substr(0, begin)), start_offset);
    if (token.rstrip) end += SpaceRightmostAtStart(text.substr(end));
    if (start_offset < begin) out->push_back({-1, start_offset, begin});
    out->push_back({token.id, begin, end});
    start_offset = end;
  }
  if (start_offset != text.size()) out->push_back({-1, start_offset, text.size()});
}

}  // namespace acorn
