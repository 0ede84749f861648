#pragma once
/// \file
/// transport::record_sealer, transport::record_opener — the record layer that protects a
/// channel's bytes after its handshake (protocol version 3; see handshake.hpp for the keys).
///
/// Each direction's byte stream after its sender's `auth` frame is a sequence of records:
///
///     u32 length (little-endian, of the body) | body | 16-byte tag
///
/// sealed with AES-256-GCM under that direction's key. The nonce is the direction's IV XOR
/// the record's number (0, 1, 2, ... never sent: both ends count), as TLS 1.3 builds it
/// (RFC 8446 §5.3), so a record dropped, replayed, reordered, truncated or injected fails its
/// tag, and the link ends. Two modes:
///   - integrity (the default): the body is the plaintext; header and body are the AEAD's
///     additional data (GMAC): authenticated, readable on the wire.
///   - encrypted: the body is the ciphertext, the header the additional data.
/// A record's body is at most `max_record` bytes; the sealer splits what is larger.
///
/// Threading: one object per direction of one channel; not thread-safe (the sealer under the
/// channel's write lock, the opener on its strand). OpenSSL stays in record.cpp.
/// May include: the standard library only (OpenSSL in record.cpp).

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace coport::transport::detail {

/// The key and IV of one direction.
struct record_keys {
  std::array<unsigned char, 32> key{};
  std::array<unsigned char, 12> iv{};
};

inline constexpr std::size_t record_header = 4;
inline constexpr std::size_t record_tag = 16;
/// The most plaintext one record carries: a channel's write batch (64 KiB) is one record.
inline constexpr std::size_t max_record = 64 << 10;

/// Seals one direction's bytes into records.
class record_sealer {
 public:
  record_sealer(const record_keys& keys, bool encrypt);
  ~record_sealer();
  record_sealer(const record_sealer&) = delete;
  record_sealer& operator=(const record_sealer&) = delete;

  /// Appends to `out` the records that carry `plain` (nothing for empty `plain`).
  void seal(std::span<const std::byte> plain, std::vector<std::byte>& out);
  /// Seals the record that starts at `at` in `buf` in place: `buf[at, at + 4)` is room for
  /// its header, the rest of `buf` (1 to max_record bytes) its plaintext; appends the tag.
  void seal_in_place(std::vector<std::byte>& buf, std::size_t at);
  /// Records sealed so far.
  std::uint64_t sealed() const noexcept { return next_; }

 private:
  struct ctx_deleter {
    void operator()(void* p) const noexcept;
  };
  std::unique_ptr<void, ctx_deleter> ctx_;  // EVP_CIPHER_CTX
  const record_keys keys_;
  const bool encrypt_;
  std::uint64_t next_ = 0;
};

/// Opens one direction's records and hands their plaintext on.
class record_opener {
 public:
  /// Where verified plaintext goes, in order.
  class sink {
   public:
    virtual ~sink() = default;
    virtual void on_plain(std::span<const std::byte> plain) = 0;
  };

  record_opener(const record_keys& keys, bool encrypt);
  ~record_opener();
  record_opener(const record_opener&) = delete;
  record_opener& operator=(const record_opener&) = delete;

  /// Takes the next bytes of the stream (any split); hands each whole, verified record's
  /// plaintext to `to`. Returns "" or why the stream is not genuine (then the opener refuses
  /// everything after: the link must end).
  /// Decrypts in place: `bytes` is scratch for the caller afterwards.
  std::string open(std::span<std::byte> bytes, sink& to);
  /// Records opened so far.
  std::uint64_t opened() const noexcept { return next_; }
  /// Bytes of an incomplete record held until the rest arrives (at most one record).
  std::size_t held() const noexcept { return partial_.size(); }

 private:
  /// Verifies (and decrypts) the record at `r` (header, body, tag); "" or why not.
  std::string open_one(std::span<std::byte> r, sink& to);

  struct ctx_deleter {
    void operator()(void* p) const noexcept;
  };
  std::unique_ptr<void, ctx_deleter> ctx_;
  const record_keys keys_;
  const bool encrypt_;
  std::uint64_t next_ = 0;
  bool failed_ = false;
  std::vector<std::byte> partial_;
};

}  // namespace coport::transport::detail
