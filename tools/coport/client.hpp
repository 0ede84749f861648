#pragma once
/// \file
/// The client node the operator's verbs (and `coport logs`) run on: a node of its own that
/// listens nowhere, links to the profile's seeds and to the nodes it talks to, and never
/// joins the mesh (mesh_options::client); and the request/reply it does with them.
/// Threading: the main thread makes and uses it; replies arrive on the node's threads.
/// Lifetime: the command's.

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <condition_variable>
#include <coport/coport.hpp>
#include <coport/network/network.hpp>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "signals.hpp"

namespace coport::cli {

/// A verb that cannot be done: printed on stderr, exit 1.
struct failed {
  std::string what;
};
/// A verb used wrongly: exit 2.
struct misused {
  std::string what;
};

/// One answer awaited from any thread.
template <class T>
class awaited {
 public:
  void set(T v) {
    std::lock_guard lock{mutex_};
    if (!value_) value_ = std::move(v);
    cv_.notify_all();
  }
  /// The answer (taken: wait once), or nothing after `limit`. SIGINT or SIGTERM meanwhile
  /// ends the wait with failed{"interrupted"} (the verbs block them: signals.hpp).
  std::optional<T> wait(std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    std::unique_lock lock{mutex_};
    for (;;) {
      const auto slice =
          std::min(deadline, std::chrono::steady_clock::now() + std::chrono::milliseconds{100});
      if (cv_.wait_until(lock, slice, [&] { return value_.has_value(); })) break;
      if (std::chrono::steady_clock::now() >= deadline) break;
      if (stop_requested()) throw failed{"interrupted"};
    }
    return std::move(value_);
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::optional<T> value_;
};

/// What a request ended with: the reply, or why there was none.
struct outcome {
  message reply;
  std::string failure;  ///< empty: `reply` came
};

/// The client node and its network.
class client {
 public:
  client(const network::node_config& config, std::chrono::milliseconds timeout)
      : timeout_{timeout}, n_{network::node_options_for(config)} {
    if (config.seeds.empty()) {
      throw failed{fmt::format("profile \"{}\" names no seeds to reach the network through",
                               config.profile)};
    }
    try {
      net_ = std::make_unique<network::membership>(n_, config);
    } catch (const std::exception& e) {
      throw failed{fmt::format("cannot start a client node: {}", e.what())};
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout_;
    for (;;) {
      std::string errors;
      for (const auto& s : net_->mesh().seeds()) {
        if (s.up) return;
        if (!s.last_error.empty()) errors += fmt::format("; {}: {}", s.address, s.last_error);
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        throw failed{fmt::format("no seed reached in {} ms ({}){}", timeout_.count(),
                                 fmt::join(config.seeds, ", "), errors)};
      }
      if (stop_requested()) throw failed{"interrupted"};
      std::this_thread::sleep_for(std::chrono::milliseconds{10});
    }
  }
  ~client() { net_.reset(); }

  node& n() { return n_; }
  registry& names() { return net_->names(); }
  /// A node this client can talk to: linked, or with an address it learned (other client
  /// nodes, which others list without one, are not).
  bool reachable(const std::string& node_id) {
    if (node_id == n_.id() || !valid_node_id(node_id)) return false;
    const auto up = n_.up_nodes();
    return std::find(up.begin(), up.end(), node_id) != up.end() ||
           !net_->links().addresses_of(node_id).empty();
  }

  /// Linked to a seed is not knowing every node yet: a node's address may come in the
  /// seed's node list a moment later (a message or a monitor sent at once failed with "no
  /// address is known for it"). Waits for it within the timeout; then the caller tries
  /// anyway (and fails clearly).
  void await_reachable(const std::string& node_id) {
    const auto deadline = std::chrono::steady_clock::now() + timeout_;
    while (node_id != n_.id() && valid_node_id(node_id) && !reachable(node_id) &&
           std::chrono::steady_clock::now() < deadline && !stop_requested()) {
      std::this_thread::sleep_for(std::chrono::milliseconds{10});
    }
  }

  /// `cal`: sends `m` (its last value the reply port `reply`, made by `open_reply`) to
  /// `target` and waits for the first reply, the target's death, or the timeout.
  outcome call(const port_id& target, message m, const port_id& reply,
               const std::shared_ptr<awaited<outcome>>& answer) {
    const auto deadline = std::chrono::steady_clock::now() + timeout_;
    await_reachable(std::string{target.node()});
    auto death = std::make_shared<awaited<std::string>>();
    auto guard = n_.mon(target, [death](const reason& why) { death->set(why.to_string()); });
    n_.snd(target, std::move(m));
    outcome out;
    for (;;) {
      if (auto got = answer->wait(std::chrono::milliseconds{50})) {
        out = std::move(*got);
        break;
      }
      if (auto why = death->wait(std::chrono::milliseconds{0})) {
        // A port that answered and then died: its reply may come just after the notice.
        if (auto late = answer->wait(std::chrono::milliseconds{100})) {
          out = std::move(*late);
        } else {
          out.failure = fmt::format("{} is not alive: {}", target.to_string(), *why);
        }
        break;
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        out.failure = fmt::format("no reply in {} ms", timeout_.count());
        break;
      }
    }
    n_.kil(reply);
    return out;
  }
  /// A port whose first message answers `answer`.
  port_id open_reply(const std::shared_ptr<awaited<outcome>>& answer) {
    port_id r = n_.port();
    n_.rcv_default(r, [answer](message& m) { answer->set({std::move(m), {}}); });
    return r;
  }
  /// `cal` of a node port: `tag` with the reply port.
  outcome ask_node(const std::string& node_id, const char* what) {
    auto answer = std::make_shared<awaited<outcome>>();
    port_id r = open_reply(answer);
    return call(port_id{node_id, 0}, message::make(tag{what}, r), r, answer);
  }

  std::chrono::milliseconds timeout() const { return timeout_; }

 private:
  std::chrono::milliseconds timeout_;
  node n_;
  std::unique_ptr<network::membership> net_;
};

}  // namespace coport::cli
