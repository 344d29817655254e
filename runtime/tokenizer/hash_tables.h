// Open-addressing hash tables for the hot lookups of encoding: token string -> id (keyed by
// string_view, so that no std::string is built per lookup) and (left id, right id) -> merge.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace acorn {

inline uint64_t HashBytes(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a, then a final mix for the low bits
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h ^ (h >> 29);
}

// Maps strings to ids. The strings are owned elsewhere and must outlive the map.
class StringIdMap {
 public:
  void Reserve(size_t count) {
    size_t cap = 16;
    while (cap < count * 2) cap <<= 1;
    slots_.assign(cap, Slot{});
  }
  // Keeps the first id inserted for a string.
  void Insert(std::string_view key, int32_t id) {
    if ((size_ + 1) * 2 > slots_.size()) Grow();
    size_t mask = slots_.size() - 1;
    for (size_t i = HashBytes(key) & mask;; i = (i + 1) & mask) {
      if (slots_[i].id < 0) {
        slots_[i] = {key, id};
        ++size_;
        return;
      }
      if (slots_[i].key == key) return;
    }
  }
  int32_t Find(std::string_view key) const {
    if (slots_.empty()) return -1;
    size_t mask = slots_.size() - 1;
    for (size_t i = HashBytes(key) & mask;; i = (i + 1) & mask) {
      if (slots_[i].id < 0) return -1;
      if (slots_[i].key == key) return slots_[i].id;
    }
  }

 private:
  struct Slot {
    std::string_view key;
    int32_t id = -1;
  };
  void Grow() {
    std::vector<Slot> old;
    old.swap(slots_);
    slots_.assign(old.empty() ? 16 : old.size() * 2, Slot{});
    size_ = 0;
    for (const Slot& s : old) {
      if (s.id >= 0) Insert(s.key, s.id);
    }
  }
  std::vector<Slot> slots_;
  size_t size_ = 0;
};

// (left, right) -> (rank, merged id) for BPE merges.
class MergeMap {
 public:
  struct Merge {
    int32_t rank;
    int32_t merged;
  };
  void Reserve(size_t count) {
    size_t cap = 16;
    while (cap < count * 2) cap <<= 1;
    slots_.assign(cap, Slot{});
  }
  // Keeps the first (lowest-rank) entry for a pair.
  void Insert(int32_t left, int32_t right, Merge merge) {
    uint64_t key = Key(left, right);
    size_t mask = slots_.size() - 1;
    for (size_t i = Mix(key) & mask;; i = (i + 1) & mask) {
      if (slots_[i].merge.rank < 0) {
        slots_[i] = {key, merge};
        return;
      }
      if (slots_[i].key == key) return;
    }
  }
  const Merge* Find(int32_t left, int32_t right) const {
    uint64_t key = Key(left, right);
    size_t mask = slots_.size() - 1;
    for (size_t i = Mix(key) & mask;; i = (i + 1) & mask) {
      if (slots_[i].merge.rank < 0) return nullptr;
      if (slots_[i].key == key) return &slots_[i].merge;
    }
  }

 private:
  static uint64_t Key(int32_t l, int32_t r) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(l)) << 32) | static_cast<uint32_t>(r);
  }
  static uint64_t Mix(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return k;
  }
  struct Slot {
    uint64_t key = 0;
    Merge merge{-1, -1};
  };
  std::vector<Slot> slots_;
};

}  // namespace acorn
