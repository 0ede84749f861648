// The sending side of the node-to-node protocol: what happens to a message, kill, monitor
// or spawn for a port of another node (see peer.hpp).
#include "peer.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "coport/internal/link_seam.hpp"
#include "endpoint_impl.hpp"
#include "port_release.hpp"
#include "receiver.hpp"
#include "transport_log.hpp"

namespace coport::transport {

using detail::control_frame;
using detail::frame_kind;
using detail::log;
using detail::log_error;
using detail::log_warn;

namespace {

reason transport_error(std::string_view node, std::string text) {
  return reason{"transport_error", std::string{node}, std::move(text)};
}

}  // namespace

// -- peer: the sending side
// ------------------------------------------------------------------------

peer::peer(endpoint::impl& at, std::string id, std::uint32_t node_number)
    : endpoint_{at}, id_{std::move(id)}, node_number_{node_number} {}

std::string peer::route_locked() {
  if (!encoder_) encoder_ = std::make_unique<message_encoder>();  // fresh with each stream
  if (out_channel_) {
    std::size_t queued = out_channel_->queued();
    if (queued > endpoint_.options.max_queue) {
      return fmt::format(
          "the outgoing queue to that node is full ({} bytes waiting, the bound "
          "is {})",
          queued, endpoint_.options.max_queue);
    }
    return {};
  }
  // A link waiting to resume dialed once when it broke (the dialer retries until its
  // deadline); it may also wait for the peer to connect.
  if (!receiver_ && !dialing_ && !suspended_) {
    if (!endpoint_.dialer) return "no connection to that node";
    dialing_ = true;
    endpoint_.dialer->dial(id_);  // returns at once; the outcome comes later
  }
  if (pending_.size() > endpoint_.options.max_queue) {
    return fmt::format("{} bytes already wait for the connection (the bound is {})",
                       pending_.size(), endpoint_.options.max_queue);
  }
  return {};
}

std::size_t peer::take_pending_locked(bool write) {
  if (write && !pending_.empty()) out_channel_->write(pending_);
  pending_.clear();
  pending_.shrink_to_fit();
  return std::exchange(pending_messages_, 0);
}

bool peer::flush_locked() {
  if (out_.empty()) return false;
  bytes_sent_ += out_.size();
  if (out_channel_) return out_channel_->write(out_);
  pending_.insert(pending_.end(), out_.begin(), out_.end());
  return true;
}

void peer::refuse(const port_id& to, const std::string& text,
                  coport::detail::unique_function<void()> after) {
  endpoint_.count_drop();
  if (std::size_t more = 0; refusals_logged_.allow(more)) {
    log(log_error, {"transport", endpoint_.owner.id()}, "a message to {} was not sent: {}{}",
        to.to_string(), text,
        more ? fmt::format(" ({} more were refused since the last line)", more) : std::string{});
  }
  port_down(to.local(), to.incarnation(), transport_error(id_, text), std::move(after));
}

void peer::send_message(const port_id& to, message msg) {
  std::string error;
  coport::detail::unique_function<void()> after;
  bool overflow = false;
  {
    std::lock_guard lock{mutex_};
    if (!held_.empty() && held_.count(to.local())) {
      if (gone_locked(to)) return;
      if (waiting_.size() < max_held_messages) {
        waiting_.emplace_back(to, std::move(msg));
        return;
      }
      overflow = true;
      after = hold_locked({to.local()});
    } else {
      send_locked(to, msg, error);
      // A message was refused: later ones to that port wait until its monitors ran (also
      // those whose watch could not be sent, which fire later).
      if (!error.empty()) after = hold_locked({to.local()});
    }
  }
  if (overflow) {
    refuse(to,
           fmt::format("cannot send {}: {} messages already wait for monitors to run",
                       msg.describe(), max_held_messages),
           std::move(after));
  } else if (!error.empty()) {
    refuse(to, fmt::format("cannot send {}: {}", msg.describe(), error), std::move(after));
  }
}

bool peer::gone_locked(const port_id& to) {
  if (to.incarnation() != 0 &&
      ((up_ && to.incarnation() != incarnation_) || to.incarnation() == left_incarnation_)) {
    endpoint_.count_drop();  // a port of an earlier or a finished incarnation: gone
    return true;
  }
  return false;
}

bool peer::send_locked(const port_id& to, message& msg, std::string& error) {
  if (gone_locked(to)) return true;
  // A traced message: its context goes in a trace frame right before it (frame.hpp). Only
  // to a node that reads trace frames (one not connected yet is taken to: what waits for it
  // is what this build would send; README "Rolling upgrades").
  std::vector<std::byte> trace;
  auto mark = coport::detail::take_trace(msg);
  if (mark && (capabilities_.load(std::memory_order_relaxed) & detail::capability_tracing) != 0) {
    const port_id& from = mark->from;
    detail::trace_frame::encode(trace, mark->context,
                                from && endpoint_.owner.is_local(from) ? from.local() : 0);
  }
  error = route_locked();
  if (error.empty()) {
    error = encoder_->encode(out_, frame_kind::message, to, msg, {}, false,
                             endpoint_.options.max_frame);
  }
  if (!error.empty()) return false;
  if (up_ && encoder_->values_size() > detail::large_message) {
    // Large: the defs go now, the message as a record in fragments (see frame.hpp).
    out_.resize(encoder_->frame_start());
    out_.insert(out_.end(), trace.begin(), trace.end());
    if (!out_.empty()) flush_locked();
    std::vector<std::byte> record = encoder_->large_record(to, msg);
    const std::size_t size = record.size();
    if (!out_channel_->write_large(std::move(record))) {
      error = "the connection is closed";
      return false;
    }
    endpoint_.sent.fetch_add(1, std::memory_order_relaxed);
    ++messages_sent_;
    bytes_sent_ += size;
    return true;
  }
  if (!trace.empty()) {
    out_.insert(out_.begin() + static_cast<std::ptrdiff_t>(encoder_->frame_start()), trace.begin(),
                trace.end());
  }
  if (!flush_locked()) {
    error = "the connection is closed";
    return false;
  }
  endpoint_.sent.fetch_add(1, std::memory_order_relaxed);
  ++messages_sent_;
  if (!up_) ++pending_messages_;
  return true;
}

// -- no holes: messages to a port whose monitors fired wait until they have run -------------

coport::detail::unique_function<void()> peer::hold_watched_locked() {
  if (watching_.empty()) return {};
  std::vector<std::uint64_t> ports;
  ports.reserve(watching_.size());
  for (const auto& [local, id] : watching_) ports.push_back(local);
  return hold_locked(std::move(ports));
}

coport::detail::unique_function<void()> peer::hold_locked(std::vector<std::uint64_t> ports) {
  coport::detail::unique_function<void()> after{
      detail::port_release{endpoint_.weak_from_this(), weak_from_this(), ports}};
  for (auto local : ports) ++held_[local];  // nothing throws past here
  return after;
}

coport::detail::unique_function<void()> peer::hold(std::uint64_t local) {
  std::lock_guard lock{mutex_};
  return hold_locked({local});
}

void peer::release(const std::vector<std::uint64_t>& ports, bool send) {
  struct refused_message {
    port_id to;
    std::string text;
    coport::detail::unique_function<void()> after;
  };
  std::vector<refused_message> refused;
  std::size_t dropped = 0;
  {
    std::lock_guard lock{mutex_};
    for (auto local : ports) {
      if (auto it = held_.find(local); it != held_.end() && --it->second == 0) held_.erase(it);
    }
    // What waited for a port that is free now goes, in the order it was sent, before any
    // later message to it (they take this lock after). A refusal holds that port again:
    // what follows it to that port waits for its monitors in turn.
    // Once one to a port is refused, the rest to it are refused with it (one hold, one
    // firing of its monitors: O(n) however many wait).
    std::deque<std::pair<port_id, message>> still;
    std::vector<std::uint64_t> refused_ports;
    for (auto& [to, msg] : waiting_) {
      const bool refused_here =
          std::find(refused_ports.begin(), refused_ports.end(), to.local()) != refused_ports.end();
      if (refused_here) {
        ++dropped;
      } else if (held_.count(to.local())) {
        still.emplace_back(to, std::move(msg));
      } else if (!send) {
        ++dropped;  // the transport is ending
      } else if (std::string error; !send_locked(to, msg, error)) {
        refused_ports.push_back(to.local());
        refused.push_back(refused_message{to,
                                          fmt::format("cannot send {}: {}", msg.describe(), error),
                                          hold_locked({to.local()})});
      }
    }
    waiting_.swap(still);
  }
  if (dropped) endpoint_.count_drop(dropped);
  for (auto& r : refused) refuse(r.to, r.text, std::move(r.after));
}

void peer::send_kill(const port_id& target, const reason& why) {
  std::lock_guard lock{mutex_};
  if (std::string error = route_locked(); !error.empty()) {
    log(log_warn, {"transport", endpoint_.owner.id()}, "cannot kill {}: {}", target.to_string(),
        error);
    return;
  }
  out_ = control_frame(frame_kind::kill, target.local(), target.incarnation(), &why);
  flush_locked();
}

void peer::watch(const port_id& target) {
  reason fail;
  coport::detail::unique_function<void()> after;
  {
    std::lock_guard lock{mutex_};
    if (target.incarnation() != 0 && up_ && target.incarnation() != incarnation_) {
      fail =
          reason{"no_such_port", "port of an earlier incarnation of its node", target.to_string()};
    } else if (target.incarnation() != 0 && target.incarnation() == left_incarnation_) {
      fail = left_reason();  // its node left: the port ended with it
    } else if (std::string error = route_locked(); !error.empty()) {
      fail = transport_error(id_, error);
    } else {
      watching_.insert_or_assign(target.local(), target);
      out_ = control_frame(frame_kind::watch, target.local(), target.incarnation(), nullptr);
      if (flush_locked()) return;
      watching_.erase(target.local());
      fail = transport_error(id_, "the connection is closed");
    }
    // The monitor fires later: what is sent to the port meanwhile waits until it has run.
    after = hold_locked({target.local()});
  }
  endpoint_.fire_later(target, std::move(fail), std::move(after));
}

void peer::unwatch(const port_id& target) {
  std::lock_guard lock{mutex_};
  if (!watching_.erase(target.local()) || (!receiver_ && !dialing_ && !suspended_)) return;
  out_ = control_frame(frame_kind::unwatch, target.local(), target.incarnation(), nullptr);
  flush_locked();
}

port_id peer::spawn(const port_id& port, std::string_view init, message args, bool watched) {
  std::string error;
  port_id id = port;
  {
    std::lock_guard lock{mutex_};
    if (up_) id = coport::detail::make_port_id(port.node_number(), port.local(), incarnation_);
    error = route_locked();
    if (error.empty()) {
      error = encoder_->encode(out_, frame_kind::spawn, id, args, init, watched,
                               endpoint_.options.max_frame);
    }
    if (error.empty()) {
      if (watched) watching_.insert_or_assign(id.local(), id);
      if (!flush_locked()) {
        watching_.erase(id.local());
        error = "the connection is closed";
      }
    }
  }
  if (!error.empty()) {
    endpoint_.count_drop();
    log(log_error, {"transport", endpoint_.owner.id()}, "spawn of '{}' on {} failed: {}", init, id_,
        error);
    // Called under the node's monitor lock: the monitors fire later.
    endpoint_.fire_later(id, transport_error(id_, fmt::format("spawn failed: {}", error)));
  }
  return id;
}

bool peer::adopt(const std::shared_ptr<receiver>& c) {
  std::lock_guard lock{mutex_};
  // Closed before it got here (~endpoint closed it between attach's registration and this
  // call): its lost() found it not current, so it must not become current now, or the
  // cycle peer -> receiver -> endpoint is never broken (a leak at teardown). closed_ is set
  // before lost() takes this mutex: either lost() sees it current, or this sees it closed.
  if (c->closed()) return false;
  if (receiver_ && receiver_ != c) return false;
  receiver_ = c;
  return true;
}

verdict peer::offer(const std::shared_ptr<receiver>& c, std::uint32_t incarnation) {
  std::shared_ptr<receiver> abandoned;
  {
    std::lock_guard lock{mutex_};
    if (!receiver_) {
      receiver_ = c;
      up_ = false;
      return verdict::accept;
    }
    if (receiver_ == c) return verdict::accept;
    // While a channel to the node lives, another one claiming its ID is refused: a second
    // process, or the node restarted while its old channel is not yet known dead (it then
    // gets in once that channel closes or times out: its dial retries until its deadline).
    // So is the same incarnation after a reset only it saw: our next heartbeat on the old
    // channel meets the reset too, and the link resumes at its next try.
    (void)incarnation;
    if (up_ || !receiver_->outgoing()) return verdict::duplicate;
    // Both nodes opened a channel at once: both ends keep the one the smaller ID opened.
    if (endpoint_.owner.id() < id_) return verdict::simultaneous;
    abandoned = std::exchange(receiver_, c);
  }
  abandoned->close_now("the peer's simultaneous connection is kept instead");
  return verdict::accept;
}

std::optional<peer::kept> peer::kept_for(std::uint32_t incarnation) const {
  std::lock_guard lock{mutex_};
  if (!suspended_ || !kept_stream_ || incarnation != incarnation_) return std::nullopt;
  return kept{session_, kept_taken_};
}

coport::detail::unique_function<void()> peer::end_suspension_locked(std::shared_ptr<receiver>& old,
                                                                    std::size_t& dropped) {
  old = std::move(suspended_);
  kept_stream_.reset();
  ++suspension_;  // its timers find nothing to do
  auto after = hold_watched_locked();
  encoder_.reset();  // what waited was encoded for the broken channel's caches
  watching_.clear();
  dropped += take_pending_locked(false);
  return after;
}

void peer::after_suspension(std::uint64_t n, std::chrono::milliseconds delay, bool redial) {
  endpoint_.owner.after(delay, [at = endpoint_.weak_from_this(), p = weak_from_this(), n, redial] {
    auto a = at.lock();  // the transport first: the peer refers to it
    auto q = p.lock();
    if (!a || !q) return;
    if (redial) {
      q->redial(n);
    } else {
      q->give_up(n);
    }
  });
}

peer::start_as peer::established(const std::shared_ptr<receiver>& c, std::uint32_t incarnation,
                                 std::uint64_t version, std::uint64_t capabilities,
                                 std::uint64_t session, std::uint64_t resumed_session,
                                 std::optional<std::uint64_t> resume_from,
                                 std::shared_ptr<receiver>& old) {
  std::shared_ptr<receiver> ended;  // a suspended link's receiver that did not resume
  coport::detail::unique_function<void()> after;
  std::size_t dropped = 0;
  std::string why;
  start_as how = start_as::fresh;
  {
    std::lock_guard lock{mutex_};
    if (receiver_ != c) return start_as::closed;  // given up meanwhile (simultaneous connect)
    // Both ends named these streams (receiver::on_resume); checked again under the lock.
    const bool resumable = resume_from && suspended_ && kept_stream_ &&
                           incarnation == incarnation_ && session_ == resumed_session;
    if (resumable &&
        (*resume_from < kept_stream_->acknowledged() || *resume_from > kept_stream_->end())) {
      // The peer says it took what was acknowledged before, or what was never sent: the
      // channel fails, and the link is lost (once: the channel is no longer current).
      after = end_suspension_locked(ended, dropped);
      why = suspended_why_;
      how = start_as::refused;
      receiver_.reset();
      dialing_ = false;
    } else if (resumable) {
      // The link carries on: the stream from what the peer took, then what waited (encoded
      // for the same caches), and nothing else happens. A channel that closed meanwhile
      // takes nothing: the link waits on (its loss comes next).
      if (!c->channel_handle()->keep_stream(kept_stream_, *resume_from)) return start_as::closed;
      up_ = true;
      version_ = static_cast<std::uint32_t>(version);
      capabilities_.store(capabilities, std::memory_order_relaxed);
      out_channel_ = c->channel_handle();
      dialing_ = false;
      ++resumes_;
      round_trip_us_.store(-1, std::memory_order_relaxed);
      old = std::move(suspended_);
      ++suspension_;
      take_pending_locked(true);
      log(detail::log_info, {"transport", endpoint_.owner.id()},
          "the link to {} resumed from byte {} of our stream", id_, *resume_from);
      return start_as::resumed;
    } else if (suspended_) {
      // The peer kept nothing of ours (it gave up, or restarted): the broken link is lost now.
      after = end_suspension_locked(ended, dropped);
      why = suspended_why_;
    }
  }
  if (dropped) endpoint_.dropped.fetch_add(dropped, std::memory_order_relaxed);
  if (!why.empty()) {
    endpoint_.node_end.remote_node_lost(id_, transport_error(id_, why), std::move(after));
  }
  if (ended) ended->forget_watches();  // outside our lock: the monitor table comes first
  if (how == start_as::refused) return how;
  {
    std::lock_guard lock{mutex_};
    if (receiver_ != c) return start_as::closed;
    up_ = true;
    version_ = static_cast<std::uint32_t>(version);
    capabilities_.store(capabilities, std::memory_order_relaxed);
    out_channel_ = c->channel_handle();
    dialing_ = false;
    round_trip_us_.store(-1, std::memory_order_relaxed);  // the new channel's is measured anew
    incarnation_ = incarnation;
    session_ = session;  // the streams that start now are named after this channel
    ++connections_;
    // The same incarnation back (a new transport on that node): its ports live.
    if (incarnation == left_incarnation_) left_incarnation_ = 0;
    if ((capabilities & detail::capability_resume) != 0 &&
        endpoint_.options.resume_window->count() > 0) {
      // What is kept: the queue's bound, and as much again for what is in flight (with no
      // window, nothing: this node never resumes, though it acknowledges what it takes).
      auto stream = std::make_unique<detail::sent_stream>(2 * endpoint_.options.max_queue);
      out_channel_->keep_stream(stream, 0);  // a closed channel: its loss comes next
    }
    take_pending_locked(true);
  }
  return start_as::fresh;
}

void peer::announce_up() {
  endpoint_.node_end.remote_node_up(id_);
}

void peer::yield(const receiver* c) {
  std::lock_guard lock{mutex_};
  if (receiver_.get() == c && !up_) receiver_.reset();
}

bool peer::lost(const receiver* c, const std::string& why) {
  std::size_t dropped = 0;
  bool left = false;
  coport::detail::unique_function<void()> after;
  std::optional<reason> lost_why;  // the node is lost (else the link waits to resume)
  std::uint64_t suspension = 0;    // the link began to wait (its timer's number)
  std::uint64_t redial = 0;        // a channel it waited on ended: dial again a little later
  bool dial = false;
  {
    std::lock_guard lock{mutex_};
    if (receiver_.get() != c) return false;
    left = std::exchange(left_, false);
    std::unique_ptr<detail::sent_stream> stream;
    if (up_ && !left && endpoint_.options.resume_window->count() > 0 && out_channel_ &&
        (capabilities_.load(std::memory_order_relaxed) & detail::capability_resume) != 0) {
      stream = out_channel_->take_stream();  // null unless the channel broke (channel.hpp)
    }
    if (stream) {
      // The link waits for the same incarnation to connect again: nothing fires yet, and
      // what is sent meanwhile waits (encoded for the same caches) behind the replay.
      suspended_ = receiver_;
      kept_stream_ = std::move(stream);
      kept_taken_ = c->taken();
      suspended_why_ = why;
      suspension = ++suspension_;
      receiver_.reset();
      out_channel_.reset();
      up_ = false;
      dialing_ = false;
      if (endpoint_.dialer) dial = dialing_ = true;
    } else if (suspended_ && !up_) {
      // A channel that came while the link waited to resume ended before it was up: the
      // link waits on (its timer decides), and dials again a little later.
      receiver_.reset();
      dialing_ = false;
      redial = suspension_;
    } else {
      after = hold_watched_locked();
      receiver_.reset();
      out_channel_.reset();
      encoder_.reset();
      up_ = false;
      dialing_ = false;
      watching_.clear();
      out_.clear();
      out_.shrink_to_fit();
      dropped = take_pending_locked(false);
      // Every monitor on that node's ports fires (no holes), and the node-down events: with
      // `shutdown` after a bye (the node left), else the failure. Also the watches made
      // between the bye and this close.
      lost_why = left ? left_reason() : transport_error(id_, why);
    }
  }
  if (dropped) endpoint_.dropped.fetch_add(dropped, std::memory_order_relaxed);
  if (lost_why) {
    endpoint_.node_end.remote_node_lost(id_, *lost_why, std::move(after));
    return false;
  }
  if (suspension != 0) {
    log(detail::log_info, {"transport", endpoint_.owner.id()},
        "the connection to {} broke ({}): the link waits up to {} ms to resume", id_, why,
        endpoint_.options.resume_window->count());
    after_suspension(suspension, *endpoint_.options.resume_window, false);
  }
  if (dial) endpoint_.dialer->dial(id_);
  if (redial != 0 && endpoint_.dialer)
    after_suspension(redial, std::chrono::milliseconds{100}, true);
  return suspension != 0;
}

void peer::redial(std::uint64_t n) {
  {
    std::lock_guard lock{mutex_};
    if (n != suspension_ || !suspended_ || receiver_ || dialing_ || !endpoint_.dialer) return;
    dialing_ = true;
  }
  endpoint_.dialer->dial(id_);
}

void peer::give_up(std::uint64_t n) {
  std::shared_ptr<receiver> ended;
  coport::detail::unique_function<void()> after;
  std::size_t dropped = 0;
  std::string why;
  {
    std::lock_guard lock{mutex_};
    if (n != suspension_ || !suspended_) return;
    if (!receiver_) {
      dialing_ = false;
      after = end_suspension_locked(ended, dropped);
      why = fmt::format("{} (the link did not resume within {} ms)", suspended_why_,
                        endpoint_.options.resume_window->count());
    }
  }
  if (why.empty()) {
    // A channel being set up may still resume the link: looked at again shortly (its
    // handshake is bounded; a yield or a refusal leaves no channel).
    after_suspension(n, std::chrono::milliseconds{100}, false);
    return;
  }
  if (dropped) endpoint_.dropped.fetch_add(dropped, std::memory_order_relaxed);
  log(log_error, {"transport", endpoint_.owner.id()}, "the link to {} is lost: {}", id_, why);
  endpoint_.node_end.remote_node_lost(id_, transport_error(id_, why), std::move(after));
  if (ended) ended->forget_watches();
}

void peer::abandon() {
  std::shared_ptr<receiver> ended;
  std::size_t dropped = 0;
  coport::detail::unique_function<void()> after;  // dropped uncalled, outside the lock
  {
    std::lock_guard lock{mutex_};
    if (!suspended_) return;
    after = end_suspension_locked(ended, dropped);
  }
  // The node lives on without this transport: the monitors on that node's ports fire now
  // (what waited for them is dropped: `after` is not called, the transport ends).
  endpoint_.node_end.remote_node_lost(id_, transport_error(id_, "the transport was destroyed"), {});
  if (ended) ended->forget_watches();
}

void peer::send_control(std::vector<std::byte> frame) {
  std::uint64_t overflow = 0;
  {
    std::lock_guard lock{mutex_};
    if (up_ && out_channel_) {
      out_channel_->write(frame);
    } else if (suspended_ && pending_.size() + frame.size() <= endpoint_.options.max_queue) {
      pending_.insert(pending_.end(), frame.begin(), frame.end());  // after the replay
    } else if (suspended_) {
      overflow = suspension_;  // more owed than may wait: the link cannot resume whole
    }
  }
  if (overflow != 0) give_up(overflow);
}

void peer::leaving(const receiver* c) {
  std::lock_guard lock{mutex_};
  if (receiver_.get() != c || !up_ || left_) return;
  left_ = true;
  left_incarnation_ = incarnation_;
}

void peer::say_bye(const reason& why) {
  std::lock_guard lock{mutex_};
  if (!up_ || !out_channel_) return;
  out_ = detail::bye_frame::encode(why);
  flush_locked();
}

void peer::unreachable(const std::string& why) {
  std::size_t dropped = 0;
  coport::detail::unique_function<void()> after;
  {
    std::lock_guard lock{mutex_};
    if (receiver_ || !dialing_) return;  // a channel came meanwhile: it decides
    dialing_ = false;
    // A link waiting to resume waits on: the peer may connect to us (its window decides).
    if (suspended_) return;
    after = hold_watched_locked();
    encoder_.reset();
    watching_.clear();
    dropped = take_pending_locked(false);
  }
  if (dropped) endpoint_.dropped.fetch_add(dropped, std::memory_order_relaxed);
  log(log_error, {"transport", endpoint_.owner.id()},
      "unable to connect to {}: {} ({} messages dropped)", id_, why, dropped);
  endpoint_.node_end.remote_node_lost(id_, transport_error(id_, "unable to connect: " + why),
                                      std::move(after));
}

bool peer::wants_channel() const {
  std::lock_guard lock{mutex_};
  return !receiver_ && dialing_;
}

link_stats peer::stats() const {
  link_stats s;
  s.node = id_;
  s.messages_received = messages_received_.load(std::memory_order_relaxed);
  s.bytes_received = bytes_received_.load(std::memory_order_relaxed);
  const auto us = round_trip_us_.load(std::memory_order_relaxed);
  std::lock_guard lock{mutex_};
  s.incarnation = incarnation_;
  s.up = up_;
  s.protocol_version = version_;
  if (version_ != 0) s.capabilities = capabilities_.load(std::memory_order_relaxed);
  if (up_ && us >= 0) s.round_trip = std::chrono::microseconds{us};  // the current channel's
  s.connections = connections_;
  s.resumes = resumes_;
  s.messages_sent = messages_sent_;
  s.bytes_sent = bytes_sent_;
  s.queued_bytes = out_channel_ ? out_channel_->queued() : pending_.size();
  return s;
}

std::size_t peer::queued() const {
  std::lock_guard lock{mutex_};
  if (out_channel_) return out_channel_->queued();
  return pending_.size();
}

bool peer::port_down(std::uint64_t local, std::uint32_t incarnation, const reason& why,
                     coport::detail::unique_function<void()> after) {
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
  return endpoint_.node_end.remote_port_died(id, why, std::move(after));
}

std::uint32_t peer::incarnation() const {
  std::lock_guard lock{mutex_};
  return up_ ? incarnation_ : 0;
}

}  // namespace coport::transport
