#pragma once
/// \file
/// transport::admission — which accepted connections may start a handshake. Before a peer
/// has proved the secret it is anyone: at most `max_per_source` connections from one
/// address and `max_total` in all may be in their handshake (each lasts at most the hello
/// deadline unless it proves the secret), so one host cannot take the places the others
/// need. Refusals are logged at most once a second, with how many there were.
///
/// Threading: thread-safe (one mutex; taken once per accepted connection and once when its
/// handshake ends). Lifetime: the TCP layer's.

#include <asio/ip/address.hpp>
#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <string>

namespace coport::transport::detail {

class admission {
 public:
  static constexpr std::size_t max_total = 256;
  static constexpr std::size_t max_per_source = 8;

  /// `node_id` names this node in log lines.
  explicit admission(std::string node_id) : node_id_{std::move(node_id)} {}

  /// Whether a connection from `from` may start its handshake; if so it counts until `done`.
  bool admit(const asio::ip::address& from);
  /// A connection admitted from `from` ended its handshake (either way).
  void done(const asio::ip::address& from);

 private:
  const std::string node_id_;
  std::mutex mutex_;
  std::size_t total_ = 0;
  std::map<asio::ip::address, std::size_t> by_source_;
  std::chrono::steady_clock::time_point last_line_{};
  std::size_t unlogged_ = 0;
};

}  // namespace coport::transport::detail
