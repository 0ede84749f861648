#pragma once
/// \file
/// detail::refusals — what a protocol port (a service: the groups' master and agent, the
/// registry, the mesh) does with a message it does not take: drop it and log it, at most
/// one line a second with a count, so a peer's stream of bad messages neither kills the
/// port nor floods the log.
/// Part of coport_internal (uninstalled). Threading: one port's context. Lifetime: the
/// port's.
/// May include: the runtime's public headers and coport/internal/log.hpp.

#include <chrono>
#include <cstddef>
#include <exception>
#include <string>
#include <string_view>
#include <utility>

#include "coport/dispatch_table.hpp"
#include "coport/internal/log.hpp"
#include "coport/message.hpp"

namespace coport::detail {

/// The messages a protocol port refuses, logged at most once a second with how many were
/// refused since the last line (a peer's stream of bad messages costs one line a second).
class refusals {
 public:
  /// `component`: the library, as log records name it; `node`: the port's node's ID;
  /// `who`: the port, as log lines name it; `protocol`: what it speaks ("the groups
  /// protocol").
  refusals(std::string_view component, std::string node, std::string who, std::string protocol)
      : component_{component},
        node_{std::move(node)},
        who_{std::move(who)},
        protocol_{std::move(protocol)} {}

  void note(const message& m, const char* why) {
    ++count_;
    auto now = std::chrono::steady_clock::now();
    if (now - at_ < std::chrono::seconds{1}) return;
    at_ = now;
    auto origin = m.origin();
    warn({component_, node_}, "{}: ignored {} from {}: {} ({} refused since the last such line)",
         who_, m.describe(), origin ? std::string{origin.node()} : std::string{"this node"}, why,
         std::exchange(count_, 0));
  }

  /// Runs `m` through `table`; what the protocol does not declare is refused, and what a
  /// handler throws is logged: the port lives on either way.
  void take(dispatch_table& table, message& m) {
    try {
      switch (table.dispatch(m)) {
        case dispatch_table::outcome::handled:
          return;
        case dispatch_table::outcome::mismatched:
          return note(m, mismatched_.c_str());
        case dispatch_table::outcome::unknown:
          return note(m, unknown_.c_str());
        case dispatch_table::outcome::foreign:
          return note(m, "only this node sends it");
      }
    } catch (const std::exception& e) {
      warn({component_, node_}, "{}: ignored a message {}: {}", who_, m.describe(), e.what());
    }
  }

 private:
  std::string_view component_;
  std::string node_, who_, protocol_;
  std::string mismatched_ = "its values are not the ones " + protocol_ + " declares";
  std::string unknown_ = "it is not of " + protocol_;
  std::chrono::steady_clock::time_point at_{};
  std::size_t count_ = 0;
};

}  // namespace coport::detail
