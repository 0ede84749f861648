#pragma once
/// \file
/// coport::dispatch_table — a protocol port's handlers, one per declared message: the
/// declarations are the protocol, and the table is its dispatch (Erlang's pg.erl, where the
/// specs are the map).
///
/// ```cpp
/// dispatch_table t;
/// t.on(ack, [&](message& m, std::uint64_t& seq, port_id& from) { ... });
/// switch (t.dispatch(m)) { case dispatch_table::outcome::handled: ...; default: log; }
/// ```
/// Several declarations may share a tag (versions of one message): the first whose types
/// match runs. `dispatch` never throws for a message it does not know or whose values do
/// not fit: it says so, and the port decides (a service logs and drops it, rate-limited,
/// instead of dying of a peer's mistake). What a handler throws passes through.
/// Threading: fill it, then dispatch from one port at a time. Lifetime: the handlers live
/// as long as the table.

#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "coport/detail/unique_function.hpp"
#include "coport/message.hpp"
#include "coport/message_type.hpp"
#include "coport/tag.hpp"

namespace coport {

class dispatch_table {
 public:
  enum class outcome {
    handled,     ///< a handler ran
    unknown,     ///< no declaration has its tag
    mismatched,  ///< declarations have its tag, none its value types
  };

  /// Runs `handler(m, values&...)` for a message that matches `type`.
  template <class... Ts, class F>
  requires std::is_invocable_v<F&, message&, Ts&...> dispatch_table& on(
      const message_type<Ts...>& type, F handler) {
    entries_[type.tag()].push_back([type, h = std::move(handler)](message& m) mutable -> bool {
      if (!type.matches(m)) return false;
      std::apply([&](Ts&... values) { h(m, values...); }, type.values(m));
      return true;
    });
    return *this;
  }

  /// Runs the handler of the first declaration `m` matches.
  outcome dispatch(message& m) {
    auto it = entries_.find(m.tag());
    if (it == entries_.end()) return outcome::unknown;
    for (auto& entry : it->second) {
      if (entry(m)) return outcome::handled;
    }
    return outcome::mismatched;
  }

  /// True when some declaration has tag `t`.
  bool knows(tag t) const { return entries_.count(t) > 0; }

 private:
  std::unordered_map<tag, std::vector<detail::unique_function<bool(message&)>>> entries_;
};

}  // namespace coport
