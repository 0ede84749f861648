#pragma once
/// \file
/// coport::envelope — a whole message (tag and values) carried as one value of another
/// message, so that a port can forward messages whose types it does not know.
///
/// ```cpp
/// n.snd(router, "route", dest, coport::envelope{coport::message::make("price", 42.5)});
/// // the router: [](port_id dest, coport::envelope e) { n.snd(dest, std::move(e).open()); }
/// ```
/// Locally an envelope holds the message itself: nothing is encoded, and `open` moves it
/// out. Sent to another node it travels as the message's wire bytes, which the receiving
/// side keeps as they are: a node that only forwards an envelope never decodes it (it need
/// not know the types), and `pack` encodes once so that copies sent to many nodes share
/// the bytes. `open` decodes them where the message is wanted, with that node's types.
/// Threading: a value, owned by one thread at a time; copies of packed bytes share an
/// immutable buffer. Lifetime: independent of any node.

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "coport/message.hpp"
#include "coport/wire/codec.hpp"

namespace coport {

/// A message carried as a value.
class envelope {
 public:
  /// No message.
  envelope() noexcept = default;
  /// Holds `m` (not encoded until it must cross the wire or `pack` is called).
  explicit envelope(message m) noexcept : live_{std::move(m)} {}

  /// A copy: shares packed bytes, or copies the live message (std::logic_error when one of
  /// its values cannot be copied).
  envelope(const envelope& other);
  envelope& operator=(const envelope& other);
  envelope(envelope&&) noexcept = default;
  envelope& operator=(envelope&&) noexcept = default;
  ~envelope();

  /// True when it holds no message.
  bool empty() const noexcept { return !live_ && !bytes_; }
  /// True when it holds wire bytes (it came from another node, or was packed).
  bool packed() const noexcept { return bytes_ != nullptr; }
  /// The size of the packed bytes (0 when not packed).
  std::size_t packed_size() const noexcept { return bytes_ ? bytes_->size() : 0; }

  /// Encodes the live message now (once), so that copies share the bytes. Throws
  /// wire::encode_error when a value cannot cross the wire. No-op when packed or empty.
  void pack();

  /// The message: the live one moved out, or decoded from the bytes with this program's
  /// types (wire::decode_error when they are malformed or name a type unknown here).
  message open() &&;
  /// A copy of the message, leaving the envelope as it was.
  message open_copy() const;

  /// Low-level (the codec): writes / reads the wire form.
  void encode(wire::writer& w) const;
  void decode(wire::reader& r);

 private:
  message live_;
  std::shared_ptr<const std::vector<std::byte>> bytes_;
};

namespace wire {
template <>
struct codec<envelope> {
  static constexpr bool builtin = true;
  static void encode(writer& w, const envelope& e) { e.encode(w); }
  static void decode(reader& r, envelope& e) { e.decode(r); }
  static std::string name() { return "envelope"; }
};
}  // namespace wire

}  // namespace coport
