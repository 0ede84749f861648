#pragma once
/// \file
/// transport::message_encoder — what the peer's side of one channel knows (the caches of
/// tag, signature and node names it was sent) and how a message or a spawn becomes frames:
/// the definitions it needs, then the frame, values written in place (one copy); or, for a
/// large message, its record (frame.hpp). Made with a channel's streams, dropped with them.
///
/// Threading: none of its own (its peer's mutex). Lifetime: its peer's, per stream (~3 KiB, and
/// a page per 32 slots in use: slot_table.hpp).
/// May include: frame, coport/wire, the runtime's public headers and coport/detail.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "coport/message.hpp"
#include "coport/port_id.hpp"
#include "coport/wire/writer.hpp"
#include "frame.hpp"
#include "slot_table.hpp"

namespace coport::detail {
struct signature;
struct payload_encoding;
}  // namespace coport::detail

namespace coport::transport {

class message_encoder final : public wire::node_names_out {
 public:
  /// Encodes a message (`kind` message) or a spawn (`init`, `watched`) for port `to` into
  /// `out` (cleared first): the definitions it needs, then its frame. "" or why it cannot go
  /// (then the caches are as they were, and `out` empty).
  std::string encode(std::vector<std::byte>& out, detail::frame_kind kind, const port_id& to,
                     message& msg, std::string_view init, bool watched, std::size_t max_frame);
  /// Where the last encoded frame starts in `out`, and how many bytes its values took.
  std::size_t frame_start() const noexcept { return frame_start_; }
  std::size_t values_size() const noexcept { return values_size_; }
  /// The large record of the message just encoded (see frame.hpp).
  std::vector<std::byte> large_record(const port_id& to, message& msg) const;

  // node_names_out
  bool slot_of(std::uint32_t node_number, std::uint32_t& slot) override;

 private:
  struct sig_entry {
    const coport::detail::signature* sig = nullptr;
    const coport::detail::payload_encoding* encoding = nullptr;
  };
  /// What the peer was told, by slot (0 and null: nothing).
  struct send_caches {
    detail::slot_table<std::uint32_t, detail::tag_slots> tags;
    detail::slot_table<sig_entry, detail::sig_slots> sigs;
    detail::slot_table<std::uint32_t, detail::node_slots> nodes;
  };
  send_caches caches_;
  struct pending_node {
    std::uint32_t slot, previous;
  };
  std::vector<pending_node> pending_nodes_;
  std::size_t frame_start_ = 0;
  std::size_t values_size_ = 0;
  const coport::detail::payload_encoding* encoding_ = nullptr;  ///< the last message's
};

}  // namespace coport::transport
