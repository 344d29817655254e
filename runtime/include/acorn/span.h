// Span<T>: the one non-owning view of contiguous memory used across acorn (C++17 has no std::span).
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace acorn {

template <typename T>
class Span {
 public:
  constexpr Span() = default;
  constexpr Span(T* data, size_t size) : data_(data), size_(size) {}
  template <size_t N>
  constexpr Span(T (&array)[N]) : data_(array), size_(N) {}
  // Span<const T> from Span<T>.
  template <typename U, typename = std::enable_if_t<std::is_same<const U, T>::value>>
  constexpr Span(Span<U> other) : data_(other.data()), size_(other.size()) {}
  // From any container with data() and size() (std::vector, std::string).
  template <typename C, typename = decltype(std::declval<C&>().data()),
            typename = std::enable_if_t<std::is_convertible<decltype(std::declval<C&>().data()), T*>::value>>
  constexpr Span(C& c) : data_(c.data()), size_(c.size()) {}

  constexpr T* data() const { return data_; }
  constexpr size_t size() const { return size_; }
  constexpr bool empty() const { return size_ == 0; }
  constexpr T& operator[](size_t i) const { return data_[i]; }
  constexpr T* begin() const { return data_; }
  constexpr T* end() const { return data_ + size_; }
  constexpr Span subspan(size_t offset, size_t count) const { return Span(data_ + offset, count); }

 private:
  T* data_ = nullptr;
  size_t size_ = 0;
};

using ByteSpan = Span<const uint8_t>;

}  // namespace acorn
