#pragma once
/// \file
/// coport::wire::writer — appends the wire encoding of values to a byte buffer.
///
/// Integers are little-endian varints (signed ones zigzag-encoded), floating-point values
/// their IEEE bits, strings a varint length and the bytes. Port IDs name their node through
/// a `node_names` table when the writer has one (a link's cache: the name crosses the link
/// once), else inline. Threading: one writer per thread. Lifetime: refers to the buffer and
/// the table it was made with.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string_view>
#include <vector>

namespace coport::wire {

namespace impl {
inline std::uint32_t bswap(std::uint32_t v) noexcept {
  return __builtin_bswap32(v);
}
inline std::uint64_t bswap(std::uint64_t v) noexcept {
  return __builtin_bswap64(v);
}
}  // namespace impl

/// Thrown when a value cannot be encoded (its type has no wire name).
class encode_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The sending side of a link's node-ID cache.
class node_names_out {
 public:
  /// Sets `slot` to the link's cache slot naming node `node_number` (the link makes sure
  /// the peer learns the name before it reads the value); false: write the name inline.
  virtual bool slot_of(std::uint32_t node_number, std::uint32_t& slot) = 0;

 protected:
  ~node_names_out() = default;
};

/// Appends encoded values to a byte vector.
class writer {
 public:
  explicit writer(std::vector<std::byte>& out, node_names_out* names = nullptr) noexcept
      : out_{&out}, names_{names} {}

  void byte(std::uint8_t v) { out_->push_back(static_cast<std::byte>(v)); }

  void varint(std::uint64_t v) {
    if (v < 0x80) {  // most counts, slots and small integers
      out_->push_back(static_cast<std::byte>(v));
      return;
    }
    std::size_t at = out_->size();
    out_->resize(at + 10);
    std::byte* p = out_->data() + at;
    while (v >= 0x80) {
      *p++ = static_cast<std::byte>(v | 0x80);
      v >>= 7;
    }
    *p++ = static_cast<std::byte>(v);
    out_->resize(static_cast<std::size_t>(p - out_->data()));
  }

  void svarint(std::int64_t v) {
    varint((static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63));
  }

  void fixed32(std::uint32_t v) { fixed(v); }
  /// Writes `v` over the 4 bytes at `at` (a length known only once what follows is written).
  void fixed32_at(std::size_t at, std::uint32_t v) noexcept {
    if constexpr (std::endian::native == std::endian::big) v = impl::bswap(v);
    std::memcpy(out_->data() + at, &v, sizeof v);
  }
  void fixed64(std::uint64_t v) { fixed(v); }

  void raw(const void* data, std::size_t size) {
    auto* p = static_cast<const std::byte*>(data);
    out_->insert(out_->end(), p, p + size);
  }

  void string(std::string_view s) {
    varint(s.size());
    raw(s.data(), s.size());
  }

  /// The link's node-ID cache, or null (names go inline).
  node_names_out* names() const noexcept { return names_; }

  std::vector<std::byte>& buffer() noexcept { return *out_; }

 private:
  template <class U>
  void fixed(U v) {
    if constexpr (std::endian::native == std::endian::big) v = impl::bswap(v);
    raw(&v, sizeof v);
  }

  std::vector<std::byte>* out_;
  node_names_out* names_;
};

}  // namespace coport::wire
