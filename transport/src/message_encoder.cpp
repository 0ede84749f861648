// How a message becomes frames for one peer's channel (see message_encoder.hpp).
#include "message_encoder.hpp"

#include <fmt/format.h>

#include "coport/internal/link_seam.hpp"

namespace coport::transport {

using coport::detail::payload_codec_for;
using detail::frame_kind;

namespace {

std::size_t tag_slot(tag t) {
  return (t.id() * 0x9E3779B97F4A7C15ull) >> (64 - 12);
}
std::size_t sig_slot(const coport::detail::signature* s) {
  return (reinterpret_cast<std::uintptr_t>(s) * 0x9E3779B97F4A7C15ull) >> (64 - 10);
}
std::size_t node_slot(std::uint32_t n) {
  return (n * 0x9E3779B97F4A7C15ull) >> (64 - 12);
}
static_assert(detail::tag_slots == 4096 && detail::sig_slots == 1024 && detail::node_slots == 4096);

}  // namespace

bool message_encoder::slot_of(std::uint32_t node_number, std::uint32_t& slot) {
  auto s = static_cast<std::uint32_t>(node_slot(node_number));
  if (caches_.nodes.get(s) == node_number) {
    slot = s;
    return true;
  }
  for (const auto& p : pending_nodes_) {
    if (p.slot == s) return false;  // the slot names another node in this message: inline
  }
  std::uint32_t& cached = caches_.nodes[s];  // (may allocate its page: before any change)
  pending_nodes_.push_back({s, cached});
  cached = node_number;
  slot = s;
  return true;
}

std::string message_encoder::encode(std::vector<std::byte>& out_, frame_kind kind,
                                    const port_id& to, message& msg, std::string_view init,
                                    bool watched, std::size_t max_frame) {
  auto* n = msg.get_block();
  const auto* sig = n->ops->sig;
  std::size_t ss = sig_slot(sig);
  // The cache slots this message may set, made now (a page may be allocated): once the frame
  // is built, recording what the peer learns cannot fail.
  sig_entry& cached_sig = caches_.sigs[ss];
  const coport::detail::payload_encoding* enc =
      cached_sig.sig == sig ? cached_sig.encoding : nullptr;
  bool new_sig = !enc;
  if (new_sig) {
    enc = &payload_codec_for(*sig);
    if (!enc->error.empty()) return enc->error;
  }
  // The definitions the frame needs, then the frame, values written in place (one copy).
  // Until it all fits, the caches keep what they had: a failure leaves them as they were.
  out_.clear();
  if (new_sig) detail::def_sig_frame::encode(out_, ss, enc->names);
  std::size_t ts = 0;
  bool new_tag = false;
  std::uint32_t* cached_tag = nullptr;
  if (kind == frame_kind::message) {
    ts = tag_slot(n->tag_);
    cached_tag = &caches_.tags[ts];
    if (*cached_tag != n->tag_.id()) {
      new_tag = true;
      detail::def_tag_frame::encode(out_, ts, n->tag_.name());
    }
  }
  std::size_t start = detail::begin_frame(out_, kind);
  wire::writer w{out_};
  if (kind == frame_kind::message) {
    detail::message_head{{to.local(), to.incarnation()}, ts}.encode(w);
  } else {
    detail::spawn_head{to.local(), init, watched}.encode(w);
  }
  detail::payload_head{ss}.encode(w);
  std::size_t values_at = out_.size();
  pending_nodes_.clear();  // node IDs in the values that the peer must learn first
  auto undo_nodes = [this] {
    for (auto it = pending_nodes_.rbegin(); it != pending_nodes_.rend(); ++it) {
      *caches_.nodes.find(it->slot) = it->previous;  // (slot_of made its page)
    }
    pending_nodes_.clear();
  };
  try {
    wire::writer values{out_, this};
    coport::detail::encode_values(values, n, *enc);
  } catch (const std::exception& e) {
    undo_nodes();
    out_.clear();
    return e.what();
  }
  values_size_ = out_.size() - values_at;
  if (out_.size() - start - 4 > max_frame) {
    undo_nodes();
    out_.clear();
    return fmt::format("the message takes {} bytes, over the maximum frame of {}", values_size_,
                       max_frame);
  }
  if (!pending_nodes_.empty()) {
    // Rare: port IDs of nodes the peer has not learned. Their definitions go before the frame;
    // the slots count as learned only once they are in it.
    try {
      std::vector<std::byte> defs;
      for (const auto& p : pending_nodes_) {
        detail::def_node_frame::encode(
            defs, p.slot, coport::detail::node_names().name(caches_.nodes.get(p.slot)));
      }
      out_.insert(out_.begin() + static_cast<std::ptrdiff_t>(start), defs.begin(), defs.end());
      start += defs.size();
    } catch (const std::exception& e) {
      undo_nodes();
      out_.clear();
      return e.what();
    }
    pending_nodes_.clear();
  }
  detail::end_frame(out_, start);
  if (new_sig) cached_sig = {sig, enc};
  if (new_tag) *cached_tag = n->tag_.id();
  frame_start_ = start;
  encoding_ = enc;
  return {};
}

std::vector<std::byte> message_encoder::large_record(const port_id& to, message& msg) const {
  auto* n = msg.get_block();
  std::vector<std::byte> record;
  record.reserve(values_size_ + 256);
  wire::writer w{record};  // no node cache: IDs inline
  detail::large_record_head::encode(w, {to.local(), to.incarnation()}, n->tag_.name(),
                                    encoding_->names);
  coport::detail::encode_values(w, n, *encoding_);
  return record;
}

}  // namespace coport::transport
