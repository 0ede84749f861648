// One TCP connection as a protocol channel (see tcp_channel.hpp).
#include "tcp_channel.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/socket.h>

#include <asio/bind_executor.hpp>
#include <asio/post.hpp>
#include <asio/write.hpp>
#include <cerrno>
#include <cstring>

#include "address.hpp"
#include "frame.hpp"
#include "handshake.hpp"
#include "transport_log.hpp"

namespace coport::transport {

namespace {

/// Channels whose writes this thread's current run made, sent when the run ends.
thread_local std::vector<std::weak_ptr<tcp_channel>> dirty_channels;

/// The read buffer starts small (an idle connection costs little) and doubles, up to the
/// maximum, each time a read fills it (a busy one reads many frames a syscall).
constexpr std::size_t first_read_size = 4 << 10;
constexpr std::size_t max_read_size = 256 << 10;
/// A handler's writes wait for its run's end up to this much.
constexpr std::size_t batch_bytes = 64 << 10;
/// Write buffers larger than this are given back once the channel has nothing to send at a
/// timer tick (not each time they empty: a stream behind a slow link would fault its
/// megabytes in afresh on every write round).
constexpr std::size_t keep_capacity = 4 << 20;
/// TLS encrypts this much plaintext per write round.
constexpr std::size_t tls_piece = 256 << 10;

std::string remote_text(const asio::ip::tcp::socket& s) {
  asio::error_code ec;
  auto ep = s.remote_endpoint(ec);
  return ec ? std::string{"an unknown address"} : detail::endpoint_text(ep);
}

}  // namespace

tcp_channel::tcp_channel(std::shared_ptr<void> context, asio::ip::tcp::socket socket, strand s,
                         tcp_timing timing, std::shared_ptr<tcp_counters> counters,
                         tcp_channel_events events, std::unique_ptr<tls_session> tls,
                         std::string node_id)
    : context_{std::move(context)},
      socket_{std::move(socket)},
      strand_{std::move(s)},
      fd_{socket_.native_handle()},
      timing_{timing},
      counters_{std::move(counters)},
      events_{std::move(events)},
      remote_{remote_text(socket_)},
      timer_{strand_},
      hold_timer_{strand_},
      tls_{std::move(tls)},
      node_id_{std::move(node_id)},
      created_{clock::now()} {
  asio::error_code ec;
  socket_.set_option(asio::ip::tcp::no_delay{true}, ec);
  last_read_.store(created_.time_since_epoch().count(), std::memory_order_relaxed);
  last_write_.store(created_.time_since_epoch().count(), std::memory_order_relaxed);
  counters_->open.fetch_add(1, std::memory_order_relaxed);
}

tcp_channel::~tcp_channel() {
  counters_->open.fetch_sub(1, std::memory_order_relaxed);
}

void tcp_channel::start(std::shared_ptr<channel_handler> handler) {
  asio::post(strand_, [self = shared_from_this(), handler = std::move(handler)]() mutable {
    if (self->shut_.load(std::memory_order_acquire)) {
      std::string why;
      {
        std::lock_guard lock{self->mutex_};
        why = self->close_why_;
      }
      handler->on_closed(why.empty() ? "closed" : why);
      return;
    }
    self->handler_ = std::move(handler);
    self->in_.resize(first_read_size);
    if (self->tls_) {
      // The client speaks first; its hello goes now. (A server's first step needs bytes.)
      if (auto why = self->tls_->handshake(); !why.empty()) return self->shut(why);
      self->tls_->take_output(self->tls_out_);
      self->write_tls_output();
    }
    self->read();
    self->tick();
  });
}

// -- writing ------------------------------------------------------------------------------------

bool tcp_channel::write(std::span<const std::byte> bytes) {
  std::unique_lock lock{mutex_};
  if (closed_) {
    // Broken and not yet taken by the peer: what is written goes on the stream, to be
    // replayed when the link resumes (lost with it if it does not).
    if (!broken_ || !stream_ || !stream_->whole()) return false;
    stream_->append(bytes);
    return true;
  }
  append_locked(bytes);
  queued_bytes_.fetch_add(bytes.size(), std::memory_order_relaxed);
  schedule_locked(lock);
  return true;
}

bool tcp_channel::write_large(std::vector<std::byte> record) {
  std::unique_lock lock{mutex_};
  if (closed_) {
    if (!broken_ || !stream_ || !stream_->whole()) return false;
    // Its first fragment on the stream now, in order with what was written around it (as
    // on an open channel); the rest goes on the next channel.
    std::vector<std::byte> frame;
    std::uint64_t id = next_record_++;
    std::size_t offset = detail::fragment_frame::encode(frame, record, 0, id);
    stream_->append(frame);
    if (offset < record.size()) stream_->unfinished.push_back({std::move(record), id, offset});
    return true;
  }
  // The first fragment goes in the stream now, in order with what was written before and
  // after it; the rest in later write rounds.
  std::uint64_t id = next_record_++;
  std::size_t offset = 0, framed = 0;
  if (sealer_) {
    std::vector<std::byte> frame;
    offset = detail::fragment_frame::encode(frame, record, 0, id);
    append_locked(frame);
    framed = frame.size();
  } else {
    std::size_t before = queued_.size();
    offset = detail::fragment_frame::encode(queued_, record, 0, id);
    framed = queued_.size() - before;
    if (stream_) stream_->append(std::span{queued_}.subspan(before));
  }
  queued_bytes_.fetch_add(framed + record.size() - offset, std::memory_order_relaxed);
  if (offset < record.size()) large_.push_back({std::move(record), id, offset});
  schedule_locked(lock);
  return true;
}

void tcp_channel::schedule_locked(std::unique_lock<std::mutex>& lock) {
  if (in_flight_) return;  // the write in flight takes it when it is done
  if (flush_due_) {
    // The run's end sends it; a producer that wrote a batch's worth sends it now.
    if (queued_.size() >= batch_bytes) send_locked(lock);
    return;
  }
  if (coport::flush_at_run_end(&tcp_channel::flush_thread)) {
    flush_due_ = true;
    dirty_channels.push_back(shared_from_this());
    return;
  }
  send_locked(lock);
}

bool tcp_channel::next_fragment_locked(std::vector<std::byte>& buf) {
  if (large_.empty()) return false;
  detail::pending_record& r = large_.front();
  std::size_t offset = r.sent, framed = 0;
  if (sealer_ && &buf == &queued_) {
    std::vector<std::byte> frame;
    r.sent = detail::fragment_frame::encode(frame, r.bytes, offset, r.id);
    append_locked(frame);
    framed = frame.size();
  } else {
    std::size_t before = buf.size();
    r.sent = detail::fragment_frame::encode(buf, r.bytes, offset, r.id);
    framed = buf.size() - before;
    if (stream_) stream_->append(std::span{buf}.subspan(before));
  }
  // The record's bytes become the fragment frame's in the count of what waits.
  std::size_t piece = r.sent - offset;
  queued_bytes_.fetch_add(framed - piece, std::memory_order_relaxed);
  if (r.sent == r.bytes.size()) large_.pop_front();
  return true;
}

void tcp_channel::flush_thread() {
  std::vector<std::weak_ptr<tcp_channel>> due;
  due.swap(dirty_channels);
  for (auto& weak : due) {
    if (auto ch = weak.lock()) ch->flush();
  }
  due.clear();
  if (dirty_channels.empty()) dirty_channels.swap(due);  // keep the capacity
}

void tcp_channel::flush() {
  std::unique_lock lock{mutex_};
  flush_due_ = false;
  if (!closed_ && !in_flight_) send_locked(lock);
}

void tcp_channel::append_locked(std::span<const std::byte> bytes, bool keep) {
  if (stream_ && keep) stream_->append(bytes);
  if (!sealer_) {
    queued_.insert(queued_.end(), bytes.begin(), bytes.end());
    return;
  }
  while (!bytes.empty()) {
    if (open_at_ == none) {
      open_at_ = queued_.size();
      queued_.resize(open_at_ + detail::record_header);  // the header's room
    }
    std::size_t body = queued_.size() - open_at_ - detail::record_header;
    std::size_t take = std::min(bytes.size(), detail::max_record - body);
    queued_.insert(queued_.end(), bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(take));
    bytes = bytes.subspan(take);
    if (body + take == detail::max_record) close_record_locked();
  }
}

void tcp_channel::close_record_locked() {
  if (open_at_ == none) return;
  sealer_->seal_in_place(queued_, open_at_);
  open_at_ = none;
  // What waits is counted as it will go: with the record's header and tag.
  queued_bytes_.fetch_add(detail::record_header + detail::record_tag, std::memory_order_relaxed);
}

std::vector<std::byte>& tcp_channel::wire_locked() {
  close_record_locked();
  return queued_;
}

void tcp_channel::send_locked(std::unique_lock<std::mutex>& lock) {
  if (tls_) {
    // Only ciphertext leaves, and only the strand touches the TLS session: hand it all over.
    sending_.swap(queued_);
    next_fragment_locked(sending_);
    if (sending_.empty()) return;
    in_flight_ = true;
    lock.unlock();
    asio::post(strand_, [self = shared_from_this()] { self->write_async(); });
    return;
  }
  // Nothing is in flight: the kernel takes what it can now, on this thread. One fragment of
  // a large record rides with the small frames; more while the kernel keeps taking them.
  next_fragment_locked(queued_);
  std::size_t done = 0;
  int error = 0;
  for (;;) {
    std::vector<std::byte>& out = wire_locked();
    if (done == out.size()) {
      counters_->bytes_sent.fetch_add(done, std::memory_order_relaxed);
      queued_bytes_.fetch_sub(done, std::memory_order_relaxed);
      out.clear();
      done = 0;
      if (!next_fragment_locked(queued_)) break;
      continue;
    }
    ssize_t n = ::send(fd_, out.data() + done, out.size() - done, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
      last_write_.store(clock::now().time_since_epoch().count(), std::memory_order_relaxed);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    error = n < 0 ? errno : EPIPE;
    break;
  }
  std::vector<std::byte>& out = wire_locked();
  if (done) {
    counters_->bytes_sent.fetch_add(done, std::memory_order_relaxed);
    queued_bytes_.fetch_sub(done, std::memory_order_relaxed);
  }
  if (error) {
    queued_bytes_.store(0, std::memory_order_relaxed);
    drop_queued_locked();
    broke_locked();
    closed_ = true;
    lock.unlock();
    std::string why = fmt::format("sending failed: {}", std::strerror(error));
    asio::post(strand_, [self = shared_from_this(), why] { self->shut(why); });
    return;
  }
  if (done == out.size()) {
    out.clear();
    return;
  }
  // The rest goes in the background, with whatever is written meanwhile.
  sending_.assign(out.begin() + static_cast<std::ptrdiff_t>(done), out.end());
  out.clear();
  in_flight_ = true;
  lock.unlock();
  asio::post(strand_, [self = shared_from_this()] { self->write_async(); });
}

void tcp_channel::write_async() {
  if (shut_.load(std::memory_order_acquire)) return;
  if (tls_) {
    if (!tls_->ready()) {
      tls_waiting_ = true;  // the handshake's end sends it
      return;
    }
    tls_encrypted_ = 0;
    encrypt_tls();
    return;
  }
  asio::async_write(socket_, asio::buffer(sending_),
                    asio::bind_executor(strand_, [self = shared_from_this()](
                                                     const asio::error_code& ec, std::size_t n) {
                      if (ec) {
                        {
                          std::lock_guard lock{self->mutex_};
                          self->broke_locked();  // the link may resume
                        }
                        self->shut(fmt::format("sending failed: {}", ec.message()));
                        return;
                      }
                      self->counters_->bytes_sent.fetch_add(n, std::memory_order_relaxed);
                      self->after_write(n);
                    }));
}

void tcp_channel::after_write(std::size_t plain) {
  queued_bytes_.fetch_sub(plain, std::memory_order_relaxed);
  last_write_.store(clock::now().time_since_epoch().count(), std::memory_order_relaxed);
  std::unique_lock lock{mutex_};
  sending_.clear();
  if ((queued_.empty() && large_.empty()) || closed_) {
    in_flight_ = false;
    lock.unlock();
    if (events_.drained) events_.drained();
    return;
  }
  if (tls_) {
    sending_.swap(queued_);          // a gather of everything written
    next_fragment_locked(sending_);  // and one fragment
  } else {
    next_fragment_locked(queued_);
    sending_.swap(wire_locked());
  }
  lock.unlock();
  if (events_.drained) events_.drained();
  write_async();
}

void tcp_channel::encrypt_tls() {
  // A piece at a time: the ciphertext buffer stays small (a batch of megabytes encrypted at
  // once made OpenSSL's memory BIO and ours grow and fault in fresh pages each round).
  std::size_t n = std::min(tls_piece, sending_.size() - tls_encrypted_);
  if (auto why = tls_->send({sending_.data() + tls_encrypted_, n}); !why.empty()) return shut(why);
  tls_encrypted_ += n;
  if (tls_encrypted_ == sending_.size()) tls_plain_pending_ += sending_.size();
  tls_->take_output(tls_out_);
  write_tls_output();
}

void tcp_channel::write_tls_output() {
  if (tls_writing_ || tls_out_.empty() || shut_.load(std::memory_order_acquire)) return;
  tls_sending_.swap(tls_out_);
  tls_writing_ = true;
  asio::async_write(socket_, asio::buffer(tls_sending_),
                    asio::bind_executor(strand_, [self = shared_from_this()](
                                                     const asio::error_code& ec, std::size_t n) {
                      self->tls_writing_ = false;
                      if (ec) {
                        {
                          std::lock_guard lock{self->mutex_};
                          self->broke_locked();  // the link may resume
                        }
                        self->shut(fmt::format("sending failed: {}", ec.message()));
                        return;
                      }
                      self->counters_->bytes_sent.fetch_add(n, std::memory_order_relaxed);
                      self->tls_sending_.clear();
                      if (!self->tls_out_.empty()) return self->write_tls_output();
                      if (self->in_flight_tls_more()) return self->encrypt_tls();
                      if (std::size_t plain = std::exchange(self->tls_plain_pending_, 0)) {
                        self->after_write(plain);
                      }
                    }));
}

bool tcp_channel::receive_tls(std::size_t n) {
  bool was_ready = tls_->ready();
  tls_plain_.clear();
  std::string why = tls_->receive({in_.data(), n}, tls_plain_);
  tls_->take_output(tls_out_);  // handshake replies, alerts
  if (!why.empty()) {
    detail::log(detail::log_warn, {"transport", node_id_}, "refusing {}: {}", remote_, why);
    shut(why);  // (what the session had to say goes in a last send)
    return false;
  }
  write_tls_output();
  if (!was_ready && tls_->ready()) {
    detail::log(detail::log_info, {"transport", node_id_}, "TLS 1.3 with {} ({})", remote_,
                tls_->peer_subject());
    if (tls_waiting_) {
      tls_waiting_ = false;
      write_async();
    }
  }
  if (!tls_plain_.empty() && handler_) handler_->on_bytes(tls_plain_);
  return true;
}

std::size_t tcp_channel::queued() const {
  return queued_bytes_.load(std::memory_order_relaxed);
}

// -- reading, timers, the end -------------------------------------------------------------------

void tcp_channel::read() {
  if (handler_ && handler_->backlogged()) {
    counters_->inbound_pauses.fetch_add(1, std::memory_order_relaxed);
    hold_reading(std::chrono::milliseconds{1});
    return;
  }
  socket_.async_read_some(
      asio::buffer(in_),
      asio::bind_executor(strand_, [self = shared_from_this()](const asio::error_code& ec,
                                                               std::size_t n) {
        if (ec) {
          std::string why = ec == asio::error::eof
                                ? std::string{"the peer closed the connection"}
                                : fmt::format("receiving failed: {}", ec.message());
          if (self->tls_ && !self->tls_->ready()) {
            why = "the peer ended the connection during the TLS handshake (" + why + ")";
            detail::log(detail::log_warn, {"transport", self->node_id_}, "refusing {}: {}",
                        self->remote_, why);
          } else if (ec != asio::error::eof) {
            std::lock_guard lock{self->mutex_};
            self->broke_locked();  // a reset: the link may resume
          }
          self->shut(why);
          return;
        }
        self->last_read_.store(clock::now().time_since_epoch().count(), std::memory_order_relaxed);
        self->counters_->bytes_received.fetch_add(n, std::memory_order_relaxed);
        if (self->tls_) {
          if (!self->receive_tls(n)) return;
        } else {
          self->feed({self->in_.data(), n});
        }
        if (n == self->in_.size() && n < max_read_size) self->in_.resize(n * 2);
        if (!self->shut_.load(std::memory_order_acquire)) self->read();
      }));
}

void tcp_channel::hold_reading(std::chrono::milliseconds wait) {
  // Not reading is our choice, not the peer's silence: the node timeout does not run.
  last_read_.store(clock::now().time_since_epoch().count(), std::memory_order_relaxed);
  hold_timer_.expires_after(wait);
  hold_timer_.async_wait(
      asio::bind_executor(strand_, [self = shared_from_this(), wait](const asio::error_code& ec) {
        if (ec || self->shut_.load(std::memory_order_acquire)) return;
        if (self->handler_ && self->handler_->backlogged()) {
          self->hold_reading(std::min(wait * 2, std::chrono::milliseconds{50}));
          return;
        }
        self->read();
      }));
}

void tcp_channel::feed(std::span<std::byte> bytes) {
  if (!handler_) return;
  if (!opener_) {
    std::size_t used = handler_->on_bytes(bytes);
    if (used >= bytes.size() || !opener_) return;
    bytes = bytes.subspan(used);  // the handshake ended inside: the rest is records
  }
  if (std::string why = opener_->open(bytes, *this); !why.empty()) {
    detail::log(detail::log_error, {"transport", node_id_}, "ending the channel to {}: {}", remote_,
                why);
    shut("a record failed authentication: " + why);
  }
}

void tcp_channel::on_plain(std::span<const std::byte> plain) {
  if (handler_) handler_->on_bytes(plain);
}

bool tcp_channel::protect(const detail::channel_keys& keys) {
  if (tls_) return false;
  {
    std::lock_guard lock{mutex_};
    // What was written so far (the handshake's last frame) goes as it is; the rest sealed.
    sealer_ = std::make_unique<detail::record_sealer>(keys.send, keys.encrypt);
    open_at_ = none;
  }
  opener_ = std::make_unique<detail::record_opener>(keys.receive, keys.encrypt);
  return true;
}

std::string tcp_channel::check_certificate(std::string_view id) const {
  if (!tls_ || tls_->certificate_names(id)) return {};
  auto ids = tls_->certificate_node_ids();
  return ids.empty()
             ? std::string{"its TLS certificate names no node"}
             : fmt::format("its TLS certificate names {}, not {}", fmt::join(ids, ", "), id);
}

void tcp_channel::greeted() {
  greeted_.store(true, std::memory_order_release);
}

void tcp_channel::established(const std::string& peer, const std::vector<std::string>& addresses) {
  established_.store(true, std::memory_order_release);
  if (events_.established) events_.established(peer, addresses);
}

void tcp_channel::tick() {
  if (shut_.load(std::memory_order_acquire)) return;
  auto now = clock::now();
  auto since = [&](const std::atomic<clock::rep>& t) {
    return now - clock::time_point{clock::duration{t.load(std::memory_order_relaxed)}};
  };
  if (!established_.load(std::memory_order_acquire)) {
    if (!greeted_.load(std::memory_order_acquire) && now - created_ > timing_.hello_timeout) {
      shut(fmt::format("no hello within {} ms", timing_.hello_timeout.count()));
      return;
    }
    if (now - created_ > timing_.handshake_timeout) {
      shut(fmt::format("the handshake did not complete within {} ms",
                       timing_.handshake_timeout.count()));
      return;
    }
  } else {
    if (since(last_read_) > timing_.node_timeout) {
      counters_->timeouts.fetch_add(1, std::memory_order_relaxed);
      shut(fmt::format("nothing was heard for {} ms (the node timeout)",
                       timing_.node_timeout.count()));
      return;
    }
    if (queued_bytes_.load(std::memory_order_relaxed) > 0 &&
        since(last_write_) > timing_.node_timeout) {
      // A peer that never reads: what waits for it would grow without end.
      counters_->timeouts.fetch_add(1, std::memory_order_relaxed);
      shut(fmt::format("the peer took nothing written to it for {} ms (the node timeout)",
                       timing_.node_timeout.count()));
      return;
    }
    // A heartbeat on a channel silent for about an interval (ticks come every half interval:
    // three quarters of one, so that a tick a little early does not wait for the next); every
    // tenth tick it is a round-trip probe, busy or not (the receiver answers it:
    // link_stats::round_trip). (A heartbeat every half interval, as before, doubled what an
    // idle link cost both nodes: the frames and the wake-ups to read them.)
    if (++ticks_ % 10 == 0) {
      write(detail::heartbeat_body::encode(
          detail::heartbeat_body::probe,
          static_cast<std::uint64_t>(
              std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch())
                  .count())));
    } else if (since(last_write_) >= timing_.heartbeat_interval * 3 / 4) {
      write(detail::heartbeat_frame);
    }
  }
  {
    std::lock_guard lock{mutex_};
    if (!in_flight_ && queued_.empty()) {
      for (auto* b : {&queued_, &sending_}) {
        if (b->capacity() > keep_capacity) std::vector<std::byte>{}.swap(*b);
      }
    }
  }
  if (events_.drained) events_.drained();  // room waiters look now and then, whatever happens
  timer_.expires_after(timing_.heartbeat_interval / 2);
  timer_.async_wait(
      asio::bind_executor(strand_, [self = shared_from_this()](const asio::error_code& ec) {
        if (!ec) self->tick();
      }));
}

void tcp_channel::close(const std::string& why) {
  {
    std::lock_guard lock{mutex_};
    if (closed_) return;
    closed_ = true;
    close_why_ = why;
  }
  asio::post(strand_, [self = shared_from_this(), why] { self->shut(why); });
}

void tcp_channel::close_here(const std::string& why) {
  shut(why);
}

void tcp_channel::drop_queued_locked() {
  queued_.clear();
  open_at_ = none;
  if (stream_) {
    // Their fragments that went are on the stream; the rest goes on the next channel.
    for (auto& r : large_) stream_->unfinished.push_back(std::move(r));
  }
  large_.clear();
}

bool tcp_channel::keep_stream(std::unique_ptr<detail::sent_stream>& stream, std::uint64_t from) {
  std::unique_lock lock{mutex_};
  if (closed_ || !stream) return false;
  // The replay first: the stream from what the peer took, then the unfinished records.
  std::vector<std::byte> replay;
  stream->copy_from(from, replay);
  append_locked(replay, false);
  std::size_t waiting = replay.size();
  large_ = std::move(stream->unfinished);
  stream->unfinished.clear();
  for (const auto& r : large_) waiting += r.bytes.size() - r.sent;
  next_record_ = stream->next_record;
  stream_ = std::move(stream);
  if (waiting == 0) return true;
  queued_bytes_.fetch_add(waiting, std::memory_order_relaxed);
  schedule_locked(lock);
  return true;
}

bool tcp_channel::acknowledged(std::uint64_t n) {
  std::lock_guard lock{mutex_};
  return !stream_ || stream_->acknowledge(n);
}

std::unique_ptr<detail::sent_stream> tcp_channel::take_stream() {
  std::lock_guard lock{mutex_};
  if (!closed_ || !broken_ || !stream_ || !stream_->whole()) return nullptr;
  for (auto& r : large_) stream_->unfinished.push_back(std::move(r));
  large_.clear();
  stream_->next_record = next_record_;
  return std::move(stream_);
}

void tcp_channel::shut(const std::string& why) {
  if (shut_.exchange(true, std::memory_order_acq_rel)) return;
  {
    // What was written last (a refusal, a died notice) goes if the kernel takes it now.
    std::lock_guard lock{mutex_};
    closed_ = true;
    if (close_why_.empty()) close_why_ = why;
    if (tls_) {
      // Ciphertext only: what was written last, encrypted if the session can, and any alert.
      if (tls_->ready() && !in_flight_ && !queued_.empty() && tls_->send(queued_).empty()) {
        tls_->take_output(tls_out_);
      }
      if (!tls_writing_ && !tls_out_.empty()) {
        [[maybe_unused]] ssize_t n =
            ::send(fd_, tls_out_.data(), tls_out_.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      }
      tls_out_.clear();
    } else if (!in_flight_) {
      auto& out = wire_locked();
      if (!out.empty()) {
        [[maybe_unused]] ssize_t n =
            ::send(fd_, out.data(), out.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      }
    }
    queued_bytes_.store(0, std::memory_order_relaxed);
    drop_queued_locked();
    queued_.shrink_to_fit();
  }
  asio::error_code ec;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  timer_.cancel();
  hold_timer_.cancel();
  auto handler = std::move(handler_);
  if (handler) handler->on_closed(why);
  bool was = established_.load(std::memory_order_acquire);
  if (events_.closed) events_.closed(was, why);
  events_ = {};  // they may hold what holds this channel
}

}  // namespace coport::transport
