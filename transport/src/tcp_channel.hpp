#pragma once
/// \file
/// transport::tcp_channel — one TCP connection as a protocol channel: batched writes, large
/// reads, heartbeats, the handshake deadline and the node timeout.
///
/// Writes are appended to a buffer under a mutex. A handler's writes go out when its run
/// ends (coport::flush_at_run_end: one send for many messages); other threads' at once.
/// Sending happens on the writer's thread (a non-blocking send) while nothing is in flight;
/// what the kernel does not take goes out in gather writes on the I/O thread.
/// Threading: `write`, `close`, `queued` from any thread; everything else on the channel's
/// strand. Lifetime: shared by the protocol's connection and the pending I/O operations;
/// the cycle with the handler is broken when the channel closes.
/// May include: the transport's public headers, record, tls, coport/remote.hpp, Asio (this is the
/// I/O room).

#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "coport/remote.hpp"
#include "coport/transport/channel.hpp"
#include "record.hpp"
#include "sent_stream.hpp"
#include "tls.hpp"

namespace coport::transport {

/// What the TCP layer hears from a channel.
struct tcp_channel_events {
  /// The handshake succeeded with `peer`, listening at `addresses`.
  std::function<void(const std::string& peer, const std::vector<std::string>& addresses)>
      established;
  /// The channel ended (`was_established`: after its handshake).
  std::function<void(bool was_established, const std::string& why)> closed;
  /// Bytes left (a write finished), or a timer tick: whoever waits for room may look.
  std::function<void()> drained;
};

/// Timing of one channel.
struct tcp_timing {
  std::chrono::milliseconds heartbeat_interval, node_timeout, handshake_timeout;
  /// The peer's hello must have arrived by then (before it, the peer is anyone).
  std::chrono::milliseconds hello_timeout{1000};
};

/// Shared counters of the TCP layer.
struct tcp_counters {
  std::atomic<std::size_t> accepted{0}, dialed{0}, open{0}, timeouts{0}, dial_failures{0},
      bytes_sent{0}, bytes_received{0}, inbound_pauses{0};
};

class tcp_channel final : public channel,
                          private detail::record_opener::sink,
                          public std::enable_shared_from_this<tcp_channel> {
 public:
  using strand = asio::strand<asio::io_context::executor_type>;

  /// `context` keeps the I/O context alive while the channel lives (null when the user owns
  /// it): a thread's flush list or a connection may hold a channel after the transport ends.
  /// With `tls`, every byte on the socket is TLS (nothing before its handshake, never
  /// plaintext); `node_id` names this node in log lines.
  tcp_channel(std::shared_ptr<void> context, asio::ip::tcp::socket socket, strand s,
              tcp_timing timing, std::shared_ptr<tcp_counters> counters, tcp_channel_events events,
              std::unique_ptr<tls_session> tls = nullptr, std::string node_id = {});
  ~tcp_channel() override;

  /// Starts reading into `handler` and the timers (once, on any thread).
  void start(std::shared_ptr<channel_handler> handler);
  /// The remote endpoint, for log lines.
  const std::string& remote() const noexcept { return remote_; }

  // channel
  bool write(std::span<const std::byte> bytes) override;
  /// Large records go one fragment per write round, after what else was written.
  bool write_large(std::vector<std::byte> record) override;
  void close(const std::string& why) override;
  std::size_t queued() const override;
  void established(const std::string& peer, const std::vector<std::string>& addresses) override;
  void greeted() override;
  /// With TLS: the peer's certificate must name `id` (strand: the session is ready by then).
  std::string check_certificate(std::string_view id) const override;
  /// Records from here (not with TLS, which protects every byte already).
  bool protect(const detail::channel_keys& keys) override;
  bool keep_stream(std::unique_ptr<detail::sent_stream>& stream, std::uint64_t from) override;
  bool acknowledged(std::uint64_t n) override;
  /// The stream, if the connection broke (a reset, a failed read or write):
  /// not after an orderly end by the peer, a close by this side, or a timeout.
  std::unique_ptr<detail::sent_stream> take_stream() override;

  /// Closes at once (not posted): only where nothing else runs on the channel's context (its
  /// I/O thread, or a user's context that is not running).
  void close_here(const std::string& why);

  /// Pushes out what this thread's handlers wrote (flush_at_run_end's callback).
  static void flush_thread();

 private:
  void flush();
  /// What goes to the socket next (mutex held): queued_, its open record sealed.
  std::vector<std::byte>& wire_locked();
  /// Appends bytes to queued_ (mutex held): with records, into the open record, which is
  /// sealed in place when full (at most max_record bytes each). `keep`: also to the stream
  /// (not for a replay of it).
  void append_locked(std::span<const std::byte> bytes, bool keep = true);
  /// What was written and had not gone when the channel ended (mutex held): dropped, the
  /// unfinished large records kept in the stream for a resumption.
  void drop_queued_locked();
  /// The connection broke (mutex held): the link may resume (take_stream).
  void broke_locked() { broken_ = true; }
  /// Seals the open record, if any (mutex held).
  void close_record_locked();
  /// Bytes read from the socket: to the handler, or through the record opener (strand).
  void feed(std::span<std::byte> bytes);
  void on_plain(std::span<const std::byte> plain) override;
  /// Sends queued_ (mutex held): directly if nothing is in flight, else it waits.
  void send_locked(std::unique_lock<std::mutex>& lock);
  /// Appends the next fragment of the oldest large record to `buf`; false if there is none.
  bool next_fragment_locked(std::vector<std::byte>& buf);
  /// After a write: the flush at the run's end, or a send now.
  void schedule_locked(std::unique_lock<std::mutex>& lock);
  void write_async();
  /// A write of `plain` bytes finished: take what was written meanwhile (strand).
  void after_write(std::size_t plain);
  /// TLS: encrypts the next piece of sending_ and writes it (strand).
  void encrypt_tls();
  /// TLS: plaintext of the write in flight is still to be encrypted (strand).
  bool in_flight_tls_more() const noexcept {
    return tls_encrypted_ < sending_.size() && tls_plain_pending_ == 0 && tls_->ready();
  }
  /// TLS: writes the ciphertext waiting (strand).
  void write_tls_output();
  /// TLS: received bytes in, plaintext to the handler (strand); false when it ended.
  bool receive_tls(std::size_t n);
  void read();
  /// Reading waits while the handler is backlogged: re-checked after `wait` (strand).
  void hold_reading(std::chrono::milliseconds wait);
  void tick();
  void shut(const std::string& why);

  std::shared_ptr<void> context_;  // first: destroyed after everything that uses it
  asio::ip::tcp::socket socket_;
  strand strand_;
  const int fd_;
  const tcp_timing timing_;
  std::shared_ptr<tcp_counters> counters_;
  tcp_channel_events events_;
  std::string remote_;
  asio::steady_timer timer_;
  asio::steady_timer hold_timer_;             ///< reading held back (backlogged)
  std::shared_ptr<channel_handler> handler_;  // strand only
  std::vector<std::byte> in_;                 // strand only

  mutable std::mutex mutex_;
  /// Written, not yet handed to the kernel or a write: with records, sealed records and at
  /// its end the open record (from open_at_: room for its header, then its plaintext).
  std::vector<std::byte> queued_;
  std::unique_ptr<detail::record_sealer> sealer_;  ///< set once the handshake ends
  static constexpr std::size_t none = ~std::size_t{0};
  std::size_t open_at_ = none;
  std::vector<std::byte> sending_;  ///< owned by the async write in flight
  /// Large records whose first fragment is out; the rest go one per write round.
  std::deque<detail::pending_record> large_;
  std::uint64_t next_record_ = 1;
  /// What went on the stream since the resume frames, until the peer acknowledges it
  /// (sent_stream.hpp; null: the link does not resume).
  std::unique_ptr<detail::sent_stream> stream_;
  bool broken_ = false;     ///< the connection broke (not an orderly end): it may resume
  bool in_flight_ = false;  ///< an async write runs (it picks up queued_ when done)
  bool flush_due_ = false;  ///< this channel is in some thread's flush list
  bool closed_ = false;
  std::string close_why_;
  std::atomic<std::size_t> queued_bytes_{0};

  // TLS (strand only, apart from the pointer, which never changes).
  std::unique_ptr<tls_session> tls_;
  const std::string node_id_;
  std::vector<std::byte> tls_plain_;    ///< what a read decrypted
  std::vector<std::byte> tls_out_;      ///< ciphertext waiting to be written
  std::vector<std::byte> tls_sending_;  ///< ciphertext of the write in flight
  bool tls_writing_ = false;
  bool tls_waiting_ = false;           ///< plaintext waits for the handshake's end
  std::size_t tls_plain_pending_ = 0;  ///< plaintext encrypted, its ciphertext unsent
  std::size_t tls_encrypted_ = 0;      ///< how much of sending_ is encrypted

  std::unique_ptr<detail::record_opener> opener_;  // strand only

  std::atomic<bool> established_{false};
  std::atomic<bool> greeted_{false};
  std::atomic<bool> shut_{false};
  using clock = std::chrono::steady_clock;
  std::atomic<clock::rep> last_read_, last_write_;
  unsigned ticks_ = 0;  ///< the strand's: every tenth heartbeat is a round-trip probe
  const clock::time_point created_;
};

}  // namespace coport::transport
