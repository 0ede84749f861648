// coport::transport::memory_link — two transports joined by in-memory byte streams.
#include "coport/transport/memory_link.hpp"

#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <mutex>
#include <vector>

#include "frame.hpp"
#include "sent_stream.hpp"

namespace coport::transport {

/// One direction: bytes written by one side, handed to the other side's protocol.
struct memory_link::pipe : std::enable_shared_from_this<memory_link::pipe> {
  pipe(node& to, bool manual_delivery) : receiver{to}, manual{manual_delivery} {}

  /// Appends bytes; in automatic mode makes sure a drain job is posted.
  bool write(std::span<const std::byte> bytes) {
    std::lock_guard lock{mutex};
    if (closed) return false;
    buffer.insert(buffer.end(), bytes.begin(), bytes.end());
    if (!manual && !scheduled) {
      scheduled = true;
      post_drain();
    }
    return true;
  }

  /// Ends the pipe; the receiver's protocol hears of it after what was written before
  /// (as TCP's close), or at once with what is in flight lost (`lose`: a reset, a break).
  void close(const std::string& text, bool lose, bool reset = false) {
    std::lock_guard lock{mutex};
    if (reset) was_reset = true;
    if (closed) {
      // A break after an orderly close: what still waits is lost, and the close comes now
      // (a manual pipe would otherwise hold it behind bytes nobody hands over any more).
      if (!lose || close_delivered || empty()) return;
      clear();
    } else {
      closed = true;
      why = text;
      if (lose) clear();
    }
    if (!scheduled) {
      scheduled = true;
      post_drain();
    }
  }

  void post_drain() {
    asio::post(receiver.context(), [self = shared_from_this()] { self->drain(); });
  }

  /// Hands everything waiting to the handler, in order, one drain at a time.
  void drain() {
    std::vector<std::byte> chunk;
    for (;;) {
      std::shared_ptr<channel_handler> h;
      bool closing = false;
      std::string text;
      {
        std::lock_guard lock{mutex};
        // The handled chunk's storage becomes the writers' next buffer (no allocation a write).
        chunk.clear();
        if (empty() && buffer.capacity() < chunk.capacity()) {
          buffer.swap(chunk);
          front = 0;
        }
        h = handler.lock();
        if (!h) {
          // Not attached yet (set_handler drains), or the protocol is gone (nothing to do).
          scheduled = false;
          return;
        }
        if (!empty() && !manual) {
          if (front != 0) buffer.erase(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(front));
          front = 0;
          chunk.swap(buffer);
        } else if (closed && !close_delivered && empty()) {
          close_delivered = true;
          closing = true;
          text = why;
        } else {
          scheduled = false;
          return;
        }
      }
      if (closing) {
        h->on_closed(text);
      } else {
        h->on_bytes(chunk);
      }
    }
  }

  /// Attaches the receiving protocol and hands it what is already waiting.
  void set_handler(std::shared_ptr<channel_handler> h) {
    std::lock_guard lock{mutex};
    handler = h;
    if (!scheduled &&
        ((!empty() && !manual) || (closed && !close_delivered && empty()))) {
      scheduled = true;
      post_drain();
    }
  }

  /// Whole frames at the front of what waits, up to `limit`; returns their byte count.
  std::size_t frame_bytes(std::size_t limit, std::size_t& frames) const {
    std::size_t pos = front;
    frames = 0;
    while (frames < limit && buffer.size() - pos >= 4) {
      std::size_t length = detail::frame_length(buffer.data() + pos);
      if (buffer.size() - pos - 4 < length) break;
      pos += 4 + length;
      ++frames;
    }
    return pos - front;
  }

  /// Nothing waits.
  bool empty() const { return front == buffer.size(); }
  void clear() {
    buffer.clear();
    front = 0;
  }
  /// `bytes` at the front were handed over: they go once they are half the buffer (a
  /// frame at a time, erasing each one would cost the whole backlog per frame).
  void consume(std::size_t bytes) {
    front += bytes;
    if (front == buffer.size()) {
      clear();
    } else if (front >= 4096 && front * 2 >= buffer.size()) {
      buffer.erase(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(front));
      front = 0;
    }
  }

  node& receiver;
  const bool manual;
  std::mutex mutex;
  std::vector<std::byte> buffer;
  std::size_t front = 0;  ///< bytes at the buffer's front already handed over (manual)
  bool scheduled = false;
  bool closed = false;
  bool close_delivered = false;
  bool was_reset = false;  ///< ended by a reset (reset_link): the link may resume
  std::string why;
  std::weak_ptr<channel_handler> handler;
};

namespace {

/// The writing end of one side: its outgoing pipe, and the incoming one to close too.
class memory_channel final : public channel {
 public:
  memory_channel(std::shared_ptr<memory_link::pipe> out, std::shared_ptr<memory_link::pipe> in)
      : out_{std::move(out)}, in_{std::move(in)} {}
  bool write(std::span<const std::byte> bytes) override {
    std::lock_guard lock{mutex_};  // the stream in the pipe's order
    if (out_->write(bytes)) {
      if (stream_) stream_->append(bytes);
      return true;
    }
    // Broken and not yet taken: kept for the replay (TCP's channel does the same).
    if (!stream_ || !stream_->whole() || !reset()) return false;
    stream_->append(bytes);
    return true;
  }
  void close(const std::string& why) override {
    out_->close(why, false);  // what this end wrote last (a bye, a refusal) still arrives
    in_->close(why, true);
  }
  bool keep_stream(std::unique_ptr<detail::sent_stream>& stream, std::uint64_t from) override {
    std::lock_guard lock{mutex_};
    std::vector<std::byte> replay;
    stream->copy_from(from, replay);
    // Unfinished large records: none (this channel writes a record's fragments at once).
    if (!out_->write(replay)) return false;  // closed (an empty write only says so)
    stream_ = std::move(stream);
    return true;
  }
  bool acknowledged(std::uint64_t n) override {
    std::lock_guard lock{mutex_};
    return !stream_ || stream_->acknowledge(n);
  }
  std::unique_ptr<detail::sent_stream> take_stream() override {
    std::lock_guard lock{mutex_};
    if (!stream_ || !stream_->whole() || !reset()) return nullptr;
    return std::move(stream_);
  }

 private:
  /// One of its pipes was reset (each flag under its own pipe's lock, one after the other:
  /// the other end's channel takes them in the other order).
  bool reset() const {
    {
      std::lock_guard a{out_->mutex};
      if (out_->was_reset) return true;
    }
    std::lock_guard b{in_->mutex};
    return in_->was_reset;
  }
  std::shared_ptr<memory_link::pipe> out_, in_;
  std::mutex mutex_;
  std::unique_ptr<detail::sent_stream> stream_;
};

}  // namespace

std::shared_ptr<memory_link> memory_link::connect(endpoint& a, endpoint& b, bool manual) {
  auto link = std::make_shared<memory_link>();
  link->ab_ = std::make_shared<pipe>(b.owner(), manual);
  link->ba_ = std::make_shared<pipe>(a.owner(), manual);
  auto on_a = std::make_shared<memory_channel>(link->ab_, link->ba_);
  auto on_b = std::make_shared<memory_channel>(link->ba_, link->ab_);
  // Both ends are set up at once: what either sends before the hellos waits behind them.
  auto handler_b = b.attach(on_b, a.owner().id());  // both ends know whom they reach
  auto handler_a = a.attach(on_a, b.owner().id());
  link->ab_->set_handler(handler_b);
  link->ba_->set_handler(handler_a);
  return link;
}

memory_link::~memory_link() = default;

void memory_link::break_link(const std::string& why) {
  ab_->close(why, true);
  ba_->close(why, true);
}

void memory_link::reset_link(const std::string& why) {
  ab_->close(why, true, true);
  ba_->close(why, true, true);
}

std::size_t memory_link::hand_over(direction d, std::size_t frames) {
  pipe& p = d == direction::a_to_b ? *ab_ : *ba_;
  std::vector<std::byte> chunk;
  std::shared_ptr<channel_handler> h;
  std::size_t n = 0;
  {
    std::lock_guard lock{p.mutex};
    std::size_t bytes = p.frame_bytes(frames, n);
    const auto from = p.buffer.begin() + static_cast<std::ptrdiff_t>(p.front);
    chunk.assign(from, from + static_cast<std::ptrdiff_t>(bytes));
    p.consume(bytes);
    h = p.handler.lock();
    // A closed pipe's close comes after its last bytes (once, when they have just gone).
    if (bytes != 0 && p.closed && !p.close_delivered && p.empty() && !p.scheduled) {
      p.scheduled = true;
      p.post_drain();
    }
  }
  if (h && !chunk.empty()) h->on_bytes(chunk);
  return n;
}

bool memory_link::ended() const {
  for (const auto* p : {ab_.get(), ba_.get()}) {
    std::lock_guard lock{const_cast<pipe*>(p)->mutex};
    if (!p->close_delivered) return false;
  }
  return true;
}

std::size_t memory_link::waiting(direction d) const {
  const pipe& p = d == direction::a_to_b ? *ab_ : *ba_;
  std::lock_guard lock{const_cast<pipe&>(p).mutex};
  std::size_t n = 0;
  p.frame_bytes(static_cast<std::size_t>(-1), n);
  return n;
}

std::size_t memory_link::hand_over_all() {
  std::size_t n = 0;
  for (;;) {
    std::size_t k = hand_over(direction::a_to_b, 1) + hand_over(direction::b_to_a, 1);
    if (k == 0) return n;
    n += k;
  }
}

}  // namespace coport::transport
