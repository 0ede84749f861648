#pragma once
/// \file
/// The frames of the node-to-node protocol and how one is laid out.
///
/// A frame is `u32 length (little-endian) | u8 kind | body`, where length counts the kind
/// and the body and is checked against the maximum before anything is allocated. Bodies use
/// coport::wire's encoding. A port on the receiving node is `varint local, varint
/// incarnation`; names travel once per link through definition frames into fixed-size
/// caches (slots), and then by slot.
/// Threading: plain functions.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "coport/reason.hpp"
#include "coport/wire/codec.hpp"
#include "coport/wire/writer.hpp"

namespace coport::transport::detail {

/// 3: proofs in order, verdicts proven, records after the handshake (handshake.hpp).
inline constexpr std::uint32_t protocol_version = 3;
inline constexpr std::size_t frame_header = 5;  ///< length and kind

/// What a frame carries.
enum class frame_kind : std::uint8_t {
  hello = 1,  ///< version, node ID, incarnation, nonce, addresses, flags: first, each way
  def_tag,    ///< slot, tag name
  def_sig,    ///< slot, wire type names of a payload
  def_node,   ///< slot, node ID (for port IDs inside payloads)
  message,    ///< to (local port), tag slot, signature slot, values
  kill,       ///< target, reason
  watch,      ///< target: tell me when it dies
  unwatch,    ///< target
  died,       ///< port of the sender's node, reason (for a watch or a spawn_monitor)
  spawn,      ///< minted local number, init name, watched flag, signature slot, values
  lost,       ///< port of the sender's node, reason: messages to it were dropped
  lost_ack,   ///< port of the receiver's node: the sender's monitors have fired
  auth,       ///< a proof, or a verdict and its proof (handshake.hpp): second on every channel
  heartbeat,  ///< nothing: the sender is alive (sent on an idle channel)
  fragment,   ///< a piece of a large message frame (see connection.cpp)
  last = fragment,
};

inline constexpr std::size_t tag_slots = 4096;
inline constexpr std::size_t sig_slots = 1024;
inline constexpr std::size_t node_slots = 4096;
inline constexpr std::size_t max_name = 1024;  ///< a tag or node ID from a peer
inline constexpr std::size_t max_payload_values = 64;
inline constexpr std::size_t max_holes = 65536;
inline constexpr std::size_t nonce_size = 16;     ///< random bytes in every hello
inline constexpr std::size_t max_addresses = 16;  ///< addresses a hello may name
inline constexpr std::size_t max_address =
    256;  ///< bytes of one address  ///< ports with dropped messages, unacked
/// New tag names one channel may have interned (of the process's 65 536): one peer cannot
/// use up what the others need.
inline constexpr std::size_t new_tags_per_channel = 8192;

/// A message whose values take more than this goes as a large record in fragments, so that
/// it delays other traffic on its channel by at most one fragment.
inline constexpr std::size_t large_message = 64 << 10;
/// The bytes of a large record each fragment carries (at most).
inline constexpr std::size_t fragment_size = 128 << 10;
/// Messages for the target of a large record in flight that a receiver holds back.
inline constexpr std::size_t max_held = 65536;

/// Starts a frame of `kind` at the end of `out`; returns where it starts.
inline std::size_t begin_frame(std::vector<std::byte>& out, frame_kind kind) {
  std::size_t start = out.size();
  out.resize(start + frame_header);
  out[start + 4] = static_cast<std::byte>(kind);
  return start;
}

/// Writes the length of the frame that starts at `start`; returns it.
inline std::size_t end_frame(std::vector<std::byte>& out, std::size_t start) {
  auto length = static_cast<std::uint32_t>(out.size() - start - 4);
  std::byte le[4] = {static_cast<std::byte>(length), static_cast<std::byte>(length >> 8),
                     static_cast<std::byte>(length >> 16), static_cast<std::byte>(length >> 24)};
  std::memcpy(out.data() + start, le, 4);
  return length;
}

/// The length field of a frame header.
inline std::uint32_t frame_length(const std::byte* p) {
  return std::uint32_t(std::to_integer<std::uint8_t>(p[0])) |
         std::uint32_t(std::to_integer<std::uint8_t>(p[1])) << 8 |
         std::uint32_t(std::to_integer<std::uint8_t>(p[2])) << 16 |
         std::uint32_t(std::to_integer<std::uint8_t>(p[3])) << 24;
}

/// Appends to `out` the fragment frame of large record `id` that carries
/// `record[offset, offset + fragment_size)`; returns the new offset. A large record is
/// `varint local, varint incarnation, string tag, varint count, count * string type name,
/// values` with node IDs inline (no link cache: its fragments cross while other frames
/// redefine slots). A fragment is `u8 flags (1 first, 2 last), varint id, [varint record
/// size if first], bytes`. A record's first fragment goes where the message was written in
/// the stream (so what follows it to the same port waits for it); the rest may come later,
/// records one after another.
inline std::size_t append_fragment(std::vector<std::byte>& out,
                                   const std::vector<std::byte>& record, std::size_t offset,
                                   std::uint64_t id) {
  std::size_t piece = std::min(fragment_size, record.size() - offset);
  std::size_t start = begin_frame(out, frame_kind::fragment);
  wire::writer w{out};
  std::uint8_t flags = (offset == 0 ? 1 : 0) | (offset + piece == record.size() ? 2 : 0);
  w.byte(flags);
  w.varint(id);
  if (offset == 0) w.varint(record.size());
  w.raw(record.data() + offset, piece);
  end_frame(out, start);
  return offset + piece;
}

/// Large records a receiver may have open at once on one channel.
inline constexpr std::size_t max_open_records = 64;

/// A frame `kind` about port `local.incarnation` with an optional reason.
inline std::vector<std::byte> control_frame(frame_kind kind, std::uint64_t local,
                                            std::uint32_t incarnation, const reason* why) {
  std::vector<std::byte> out;
  std::size_t start = begin_frame(out, kind);
  wire::writer w{out};
  w.varint(local);
  w.varint(incarnation);
  if (why) wire::codec<reason>::encode(w, *why);
  end_frame(out, start);
  return out;
}

}  // namespace coport::transport::detail
