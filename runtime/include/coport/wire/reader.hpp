#pragma once
/// \file
/// coport::wire::reader — reads values from bytes that came from a peer, trusting nothing.
///
/// Every read checks the bytes left; a count or length is checked against them before
/// anything is allocated (each element takes at least its smallest encoding), and a decoder
/// reserves no more memory than those bytes (`reservable`), so a short frame cannot make the
/// reader allocate more than about the frame's own size before it fails. A failed check throws
/// `decode_error` (bad input is the rare path). Threading: one reader per thread. Lifetime: refers
/// to the bytes and the table it was made with.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

#include "coport/wire/writer.hpp"

namespace coport::wire {

/// Thrown when bytes from a peer do not decode.
class decode_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The receiving side of a link's node-ID cache.
class node_names_in {
 public:
  /// The node number in `slot`; throws decode_error when the slot was never defined.
  virtual std::uint32_t lookup(std::uint32_t slot) = 0;

 protected:
  ~node_names_in() = default;
};

/// Reads encoded values from a span of bytes.
class reader {
 public:
  explicit reader(std::span<const std::byte> in, node_names_in* names = nullptr) noexcept
      : in_{in}, names_{names} {}

  std::size_t remaining() const noexcept { return in_.size() - pos_; }
  bool done() const noexcept { return pos_ == in_.size(); }
  /// The bytes not read yet (not consumed).
  std::span<const std::byte> rest() const noexcept { return in_.subspan(pos_); }

  std::uint8_t byte() {
    need(1);
    return static_cast<std::uint8_t>(in_[pos_++]);
  }

  std::uint64_t varint() {
    std::uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
      std::uint8_t b = byte();
      if (shift == 63 && b > 1) fail("varint overflows 64 bits");
      v |= std::uint64_t{b & 0x7fu} << shift;
      if (!(b & 0x80)) return v;
    }
    fail("varint longer than 10 bytes");
  }

  std::int64_t svarint() {
    std::uint64_t u = varint();
    return static_cast<std::int64_t>((u >> 1) ^ (~(u & 1) + 1));
  }

  std::uint32_t fixed32() { return fixed<std::uint32_t>(); }
  std::uint64_t fixed64() { return fixed<std::uint64_t>(); }

  /// `size` bytes, as a view into the input.
  std::span<const std::byte> raw(std::size_t size) {
    need(size);
    auto s = in_.subspan(pos_, size);
    pos_ += size;
    return s;
  }

  /// A count of elements that each take at least `min_bytes` (checked against what is left).
  std::size_t count(std::size_t min_bytes = 1) {
    std::uint64_t n = varint();
    if (min_bytes == 0) min_bytes = 1;
    if (n > remaining() / min_bytes) fail("a count exceeds the bytes left");
    return static_cast<std::size_t>(n);
  }

  /// How many of `n` elements, each `element_size` bytes in memory, a decoder may reserve
  /// before reading them: no more than the bytes left could hold. A count that the rest of
  /// the input does not back (one byte an element, each 32 in memory) then allocates no more
  /// than the input's own size; what really decodes grows the container as it comes.
  std::size_t reservable(std::size_t n, std::size_t element_size) const noexcept {
    std::size_t fits = remaining() / (element_size ? element_size : 1);
    return n < fits ? n : fits;
  }

  std::string_view string_view() {
    std::size_t n = count(1);
    auto s = raw(n);
    return {reinterpret_cast<const char*>(s.data()), s.size()};
  }
  std::string string() { return std::string{string_view()}; }

  node_names_in* names() const noexcept { return names_; }

  [[noreturn]] static void fail(const char* what) { throw decode_error{what}; }

 private:
  void need(std::size_t n) const {
    if (n > remaining()) fail("truncated");
  }
  template <class U>
  U fixed() {
    U v;
    std::memcpy(&v, raw(sizeof v).data(), sizeof v);
    if constexpr (std::endian::native == std::endian::big) v = impl::bswap(v);
    return v;
  }

  std::span<const std::byte> in_;
  std::size_t pos_ = 0;
  node_names_in* names_;
};

}  // namespace coport::wire
