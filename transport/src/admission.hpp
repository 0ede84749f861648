#pragma once
/// \file
/// transport::admission — which accepted connections may start a handshake. Before a peer
/// has proved the secret it is anyone: at most `max_per_source` connections from one
/// address and `max_total` in all may be in their handshake (each lasts at most the hello
/// deadline unless it proves the secret), so one host cannot take the places the others
/// need (an IPv6 address counts as its /64). When all places are taken, a connection from an
/// address that holds fewer places than the address holding the most takes the place of that
/// address's oldest handshake (which is ended): many addresses that reconnect as soon as they are
/// closed cannot keep out an address they do not control. Refusals and evictions are logged at most
/// once a second, with how many there were.
///
/// Threading: thread-safe (one mutex; taken once per accepted connection and once when its
/// handshake ends); an eviction's callback runs on the admitting thread, outside the lock.
/// Lifetime: the TCP layer's.
/// May include: Asio's address type and the standard library (no socket: it counts the
/// addresses it is given).

#include <asio/ip/address.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>

namespace coport::transport::detail {

class admission {
 public:
  static constexpr std::size_t max_total = 256;
  static constexpr std::size_t max_per_source = 8;

  /// One admitted handshake (0: none).
  using ticket = std::uint64_t;

  /// `node_id` names this node in log lines.
  explicit admission(std::string node_id) : node_id_{std::move(node_id)} {}

  /// Whether a connection from `from` may start its handshake: a ticket that counts until
  /// `done`, or 0 (refused). May end another handshake to make room (see above).
  ticket admit(const asio::ip::address& from);
  /// How to end handshake `t` if its place is taken; false if it was taken already (between
  /// admit and bind): the caller ends the connection.
  bool bind(ticket t, std::function<void()> end);
  /// Handshake `t` ended (either way; nothing if it was evicted).
  void done(ticket t);

 private:
  struct entry {
    asio::ip::address from;
    std::function<void()> end;
  };
  /// Counts a refusal or eviction; the line to log now, if any (under the mutex).
  std::string note_locked(std::string why);
  /// Removes entry `it` (under the mutex).
  void erase_locked(std::map<ticket, entry>::iterator it);

  const std::string node_id_;
  std::mutex mutex_;
  std::map<ticket, entry> entries_;  // oldest first
  std::map<asio::ip::address, std::size_t> by_source_;
  ticket next_ = 0;
  std::chrono::steady_clock::time_point last_line_{};
  std::size_t unlogged_ = 0;
};

}  // namespace coport::transport::detail
