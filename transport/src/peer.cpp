// The sending side of the node-to-node protocol: what happens to a message, kill, monitor
// or spawn for a port of another node (see peer.hpp).
#include "peer.hpp"

#include <fmt/format.h>

#include "connection.hpp"
#include "coport/detail/interner.hpp"
#include "coport/detail/log_sink.hpp"
#include "transport_impl.hpp"
#include "transport_log.hpp"

namespace coport::transport {

using coport::detail::payload_codec_for;
using detail::control_frame;
using detail::frame_kind;
using detail::log;
using detail::log_error;
using detail::log_warn;

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

reason transport_error(std::string_view node, std::string text) {
  return reason{"transport_error", std::string{node}, std::move(text)};
}

}  // namespace

// -- peer: the sending side
// ------------------------------------------------------------------------

peer::peer(transport::impl& owner, std::string id, std::uint32_t node_number)
    : owner_{owner}, id_{std::move(id)}, node_number_{node_number} {}

bool peer::slot_of(std::uint32_t node_number, std::uint32_t& slot) {
  auto s = static_cast<std::uint32_t>(node_slot(node_number));
  if (caches_->nodes[s] == node_number) {
    slot = s;
    return true;
  }
  for (const auto& p : pending_nodes_) {
    if (p.slot == s) return false;  // the slot names another node in this message: inline
  }
  pending_nodes_.push_back({s, caches_->nodes[s]});
  caches_->nodes[s] = node_number;
  slot = s;
  return true;
}

std::string peer::encode_locked(frame_kind kind, const port_id& to, message& msg,
                                std::string_view init, bool watched) {
  auto* n = msg.get_node();
  const auto* sig = n->ops->sig;
  std::size_t ss = sig_slot(sig);
  const coport::detail::payload_encoding* enc =
      caches_->sigs[ss] == sig ? caches_->encodings[ss] : nullptr;
  bool new_sig = !enc;
  if (new_sig) {
    enc = &payload_codec_for(*sig);
    if (!enc->error.empty()) return enc->error;
  }
  // The values first (into scratch), collecting the node IDs the peer must learn.
  scratch_.clear();
  pending_nodes_.clear();
  try {
    wire::writer w{scratch_, this};
    coport::detail::encode_values(w, n, *enc);
  } catch (const std::exception& e) {
    for (auto it = pending_nodes_.rbegin(); it != pending_nodes_.rend(); ++it) {
      caches_->nodes[it->slot] = it->previous;
    }
    pending_nodes_.clear();
    return e.what();
  }
  out_.clear();
  wire::writer w{out_};
  for (const auto& p : pending_nodes_) {
    std::size_t start = detail::begin_frame(out_, frame_kind::def_node);
    w.varint(p.slot);
    w.string(coport::detail::node_names().name(caches_->nodes[p.slot]));
    detail::end_frame(out_, start);
  }
  pending_nodes_.clear();
  if (new_sig) {
    caches_->sigs[ss] = sig;
    caches_->encodings[ss] = enc;
    std::size_t start = detail::begin_frame(out_, frame_kind::def_sig);
    w.varint(ss);
    w.varint(enc->names.size());
    for (const auto& name : enc->names) w.string(name);
    detail::end_frame(out_, start);
  }
  std::size_t ts = 0;
  if (kind == frame_kind::message) {
    ts = tag_slot(n->tag_);
    if (caches_->tags[ts] != n->tag_.id()) {
      caches_->tags[ts] = n->tag_.id();
      std::size_t start = detail::begin_frame(out_, frame_kind::def_tag);
      w.varint(ts);
      w.string(n->tag_.name());
      detail::end_frame(out_, start);
    }
  }
  std::size_t start = detail::begin_frame(out_, kind);
  w.varint(to.local());
  if (kind == frame_kind::message) {
    w.varint(to.incarnation());
    w.varint(ts);
  } else {
    w.string(init);
    w.byte(watched ? 1 : 0);
  }
  w.varint(ss);
  w.raw(scratch_.data(), scratch_.size());
  if (detail::end_frame(out_, start) > owner_.options.max_frame) {
    out_.clear();
    return fmt::format("the message takes {} bytes, over the maximum frame of {}", scratch_.size(),
                       owner_.options.max_frame);
  }
  return {};
}

bool peer::flush_locked() {
  if (!conn_ || out_.empty()) return false;
  return conn_->write(out_);
}

void peer::refuse(const port_id& to, const std::string& text) {
  owner_.count_drop();
  log(log_error, "node {}: a message to {} was not sent: {}", owner_.owner.id(), to.to_string(),
      text);
  reason why = transport_error(id_, text);
  port_down(to.local(), to.incarnation(), why);
}

void peer::send_message(const port_id& to, message msg) {
  std::string error;
  {
    std::lock_guard lock{mutex_};
    if (!conn_) {
      error = "no connection to that node";
    } else if (to.incarnation() != 0 && up_ && to.incarnation() != incarnation_) {
      owner_.count_drop();  // a port of an earlier incarnation: gone, like a dead port
      return;
    } else {
      error = encode_locked(frame_kind::message, to, msg, {}, false);
      if (error.empty()) {
        if (!flush_locked())
          error = "the connection is closed";
        else
          owner_.sent.fetch_add(1, std::memory_order_relaxed);
      }
    }
  }
  if (!error.empty()) {
    refuse(to, fmt::format("cannot send {}: {}", msg.describe(), error));
  }
}

void peer::send_kill(const port_id& target, const reason& why) {
  std::lock_guard lock{mutex_};
  if (!conn_) {
    log(log_warn, "node {}: cannot kill {}: no connection to its node", owner_.owner.id(),
        target.to_string());
    return;
  }
  out_ = control_frame(frame_kind::kill, target.local(), target.incarnation(), &why);
  flush_locked();
}

void peer::watch(const port_id& target) {
  reason fail;
  {
    std::lock_guard lock{mutex_};
    if (!conn_) {
      fail = transport_error(id_, "no connection to that node");
    } else if (target.incarnation() != 0 && up_ && target.incarnation() != incarnation_) {
      fail =
          reason{"no_such_port", "port of an earlier incarnation of its node", target.to_string()};
    } else {
      watching_.insert_or_assign(target.local(), target);
      out_ = control_frame(frame_kind::watch, target.local(), target.incarnation(), nullptr);
      if (flush_locked()) return;
      watching_.erase(target.local());
      fail = transport_error(id_, "the connection is closed");
    }
  }
  owner_.fire_later(target, std::move(fail));
}

void peer::unwatch(const port_id& target) {
  std::lock_guard lock{mutex_};
  if (!watching_.erase(target.local()) || !conn_) return;
  out_ = control_frame(frame_kind::unwatch, target.local(), target.incarnation(), nullptr);
  flush_locked();
}

port_id peer::spawn(const port_id& port, std::string_view init, message args, bool watched) {
  std::string error;
  port_id id = port;
  {
    std::lock_guard lock{mutex_};
    if (up_) id = coport::detail::make_port_id(port.node_number(), port.local(), incarnation_);
    if (!conn_) {
      error = "no connection to that node";
    } else {
      error = encode_locked(frame_kind::spawn, id, args, init, watched);
      if (error.empty()) {
        if (watched) watching_.insert_or_assign(id.local(), id);
        if (!flush_locked()) {
          watching_.erase(id.local());
          error = "the connection is closed";
        }
      }
    }
  }
  if (!error.empty()) {
    owner_.count_drop();
    log(log_error, "node {}: spawn of '{}' on {} failed: {}", owner_.owner.id(), init, id_, error);
    // Called under the node's monitor lock: the monitors fire later.
    owner_.fire_later(id, transport_error(id_, fmt::format("spawn failed: {}", error)));
  }
  return id;
}

bool peer::adopt(const std::shared_ptr<connection>& c) {
  std::lock_guard lock{mutex_};
  if (conn_ && conn_ != c) return false;
  if (!conn_) {
    conn_ = c;
    up_ = false;
    caches_ = std::make_unique<send_caches>();
  }
  return true;
}

void peer::established(std::uint32_t incarnation) {
  {
    std::lock_guard lock{mutex_};
    up_ = true;
    incarnation_ = incarnation;
  }
  owner_.owner.remote_node_up(id_);
}

void peer::lost(const connection* c, const std::string& why) {
  {
    std::lock_guard lock{mutex_};
    if (conn_.get() != c) return;
    conn_.reset();
    caches_.reset();
    up_ = false;
    watching_.clear();
    out_.clear();
    out_.shrink_to_fit();
    scratch_.clear();
    scratch_.shrink_to_fit();
  }
  // Every monitor on that node's ports fires (no holes), and the node-down events.
  owner_.owner.remote_node_lost(id_, transport_error(id_, why));
}

bool peer::port_down(std::uint64_t local, std::uint32_t incarnation, const reason& why) {
  port_id id;
  {
    std::lock_guard lock{mutex_};
    auto it = watching_.find(local);
    if (it != watching_.end()) {
      id = it->second;
      watching_.erase(it);
    }
  }
  // The watch is forgotten before the monitors fire: a monitor added meanwhile watches anew.
  if (id.is_null()) {
    id = coport::detail::make_port_id(node_number_, local, incarnation);
  }
  return owner_.owner.remote_port_died(id, why);
}

std::uint32_t peer::incarnation() const {
  std::lock_guard lock{mutex_};
  return up_ ? incarnation_ : 0;
}

}  // namespace coport::transport
