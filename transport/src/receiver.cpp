// The receiving side of the node-to-node protocol: every frame that arrives from a peer, and
// what it makes this node do (see receiver.hpp).
#include "receiver.hpp"

#include <fmt/format.h>

#include "coport/internal/link_seam.hpp"
#include "endpoint_impl.hpp"
#include "peer.hpp"
#include "transport_log.hpp"

namespace coport::transport {

using detail::control_frame;
using detail::frame_kind;
using detail::log;
using detail::log_error;
using detail::log_info;

namespace {

const char* const too_many_tags =
    "too many distinct tags came from peers (8192 new ones a channel, 65536 in all)";

/// Acknowledged, at the end of a read, once this many bytes of the peer's stream were taken
/// since the last ack (and at each of its heartbeats): what the peer keeps for a resumption
/// stays near what is in flight, and a stream at 1.6 GB/s costs ~3000 acks a second (an
/// ack a frame or every 32 KiB cost the receiving I/O thread a send each: a third of it).
constexpr std::uint64_t ack_every = 512 << 10;

}  // namespace

// -- receiver: the receiving side ----------------------------------------------------------------

receiver::receiver(std::shared_ptr<endpoint::impl> at, std::shared_ptr<channel> ch, peer* expected,
                   bool opened)
    : endpoint_{std::move(at)},
      channel_{std::move(ch)},
      own_node_{coport::detail::node_names().intern(endpoint_->owner.id())},
      peer_{expected},
      outgoing_{expected != nullptr},
      link_{*endpoint_, *channel_, opened},
      large_{endpoint_->options.max_frame} {}

receiver::~receiver() = default;

void receiver::start() {
  std::vector<std::byte> out;
  {
    std::lock_guard lock{rx_};
    out = link_.hello_frame();
  }
  channel_->write(out);
}

void receiver::refuse(refusal kind, const std::string& why, bool quiet) {
  if (closed_.load(std::memory_order_acquire)) return;
  log(quiet ? log_info : log_error, {"transport", endpoint_->owner.id()}, "{}", why);
  if (!quiet) {
    endpoint_->refused.fetch_add(1, std::memory_order_relaxed);
    endpoint_->refused_by[static_cast<std::size_t>(kind)].fetch_add(1, std::memory_order_relaxed);
  }
  channel_->close(why);
  closed_locked(why);
}

void receiver::fail(const std::string& why) {
  std::lock_guard lock{rx_};
  if (closed_.load(std::memory_order_acquire)) return;
  log(log_error, {"transport", endpoint_->owner.id()}, "ending the channel to {}: {}",
      peer_ ? peer_->id() : std::string{"an unknown node"}, why);
  endpoint_->bad_frames.fetch_add(1, std::memory_order_relaxed);
  channel_->close(why);
  closed_locked(why);
}

void receiver::close_now(const std::string& why) {
  std::lock_guard lock{rx_};
  if (closed_.load(std::memory_order_acquire)) return;
  channel_->close(why);
  closed_locked(why);
}

void receiver::on_closed(const std::string& why) {
  std::lock_guard lock{rx_};
  closed_locked(why);
}

void receiver::closed_locked(const std::string& why) {
  if (closed_.exchange(true, std::memory_order_acq_rel)) return;
  auto keep = shared_from_this();  // the list below may hold the last reference
  {
    std::lock_guard lock{endpoint_->receivers_mutex};
    std::erase(endpoint_->receivers, keep);
  }
  partial_.clear();
  // The link waits to resume (its peer keeps this receiver's state for the next channel),
  // or it is lost: then the peer's watches of our ports end.
  if (peer_ && peer_->lost(this, why)) return;
  forget_watches();
}

void receiver::forget_watches() {
  if (watches_) watches_->forget();
}

void receiver::carry_on(receiver& old) {
  defined_ = std::move(old.defined_);
  new_tags_ = old.new_tags_;
  holes_ = std::move(old.holes_);
  large_ = std::move(old.large_);
  next_trace_ = std::move(old.next_trace_);
  record_traces_ = std::move(old.record_traces_);
  taken_ = old.taken_;
  acked_ = old.acked_;
  watches_ = old.watches_;
}

std::size_t receiver::on_bytes(std::span<const std::byte> bytes) {
  std::lock_guard lock{rx_};
  if (closed_) return bytes.size();
  if (peer_) peer_->count_received_bytes(bytes.size());
  std::size_t taken = 0;
  if (!partial_.empty()) {
    // A frame is being completed: take only what it lacks (each byte copied once, and
    // only the bytes of that frame), then read the rest in place.
    taken = complete_partial(bytes);
    if (closed_ || !partial_.empty()) return bytes.size();
    if (std::exchange(handed_over_, false)) return taken;  // the rest is records
  }
  auto rest = bytes.subspan(taken);
  std::size_t used = parse(rest);
  if (counting_ && !closed_ && taken_ - acked_ >= ack_every) acknowledge();
  if (std::exchange(handed_over_, false)) return taken + used;  // the rest is records
  if (!closed_ && used < rest.size()) partial_.assign(rest.begin() + used, rest.end());
  return bytes.size();
}

bool receiver::backlogged() const {
  // What we owe the peer: messages are refused past max_queue, so only answers it asked
  // for (died notices to its watches, ...) take the queue past max_queue + max_frame. A
  // peer that asks and never reads is not read either (and ends by the write timeout).
  if (channel_->queued() > endpoint_->options.max_queue + endpoint_->options.max_frame) return true;
  std::uint32_t n = authed_ && peer_ ? peer_->node_number() : 0;
  return n != 0 && n < coport::detail::inbound_slots &&
         coport::detail::inbound_counts[n].load(std::memory_order_relaxed) >=
             endpoint_->options.max_inbound;
}

std::size_t receiver::complete_partial(std::span<const std::byte> bytes) {
  std::size_t taken = 0;
  auto take = [&](std::size_t n) {
    n = std::min(n, bytes.size() - taken);
    partial_.insert(partial_.end(), bytes.begin() + static_cast<std::ptrdiff_t>(taken),
                    bytes.begin() + static_cast<std::ptrdiff_t>(taken + n));
    taken += n;
  };
  if (partial_.size() < detail::frame_header) take(detail::frame_header - partial_.size());
  if (partial_.size() < detail::frame_header) return taken;
  std::uint32_t length = detail::frame_length(partial_.data());
  std::size_t limit = authed_ ? endpoint_->options.max_frame + 1 : detail::max_handshake_frame;
  if (length != 0 && length <= limit) {
    take(4 + length - partial_.size());
    if (partial_.size() < 4 + std::size_t{length}) return taken;
  }  // else parse() refuses the length
  // One whole frame: parsed from a buffer of its own (closing clears partial_), which then
  // goes back with its capacity.
  std::vector<std::byte> frame;
  frame.swap(partial_);
  parse(frame);
  frame.clear();
  if (partial_.empty()) partial_.swap(frame);
  return taken;
}

std::size_t receiver::parse(std::span<const std::byte> in) {
  std::size_t pos = 0;
  while (!closed_ && !handed_over_ && in.size() - pos >= detail::frame_header) {
    std::uint32_t length = detail::frame_length(in.data() + pos);
    // Before the peer has proved the secret, only small handshake frames are read.
    std::size_t limit = authed_ ? endpoint_->options.max_frame + 1 : detail::max_handshake_frame;
    if (length == 0 || length > limit) {
      fail(fmt::format("a frame whose length field says {} bytes (at most {}{})", length, limit,
                       authed_ ? "" : " before the handshake ends"));
      return in.size();
    }
    if (in.size() - pos - 4 < length) break;
    auto kind_byte = std::to_integer<std::uint8_t>(in[pos + 4]);
    wire::reader r{in.subspan(pos + detail::frame_header, length - 1), this};
    pos += 4 + length;
    if (kind_byte == 0 || kind_byte > static_cast<std::uint8_t>(frame_kind::last)) {
      fail(fmt::format("a frame of unknown kind {}", kind_byte));
      return in.size();
    }
    const bool counted = counting_;  // the peer's stream: every frame after its resume frame
    try {
      handle(static_cast<frame_kind>(kind_byte), r);
      if (!closed_ && !handed_over_ && !r.done()) fail("a frame has bytes after its end");
      if (counted && !closed_) {
        took(4 + std::size_t{length},
             kind_byte == static_cast<std::uint8_t>(frame_kind::heartbeat));
      }
    } catch (const wire::decode_error& e) {
      fail(fmt::format("a bad frame: {}", e.what()));
    } catch (const std::exception& e) {
      fail(fmt::format("a frame could not be handled: {}", e.what()));
    }
  }
  return pos;
}

void receiver::took(std::size_t bytes, bool heartbeat) {
  taken_ += bytes;
  // A heartbeat is acknowledged at once (so is everything before it): on an idle link what
  // the peer keeps goes within a heartbeat interval, and acks answer only heartbeats (an ack
  // is never acknowledged by an ack: no ping-pong).
  if (heartbeat && taken_ > acked_) acknowledge();
}

void receiver::acknowledge() {
  acked_ = taken_;
  write(detail::ack_frame::encode(taken_));
}

receiver::peer_names& receiver::names() {
  if (!defined_) wire::reader::fail("a definition before the link is up");
  return *defined_;
}

std::uint32_t receiver::lookup(std::uint32_t slot) {
  const std::uint32_t node = defined_ && slot < detail::node_slots ? defined_->nodes.get(slot) : 0;
  if (node == 0) {
    throw wire::decode_error{"a port ID names a node cache slot that was never defined"};
  }
  return node;
}

template <class Make>
void receiver::notify(Make&& make) {
  endpoint_->notify(peer_, std::forward<Make>(make));
}

port_id receiver::local_port(detail::port_ref p, bool& current) const {
  current = p.incarnation == 0 || p.incarnation == endpoint_->owner.incarnation();
  return coport::detail::make_port_id(own_node_, p.local, p.incarnation);
}

void receiver::handle(frame_kind kind, wire::reader& r) {
  if (!link_.greeted() && kind != frame_kind::hello) wire::reader::fail("a frame before the hello");
  if (!authed_ && kind != frame_kind::hello && kind != frame_kind::auth &&
      kind != frame_kind::heartbeat) {
    wire::reader::fail("a frame before the handshake ended");
  }
  if (resuming_ != (kind == frame_kind::resume)) {
    wire::reader::fail(resuming_ ? "a frame before the resume frame"
                                 : "a resume frame where none was expected");
  }
  if (next_trace_ && kind != frame_kind::def_tag && kind != frame_kind::def_sig &&
      kind != frame_kind::def_node && kind != frame_kind::heartbeat &&
      kind != frame_kind::message && kind != frame_kind::fragment && kind != frame_kind::ack) {
    next_trace_.reset();  // a trace frame is about the message that follows it, or nothing
  }
  switch (kind) {
    case frame_kind::hello:
      if (link_.greeted()) wire::reader::fail("a second hello");
      act(link_.on_hello(r.raw(r.remaining()), peer_));
      return;
    case frame_kind::auth:
      if (authed_) wire::reader::fail("a second auth");
      act(link_.dialer() ? link_.on_verdict(r, *this, peer_) : link_.on_proof(r, *this, peer_));
      return;
    case frame_kind::heartbeat: {
      const auto h = detail::heartbeat_body::decode(r);
      if (!authed_ || h.what == 0) return;  // before the handshake: alive, nothing answered
      if (h.what == detail::heartbeat_body::probe) {
        write(detail::heartbeat_body::encode(detail::heartbeat_body::answer, h.stamp));
      } else {
        const auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                             std::chrono::steady_clock::now().time_since_epoch())
                             .count();
        // Our own stamp, unless the peer made one up: then only its own link's figure is off.
        if (h.stamp <= static_cast<std::uint64_t>(now)) {
          peer_->note_round_trip(
              std::chrono::microseconds{now - static_cast<std::int64_t>(h.stamp)});
        }
      }
      return;
    }
    case frame_kind::fragment:
      on_fragment(r);
      return;
    case frame_kind::resume:
      on_resume(r);
      return;
    case frame_kind::ack: {
      if (!counting_) wire::reader::fail("an ack on a link that does not resume");
      const std::uint64_t n = detail::ack_frame::decode(r);
      if (!channel_->acknowledged(n)) {
        fail(fmt::format("the peer acknowledges {} bytes, more than were sent", n));
      }
      return;
    }
    case frame_kind::def_tag: {
      const auto def = detail::def_tag_frame::decode(r);
      bool added = false;
      tag t = coport::detail::intern_remote_tag(def.name, new_tags_ < detail::new_tags_per_channel,
                                                &added);
      new_tags_ += added;
      notify([&] { return frame_event{"def_tag", {}, {}, std::string{def.name}, {}}; });
      names().tags[def.slot] = {t, t.empty() && !def.name.empty()};
      return;
    }
    case frame_kind::def_sig: {
      auto def = detail::def_sig_frame::decode(r);
      notify([&] { return frame_event{"def_sig", {}, {}, {}, def.names}; });
      auto& sig = names().sigs[def.slot];
      sig.decoding = coport::detail::resolve_payload(def.names);
      sig.names = std::move(def.names);
      return;
    }
    case frame_kind::def_node: {
      const auto def = detail::def_node_frame::decode(r);
      notify([&] { return frame_event{"def_node", {}, {}, std::string{def.id}, {}}; });
      names().nodes[def.slot] = coport::detail::intern_remote_node(def.id);
      return;
    }
    case frame_kind::message:
      on_message(r);
      return;
    case frame_kind::trace:
      on_trace(r);
      return;
    case frame_kind::kill: {
      auto f = detail::port_frame::decode(kind, r);
      bool current;
      port_id target = local_port(f.port, current);
      notify([&] { return frame_event{"kill", {}, target, {}, {}}; });
      // Only a port named exactly (this incarnation, no wildcard): a peer cannot sweep
      // port numbers and kill whatever answers.
      if (target.incarnation() != endpoint_->owner.incarnation() || target.is_node_port()) return;
      (void)current;
      endpoint_->owner.kil(target, std::move(f.why));
      return;
    }
    case frame_kind::watch: {
      bool current;
      port_id target = local_port(detail::port_frame::decode(kind, r).port, current);
      notify([&] { return frame_event{"watch", {}, target, {}, {}}; });
      if (!current) {
        send_died(target.local(), target.incarnation(),
                  reason{"no_such_port", "port of an earlier incarnation of its node",
                         target.to_string()});
        return;
      }
      on_watch(target);
      return;
    }
    case frame_kind::unwatch: {
      bool current;
      port_id target = local_port(detail::port_frame::decode(kind, r).port, current);
      notify([&] { return frame_event{"unwatch", {}, target, {}, {}}; });
      watches_->unwatch(target.local());
      return;
    }
    case frame_kind::died:
    case frame_kind::lost: {
      // A port of the peer's node: not ours to look up.
      const auto f = detail::port_frame::decode(kind, r);
      notify([&] {
        return frame_event{kind == frame_kind::died ? "died" : "lost", {}, {}, {}, {}};
      });
      if (kind == frame_kind::died) {
        peer_->port_down(f.port.local, f.port.incarnation, f.why);
        return;
      }
      // The peer drops what we send that port until we acknowledge, which we do once our
      // monitors on it have run (also those deferred into a busy port). Meanwhile what is
      // sent to it here waits, and follows the acknowledgement.
      auto ack = watches_->owe_ack(f.port.local, f.port.incarnation, peer_->hold(f.port.local),
                                   detail::max_holes);
      if (!ack) {
        fail("too many lost notices await our monitors");
        return;
      }
      peer_->port_down(f.port.local, f.port.incarnation, f.why, std::move(*ack));
      return;
    }
    case frame_kind::bye: {
      // The peer's node is leaving: about itself only, so believed (as `shutdown`, whatever
      // reason it gives).
      detail::bye_frame::decode(r);
      notify([&] { return frame_event{"bye", {}, {}, {}, {}}; });
      peer_->leaving(this);
      // Nothing follows a bye: this side closes, and what came after it is not read.
      channel_->close("the node left");
      closed_locked("the node left");
      return;
    }
    case frame_kind::lost_ack: {
      bool current;
      port_id target = local_port(detail::port_frame::decode(kind, r).port, current);
      notify([&] { return frame_event{"lost_ack", {}, target, {}, {}}; });
      holes_.erase(target.local());
      return;
    }
    case frame_kind::spawn:
      on_spawn(r);
      return;
  }
}

// -- the handshake (link_handshake.hpp): nothing the peer says is believed before its proof --

void receiver::act(const link_handshake::step& s) {
  switch (s.what) {
    case link_handshake::step::next::wait:
      return;
    case link_handshake::step::next::up:
      established();
      return;
    case link_handshake::step::next::refuse:
      refuse(s.kind, s.why, s.quiet);
      if (s.for_good) peer_->unreachable(s.why);
      return;
  }
}

void receiver::established() {
  authed_ = true;
  if (auto keys = link_.keys()) handed_over_ = channel_->protect(*keys);
  notify([&] { return frame_event{"auth", {}, {}, {}, {}}; });
  if ((link_.peer_capabilities() & detail::capability_resume) == 0) return up({});
  // Both resume links: each tells the other what it kept of a broken channel's streams
  // before anything else goes (frame.hpp, resume).
  const auto kept = peer_->kept_for(link_.peer_incarnation());
  kept_session_ = kept ? kept->session : 0;
  resuming_ = true;
  write(detail::resume_frame::encode(kept_session_, kept ? kept->taken : 0));
}

void receiver::on_resume(wire::reader& r) {
  const auto f = detail::resume_frame::decode(r);
  resuming_ = false;
  counting_ = true;  // the peer's stream begins after this frame
  // Both kept the streams of the same session: carry on; else start fresh.
  const bool both = kept_session_ != 0 && f.session == kept_session_;
  up(both ? std::optional<std::uint64_t>{f.taken} : std::nullopt);
}

void receiver::up(std::optional<std::uint64_t> resume_from) {
  // A fresh link's tables, made before the peer counts the link as up (an allocation that
  // fails then leaves nothing half done; a resumed link carries the old ones on instead).
  auto watches = std::make_shared<watched_ports>(endpoint_, peer_->weak_from_this());
  auto names = std::make_unique<peer_names>();
  std::shared_ptr<receiver> old;
  const auto how = peer_->established(shared_from_this(), link_.peer_incarnation(), link_.version(),
                                      link_.peer_capabilities(), link_.session(), kept_session_,
                                      resume_from, old);
  switch (how) {
    case peer::start_as::fresh:
      watches_ = std::move(watches);
      defined_ = std::move(names);
      break;
    case peer::start_as::resumed:
      carry_on(*old);
      break;
    case peer::start_as::refused:
      fail(fmt::format("the peer resumes from byte {} of our stream, which was not kept",
                       resume_from.value_or(0)));
      return;
    case peer::start_as::closed:
      // Given up meanwhile, or its channel closed: nothing more is read on it.
      channel_->close("the connection was given up");
      closed_locked("the connection was given up");
      return;
  }
  // The TCP layer first (it learns where the peer listens), then the node hears it is up.
  channel_->established(peer_->id(), link_.peer_addresses());
  if (how == peer::start_as::fresh) peer_->announce_up();
}

message receiver::read_payload(wire::reader& r, tag t, std::string& refused, std::uint64_t& ss) {
  ss = detail::payload_head::decode(r).sig_slot;
  const sig_entry* sig = defined_ && ss < detail::sig_slots ? defined_->sigs.find(ss) : nullptr;
  if (!sig || !sig->decoding) {
    wire::reader::fail("a message names a signature slot that was never defined");
  }
  const auto& dec = *sig->decoding;
  if (!dec.error.empty()) {
    refused = dec.error;
    r.raw(r.remaining());  // the values cannot be read here: skip them
    return {};
  }
  return message{coport::detail::decode_values(t, r, dec)};
}

void receiver::on_trace(wire::reader& r) {
  const auto f = detail::trace_frame::decode(r, coport::detail::max_trace_hops);
  coport::detail::trace_mark mark;
  mark.context = f.context;
  if (f.from_local != 0) {
    mark.from =
        coport::detail::make_port_id(peer_->node_number(), f.from_local, link_.peer_incarnation());
  }
  next_trace_ = mark;
}

void receiver::attach_trace(message& m, std::optional<coport::detail::trace_mark> mark,
                            std::size_t size) {
  if (!mark || !m) return;
  // One peer's messages hold at most max_marks_per_origin of the process's marks at once.
  mark->origin = peer_->node_number();
  mark->size = size;
  coport::detail::mark_trace(m.get_block(), *mark);
}

void receiver::on_message(wire::reader& r) {
  const std::size_t size = detail::frame_header + r.remaining();
  auto trace = std::exchange(next_trace_, std::nullopt);
  auto head = detail::message_head::decode(r);
  bool current;
  port_id to = local_port(head.to, current);
  std::uint64_t ts = head.tag_slot;
  const tag_entry* t = defined_ && ts < detail::tag_slots ? defined_->tags.find(ts) : nullptr;
  if (!t || (t->t.empty() && !t->refused)) {
    wire::reader::fail("a message names a tag slot that was never defined");
  }
  std::string refused;
  if (t->refused) refused = too_many_tags;
  std::uint64_t ss = 0;
  message m = read_payload(r, t->t, refused, ss);
  attach_trace(m, std::move(trace), size);
  notify([&] {
    return frame_event{"message", {}, to, std::string{t->t.name()}, defined_->sigs.find(ss)->names};
  });
  reassembly::entry e{to, current, std::move(m), std::move(refused)};
  switch (large_.hold(to.local(), e)) {
    case reassembly::held::yes:
      return;  // a large message for that port is still arriving: this one waits behind it
    case reassembly::held::full:
      fail("too many messages wait behind large ones");
      return;
    case reassembly::held::no:
      deliver(e.to, e.current, std::move(e.msg), e.refused);
      return;
  }
}

void receiver::deliver(const port_id& to, bool current, message m, const std::string& refused) {
  if (!current) {
    endpoint_->count_drop();  // for a port of an earlier incarnation of this node: gone
    return;
  }
  if (holes_.count(to.local())) {
    endpoint_->count_drop();  // the sender's monitors have not fired yet: no holes
    return;
  }
  if (!refused.empty()) {
    hole(to, reason{"transport_error", endpoint_->owner.id(),
                    fmt::format("a message for {} could not be decoded there: {}", to.to_string(),
                                refused)});
    return;
  }
  if (endpoint_->node_end.deliver_from(to, std::move(m), peer_->node_number())) {
    endpoint_->received.fetch_add(1, std::memory_order_relaxed);
    peer_->count_received_message();
  }
}

void receiver::on_fragment(wire::reader& r) {
  const auto fragment = detail::fragment_frame::decode(r);
  if ((fragment.flags & detail::fragment_frame::first) && next_trace_) {
    if (record_traces_.size() < detail::max_open_records) {
      record_traces_.insert_or_assign(fragment.id, *next_trace_);
    }
    next_trace_.reset();
  }
  std::optional<reassembly::whole> record = large_.add(fragment);
  if (!record) return;
  const std::uint64_t id = record->id, target = record->target;
  std::optional<coport::detail::trace_mark> trace;
  if (auto it = record_traces_.find(id); it != record_traces_.end()) {
    trace = it->second;
    record_traces_.erase(it);
  }
  std::vector<std::byte> bytes = std::move(record->bytes);

  wire::reader in{bytes, this};
  auto head = detail::large_record_head::decode(in);
  const std::string_view name = head.tag;
  std::vector<std::string>& names = head.names;
  bool current;
  port_id to = local_port(head.to, current);
  if (to.local() != target) wire::reader::fail("a large message's port changed");
  bool added = false;
  tag t = coport::detail::intern_remote_tag(name, new_tags_ < detail::new_tags_per_channel, &added);
  new_tags_ += added;
  std::string refused;
  if (t.empty() && !name.empty()) refused = too_many_tags;
  auto dec = coport::detail::resolve_payload(names);
  message m;
  if (!dec->error.empty()) {
    refused = dec->error;
  } else if (refused.empty()) {
    m = message{coport::detail::decode_values(t, in, *dec)};
    if (!in.done()) wire::reader::fail("a large message has bytes after its end");
    attach_trace(m, std::move(trace), bytes.size());
  }
  notify([&] { return frame_event{"message", {}, to, std::string{name}, names}; });
  // Its place in its port's line is filled; what is ready at the front goes.
  std::deque<reassembly::entry> ready;
  large_.fill(target, id, reassembly::entry{to, current, std::move(m), std::move(refused)}, ready);
  for (auto& e : ready) {
    deliver(e.to, e.current, std::move(e.msg), e.refused);
    if (closed_) return;
  }
}

void receiver::hole(const port_id& to, const reason& why) {
  endpoint_->count_drop();
  log(log_error, {"transport", endpoint_->owner.id()}, "dropped a message from {} for {}: {}",
      peer_->id(), to.to_string(), why.to_string());
  if (holes_.size() >= detail::max_holes) {
    fail("too many ports with lost messages await acknowledgement");
    return;
  }
  holes_.insert(to.local());
  peer_->send_control(
      control_frame(frame_kind::lost, to.local(), endpoint_->owner.incarnation(), &why));
}

void receiver::on_spawn(wire::reader& r) {
  const detail::spawn_head head = detail::spawn_head::decode(r);
  const std::uint64_t local = head.local;
  std::string init{head.init};
  const bool watched = head.watched;
  node& n = endpoint_->owner;
  // Only an init registered here is looked at further: a peer's names are not interned, and
  // its arguments are not decoded, for inits that do not exist (accept_spawn refuses them).
  std::string refused;
  std::uint64_t ss = 0;
  message args;
  if (n.has_init(init)) {
    args = read_payload(r, tag{init}, refused, ss);
  } else {
    r.raw(r.remaining());
  }
  notify([&] {
    return frame_event{
        "spawn", {}, coport::detail::make_port_id(own_node_, local, n.incarnation()), init, {}};
  });
  std::uint32_t inc = n.incarnation();
  coport::detail::unique_function<void(const reason&)> on_death;
  if (watched) {
    on_death = watches_->on_death(local, inc);
  }
  // Arguments that do not decode here still make a (dead) port, so that a monitor made
  // later on the spawning node learns why.
  // accept_spawn refuses an init not registered here and, per peer, ports beyond
  // node::max_spawned_per_peer alive; `why` says so.
  reason why{"spawn_failed", "the port number is in use or invalid"};
  port_id id =
      refused.empty()
          ? endpoint_->node_end.accept_spawn(local, init, std::move(args), std::move(on_death),
                                             peer_->id(), &why)
          : endpoint_->node_end.refuse_spawn(
                local, reason{"bad_message", fmt::format("spawn of '{}': {}", init, refused)},
                std::move(on_death));
  if (id.is_null()) send_died(local, inc, why);
}

void receiver::on_watch(const port_id& target) {
  watches_->watch(endpoint_->owner, target, endpoint_->owner.incarnation());
}

void receiver::send_died(std::uint64_t local, std::uint32_t incarnation, const reason& why) {
  if (closed_.load(std::memory_order_acquire)) return;
  peer_->send_control(control_frame(frame_kind::died, local, incarnation, &why));
}

}  // namespace coport::transport
