#pragma once
/// \file
/// The frames of the node-to-node protocol: the list of kinds, and each kind's layout, its
/// encode beside its decode. The one place a frame is spelled: the sending side (peer.cpp),
/// the receiving side (receiver.cpp) and the channels (heartbeats, fragments) use these;
/// the handshake's hello and auth frames are in handshake.{hpp,cpp}.
///
/// A frame is `u32 length (little-endian) | u8 kind | body`, where length counts the kind
/// and the body and is checked against the maximum before anything is allocated. Bodies use
/// coport::wire's encoding. A port on the receiving node is `varint local, varint
/// incarnation`; names travel once per link through definition frames into fixed-size
/// caches (slots), and then by slot.
///
/// Decoders read a frame's body and throw wire::decode_error (wire::reader::fail) on what is
/// out of bounds: a slot beyond its cache, a name over max_name, a count over its limit. What
/// they return is bounded, not believed: whether a slot was defined, a port exists or an
/// init is registered is the receiver's to check.
/// Threading: plain functions and values. No I/O, no state.
/// May include: coport/wire, coport/reason.hpp, coport/trace.hpp, the standard library.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "coport/reason.hpp"
#include "coport/trace.hpp"
#include "coport/wire/codec.hpp"
#include "coport/wire/reader.hpp"
#include "coport/wire/writer.hpp"

namespace coport::transport::detail {

/// The protocol's versions:
/// 3: proofs in order, verdicts proven, records after the handshake (handshake.hpp).
/// 4: trace frames (a traced message carries its W3C trace context).
/// 5: the hello names the range of versions its node speaks and its capabilities (two nodes
///    use the highest version both speak); a registered (Cereal) value carries its length,
///    so that a node skips the fields a newer build of its type appended (README "Rolling
///    upgrades").
/// The highest version this build speaks, and the lowest.
inline constexpr std::uint32_t protocol_version = 5;
inline constexpr std::uint32_t oldest_protocol_version = 5;
/// Capabilities (bits of the hello's capability set): what a node understands beyond its
/// version, so that a peer sends it only what it reads. Unknown bits are ignored.
inline constexpr std::uint64_t capability_tracing = 1;  ///< reads trace frames
/// Resumes a link within the resume window (resume and ack frames; sent_stream.hpp).
inline constexpr std::uint64_t capability_resume = 2;
/// What this build declares.
inline constexpr std::uint64_t own_capabilities = capability_tracing | capability_resume;
inline constexpr std::size_t frame_header = 5;  ///< length and kind

/// What a frame carries.
enum class frame_kind : std::uint8_t {
  hello = 1,  ///< versions, node ID, incarnation, nonce, addresses, flags, capabilities: first
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
  heartbeat,  ///< the sender is alive (on an idle channel); a probe or its answer (round trip)
  fragment,   ///< a piece of a large message frame (see receiver.cpp)
  bye,        ///< reason: the sender's node is leaving (it ends normally); nothing follows
  trace,      ///< traceparent, hop, max hops, sending port: the next message's trace context
  resume,     ///< the session whose streams the sender kept, and the bytes of ours it took
  ack,        ///< the bytes of the stream the sender has taken (the rest may be replayed)
  last = ack,
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

/// Large records a receiver may have open at once on one channel.
inline constexpr std::size_t max_open_records = 64;

// -- shared parts ----------------------------------------------------------------------------

/// A port of the receiving node: `varint local, varint incarnation` (0: any incarnation).
struct port_ref {
  std::uint64_t local = 0;
  std::uint32_t incarnation = 0;

  void encode(wire::writer& w) const {
    w.varint(local);
    w.varint(incarnation);
  }
  static port_ref decode(wire::reader& r) {
    port_ref p;
    p.local = r.varint();
    std::uint64_t inc = r.varint();
    if (inc > 0xffffffffu) wire::reader::fail("an incarnation is out of range");
    p.incarnation = static_cast<std::uint32_t>(inc);
    return p;
  }
};

/// A payload's wire type names: `varint count, count * string` (at most max_payload_values
/// names of at most max_name bytes).
struct type_names {
  static void encode(wire::writer& w, const std::vector<std::string>& names) {
    w.varint(names.size());
    for (const auto& name : names) w.string(name);
  }
  static std::vector<std::string> decode(wire::reader& r) {
    std::size_t n = r.count(1);
    if (n > max_payload_values) wire::reader::fail("a payload has too many values");
    std::vector<std::string> names;
    for (std::size_t i = 0; i < n; ++i) {
      std::string_view name = r.string_view();
      if (name.size() > max_name) wire::reader::fail("a type name is too long");
      names.emplace_back(name);
    }
    return names;
  }
};

/// What ends a message or spawn frame: `varint signature slot`, then the values, written and
/// read by the signature's payload codec (coport::detail::encode_values, decode_values).
struct payload_head {
  std::uint64_t sig_slot = 0;

  void encode(wire::writer& w) const { w.varint(sig_slot); }
  static payload_head decode(wire::reader& r) { return {r.varint()}; }
};

// -- def_tag, def_sig, def_node: names into the receiver's caches -------------------------------

/// def_tag and def_node share their layout: `varint slot, string`.
inline void encode_named_slot(std::vector<std::byte>& out, frame_kind kind, std::size_t slot,
                              std::string_view name) {
  std::size_t start = begin_frame(out, kind);
  wire::writer w{out};
  w.varint(slot);
  w.string(name);
  end_frame(out, start);
}

/// def_tag: `varint slot, string name`.
struct def_tag_frame {
  std::uint64_t slot = 0;
  std::string_view name;

  static void encode(std::vector<std::byte>& out, std::size_t slot, std::string_view name) {
    encode_named_slot(out, frame_kind::def_tag, slot, name);
  }
  static def_tag_frame decode(wire::reader& r) {
    def_tag_frame f{r.varint(), r.string_view()};
    if (f.slot >= tag_slots) wire::reader::fail("a tag slot is out of range");
    if (f.name.size() > max_name) wire::reader::fail("a tag is too long");
    return f;
  }
};

/// def_sig: `varint slot, type names`.
struct def_sig_frame {
  std::uint64_t slot = 0;
  std::vector<std::string> names;

  static void encode(std::vector<std::byte>& out, std::size_t slot,
                     const std::vector<std::string>& names) {
    std::size_t start = begin_frame(out, frame_kind::def_sig);
    wire::writer w{out};
    w.varint(slot);
    type_names::encode(w, names);
    end_frame(out, start);
  }
  static def_sig_frame decode(wire::reader& r) {
    def_sig_frame f;
    f.slot = r.varint();
    if (f.slot >= sig_slots) wire::reader::fail("a signature slot is out of range");
    f.names = type_names::decode(r);
    return f;
  }
};

/// def_node: `varint slot, string node ID` (for port IDs inside payloads).
struct def_node_frame {
  std::uint64_t slot = 0;
  std::string_view id;

  static void encode(std::vector<std::byte>& out, std::size_t slot, std::string_view id) {
    encode_named_slot(out, frame_kind::def_node, slot, id);
  }
  static def_node_frame decode(wire::reader& r) {
    def_node_frame f;
    f.slot = r.varint();
    if (f.slot >= node_slots) wire::reader::fail("a node slot is out of range");
    f.id = r.string_view();
    return f;
  }
};

// -- message, spawn: values for a port ---------------------------------------------------------

/// message: `port to, varint tag slot, payload`. Its values are written in place after the
/// head (one copy): encode writes the head only.
struct message_head {
  port_ref to;
  std::uint64_t tag_slot = 0;

  void encode(wire::writer& w) const {
    to.encode(w);
    w.varint(tag_slot);
  }
  static message_head decode(wire::reader& r) {
    message_head h;
    h.to = port_ref::decode(r);
    h.tag_slot = r.varint();
    return h;
  }
};

/// spawn: `varint minted local number, string init name, u8 watched (0 or 1), payload` (the
/// init's arguments).
struct spawn_head {
  std::uint64_t local = 0;
  std::string_view init;
  bool watched = false;

  void encode(wire::writer& w) const {
    w.varint(local);
    w.string(init);
    w.byte(watched ? 1 : 0);
  }
  static spawn_head decode(wire::reader& r) {
    spawn_head h;
    h.local = r.varint();
    h.init = r.string_view();
    if (h.init.size() > max_name) wire::reader::fail("a spawn's init name is too long");
    std::uint8_t watched = r.byte();
    if (watched > 1) wire::reader::fail("a spawn's flag is neither 0 nor 1");
    h.watched = watched == 1;
    return h;
  }
};

// -- kill, watch, unwatch, died, lost, lost_ack: about one port ---------------------------------

/// kill, died and lost carry a reason after the port; watch, unwatch and lost_ack do not.
inline bool carries_reason(frame_kind kind) noexcept {
  return kind == frame_kind::kill || kind == frame_kind::died || kind == frame_kind::lost;
}

/// kill, watch, unwatch (a port of the receiver's node), died, lost (of the sender's node),
/// lost_ack (of the receiver's): `port, [reason]`.
struct port_frame {
  port_ref port;
  reason why;

  /// The whole frame `kind` about `local.incarnation`; `why` for the kinds that carry one.
  static std::vector<std::byte> encode(frame_kind kind, std::uint64_t local,
                                       std::uint32_t incarnation, const reason* why) {
    std::vector<std::byte> out;
    std::size_t start = begin_frame(out, kind);
    wire::writer w{out};
    port_ref{local, incarnation}.encode(w);
    if (why) wire::codec<reason>::encode(w, *why);
    end_frame(out, start);
    return out;
  }
  static port_frame decode(frame_kind kind, wire::reader& r) {
    port_frame f;
    f.port = port_ref::decode(r);
    if (carries_reason(kind)) wire::codec<reason>::decode(r, f.why);
    return f;
  }
};

/// The frame `kind` about port `local.incarnation` with an optional reason (port_frame).
inline std::vector<std::byte> control_frame(frame_kind kind, std::uint64_t local,
                                            std::uint32_t incarnation, const reason* why) {
  return port_frame::encode(kind, local, incarnation, why);
}

// -- bye: the sender's node leaves ------------------------------------------------------------

/// `reason`: why the sender's node ends (`shutdown`). It speaks for the sender only: a node
/// announces its own leaving, never another's. The last frame on its channel.
struct bye_frame {
  reason why;

  static std::vector<std::byte> encode(const reason& why) {
    std::vector<std::byte> out;
    std::size_t start = begin_frame(out, frame_kind::bye);
    wire::writer w{out};
    wire::codec<reason>::encode(w, why);
    end_frame(out, start);
    return out;
  }
  static bye_frame decode(wire::reader& r) {
    bye_frame f;
    wire::codec<reason>::decode(r, f.why);
    return f;
  }
};

// -- trace: the context of the message that follows -------------------------------------------

/// trace: `string traceparent (W3C, 55 characters), varint hop, varint max hops, varint
/// sending port's local number (0: none)`. Goes right before the message frame it is about
/// (after that message's definitions) or before the first fragment of its large record;
/// a receiver keeps one, for the next message or first fragment, and forgets it at any other
/// frame but definitions, heartbeats and later fragments. The port is one of the sender's
/// node: a peer names nothing of a third node here.
struct trace_frame {
  trace_context context;
  std::uint64_t from_local = 0;

  static void encode(std::vector<std::byte>& out, const trace_context& c,
                     std::uint64_t from_local) {
    std::size_t start = begin_frame(out, frame_kind::trace);
    wire::writer w{out};
    w.string(c.traceparent());
    w.varint(c.hop);
    w.varint(c.max_hops);
    w.varint(from_local);
    end_frame(out, start);
  }
  static trace_frame decode(wire::reader& r, std::uint32_t hops_limit) {
    trace_frame f;
    auto c = trace_context::from_traceparent(r.string_view());
    if (!c) wire::reader::fail("a trace frame's traceparent is malformed");
    f.context = *c;
    std::uint64_t hop = r.varint(), max_hops = r.varint();
    if (max_hops > hops_limit || hop >= max_hops) {
      wire::reader::fail("a trace frame's hops are out of range");
    }
    f.context.hop = static_cast<std::uint32_t>(hop);
    f.context.max_hops = static_cast<std::uint32_t>(max_hops);
    f.from_local = r.varint();
    return f;
  }
};

// -- heartbeat: the sender is alive; a round-trip probe or its answer ----------------------------

/// A heartbeat with nothing in it (the sender is alive).
inline constexpr std::array<std::byte, frame_header> heartbeat_frame{
    std::byte{1}, std::byte{0}, std::byte{0}, std::byte{0},
    static_cast<std::byte>(frame_kind::heartbeat)};

/// heartbeat: empty, or `u8 probe (1) | answer (2), varint stamp`. A probe's stamp is the
/// sender's own clock (microseconds); the receiver answers with the same stamp once its
/// handshake has ended, and the prober's round trip is its clock minus the stamp. A peer can
/// only make its own link's figure wrong.
struct heartbeat_body {
  static constexpr std::uint8_t probe = 1, answer = 2;
  std::uint8_t what = 0;  ///< 0: an empty heartbeat
  std::uint64_t stamp = 0;

  static std::vector<std::byte> encode(std::uint8_t what, std::uint64_t stamp) {
    std::vector<std::byte> out;
    std::size_t start = begin_frame(out, frame_kind::heartbeat);
    wire::writer w{out};
    w.byte(what);
    w.varint(stamp);
    end_frame(out, start);
    return out;
  }
  static heartbeat_body decode(wire::reader& r) {
    heartbeat_body h;
    if (r.done()) return h;
    h.what = r.byte();
    if (h.what != probe && h.what != answer) wire::reader::fail("a heartbeat's kind is unknown");
    h.stamp = r.varint();
    return h;
  }
};

// -- fragment, and the large record fragments carry -------------------------------------------

/// A large record: `port to, string tag, type names, values` with node IDs inline (no link
/// cache: its fragments cross while other frames redefine slots). Encode writes the head;
/// the values follow, written by the payload codec.
struct large_record_head {
  port_ref to;
  std::string_view tag;
  std::vector<std::string> names;

  static void encode(wire::writer& w, port_ref to, std::string_view tag,
                     const std::vector<std::string>& names) {
    to.encode(w);
    w.string(tag);
    type_names::encode(w, names);
  }
  static large_record_head decode(wire::reader& r) {
    large_record_head h;
    h.to = port_ref::decode(r);
    h.tag = r.string_view();
    if (h.tag.size() > max_name) wire::reader::fail("a tag is too long");
    h.names = type_names::decode(r);
    return h;
  }
};

/// fragment: `u8 flags (1 first, 2 last), varint record ID, [varint record size if first],
/// bytes`. A record's first fragment goes where the message was written in the stream (so
/// what follows it to the same port waits for it); the rest may come later, records one
/// after another.
struct fragment_frame {
  static constexpr std::uint8_t first = 1, last = 2;
  std::uint8_t flags = 0;
  std::uint64_t id = 0;
  std::uint64_t total = 0;  ///< the record's size (first fragment only)
  std::span<const std::byte> piece;

  /// Appends to `out` the fragment of large record `id` that carries
  /// `record[offset, offset + fragment_size)`; returns the new offset.
  static std::size_t encode(std::vector<std::byte>& out, const std::vector<std::byte>& record,
                            std::size_t offset, std::uint64_t id) {
    std::size_t piece = std::min(fragment_size, record.size() - offset);
    std::size_t start = begin_frame(out, frame_kind::fragment);
    wire::writer w{out};
    std::uint8_t flags = (offset == 0 ? first : 0) | (offset + piece == record.size() ? last : 0);
    w.byte(flags);
    w.varint(id);
    if (offset == 0) w.varint(record.size());
    w.raw(record.data() + offset, piece);
    end_frame(out, start);
    return offset + piece;
  }
  static fragment_frame decode(wire::reader& r) {
    fragment_frame f;
    f.flags = r.byte();
    if (f.flags > (first | last)) wire::reader::fail("a fragment's flags are unknown");
    f.id = r.varint();
    if (f.flags & first) f.total = r.varint();
    f.piece = r.raw(r.remaining());
    return f;
  }
};

/// fragment_frame::encode (channels cut large records with it).
inline std::size_t append_fragment(std::vector<std::byte>& out,
                                   const std::vector<std::byte>& record, std::size_t offset,
                                   std::uint64_t id) {
  return fragment_frame::encode(out, record, offset, id);
}

// -- resume and ack: a link that survives a short reset (sent_stream.hpp) ---------------------

/// resume: `u64 session, varint taken`. The first frame after the handshake between two
/// nodes that both declare capability_resume, both ways; nothing else is sent before the
/// peer's has arrived. `session`: the name of the streams the sender kept from a channel
/// that broke (0: none) — the name of the channel on which those streams began fresh
/// (handshake::session), carried on by every channel that resumed them; `taken`: how many
/// bytes of the receiver's stream the sender took. Both name the same session: the new
/// channel carries on (each side replays from what the other took); else both start fresh
/// (named after this channel), and whatever depended on the old streams fails as if their
/// channel had ended now.
struct resume_frame {
  std::uint64_t session = 0;
  std::uint64_t taken = 0;

  static std::vector<std::byte> encode(std::uint64_t session, std::uint64_t taken) {
    std::vector<std::byte> out;
    std::size_t start = begin_frame(out, frame_kind::resume);
    wire::writer w{out};
    w.varint(session);
    w.varint(taken);
    end_frame(out, start);
    return out;
  }
  static resume_frame decode(wire::reader& r) {
    resume_frame f;
    f.session = r.varint();
    f.taken = r.varint();
    return f;
  }
};

/// ack: `varint taken`: the bytes of the receiver's stream (counted from the channel's resume
/// frame, whole frames) the sender has taken. Never more than was sent; an older one (a
/// replayed ack) says nothing new.
struct ack_frame {
  static std::vector<std::byte> encode(std::uint64_t taken) {
    std::vector<std::byte> out;
    std::size_t start = begin_frame(out, frame_kind::ack);
    wire::writer w{out};
    w.varint(taken);
    end_frame(out, start);
    return out;
  }
  static std::uint64_t decode(wire::reader& r) { return r.varint(); }
};

}  // namespace coport::transport::detail
