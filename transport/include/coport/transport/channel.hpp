#pragma once
/// \file
/// coport::transport::channel — an ordered byte stream to one peer node that tells when it
/// breaks: what the node-to-node protocol runs over (in memory, or TCP: tcp.hpp).
///
/// Threading: `write` and `close` may be called from any thread. The handler's callbacks
/// come one at a time, in order, never concurrently with each other. Lifetime: the
/// transport keeps the channel while the connection lives.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace coport::transport {

namespace detail {
struct channel_keys;
class sent_stream;
}  // namespace detail

/// The sending end of a byte stream.
class channel {
 public:
  virtual ~channel() = default;
  /// Appends `bytes` to the stream; never blocks. False when the channel is closed.
  virtual bool write(std::span<const std::byte> bytes) = 0;
  /// Closes the stream; both ends' handlers see `on_closed` (idempotent).
  virtual void close(const std::string& why) = 0;
  /// Appends a large message record, to go as fragment frames. A channel may interleave
  /// them with later writes, one fragment at a time (TCP does); the default writes them all
  /// now, in order.
  virtual bool write_large(std::vector<std::byte> record);
  /// Bytes written and not yet gone (the protocol bounds what waits for one node).
  virtual std::size_t queued() const { return 0; }
  /// The handshake succeeded: `peer` is the node at the other end, listening at `addresses`.
  virtual void established(const std::string& peer, const std::vector<std::string>& addresses) {
    (void)peer;
    (void)addresses;
  }
  /// "" when the channel's certificate (TLS) names node `id`, or the channel has none; else
  /// why not. Called on the channel's receive side.
  virtual std::string check_certificate(std::string_view id) const {
    (void)id;
    return {};
  }
  /// The peer's hello arrived: the short deadline for the first bytes ends (handshake.hpp).
  virtual void greeted() {}
  /// From now on, what is written goes sealed with `keys.send` and what arrives after the
  /// bytes the handler has taken is opened with `keys.receive` (record.hpp). Called by the
  /// protocol from inside `on_bytes`, right after it wrote its last handshake frame. False:
  /// this channel needs no records (in memory; TLS protects every byte already), and the
  /// handler goes on reading plain frames.
  virtual bool protect(const detail::channel_keys& keys) {
    (void)keys;
    return false;
  }

  // Resumable links (transport_options::resume_window; the stream is sent_stream.hpp's). A
  // channel that cannot keep its stream says so by `keep_stream` returning false.
  /// From now on everything this channel writes is also appended to `stream`; first the
  /// bytes of `stream` from `from` on go (a broken channel's that the peer had not taken),
  /// then its unfinished large records; `stream` is taken. False (the channel is closed, or
  /// keeps no stream): `stream` is left as it was.
  virtual bool keep_stream(std::unique_ptr<detail::sent_stream>& stream, std::uint64_t from);
  /// The peer took the first `n` bytes of the stream; false if it was never sent that many.
  virtual bool acknowledged(std::uint64_t n) {
    (void)n;
    return true;
  }
  /// Once the channel has ended: its stream, if the way it ended lets the link resume (a
  /// reset or a broken write; not a close, not a timeout) and nothing of it was dropped;
  /// else null. Called once.
  virtual std::unique_ptr<detail::sent_stream> take_stream();
};

/// What a channel reports to the protocol.
class channel_handler {
 public:
  virtual ~channel_handler() = default;
  /// Bytes arrived (any split: the protocol frames them). Returns how many it took: all of
  /// them, except when it called `protect` meanwhile, and the rest are records.
  virtual std::size_t on_bytes(std::span<const std::byte> bytes) = 0;
  /// Too much of what arrived waits unprocessed: a channel that can should stop reading until
  /// this says false again (checked before each read; TCP does).
  virtual bool backlogged() const { return false; }
  /// The stream ended; called once, after the last on_bytes.
  virtual void on_closed(const std::string& why) = 0;
};

}  // namespace coport::transport
