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
/// instead of dying of a peer's mistake). A message of a `local_only` declaration that came
/// over a link is `foreign`, and no handler runs. What a handler throws passes through.
/// Threading: fill it, then dispatch from one port at a time. Lifetime: the handlers live
/// as long as the table.

#include <tuple>
#include <type_traits>
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
    foreign,     ///< it matches a local-only declaration but came from another node
  };

  /// Runs `handler(m, values&...)` for a message that matches `type`.
  template <class... Ts, class F>
  requires std::is_invocable_v<F&, message&, Ts&...> dispatch_table& on(
      const message_type<Ts...>& type, F handler) {
    entries_.push_back(entry{type.tag(), type.is_local_only(),
                             [h = std::move(handler)](message& m) mutable -> bool {
                               if (!m.is<Ts...>()) return false;
                               std::apply([&](Ts&... values) { h(m, values...); }, m.as<Ts...>());
                               return true;
                             }});
    return *this;
  }

  /// Runs the handler of the first declaration `m` matches (declarations are tried in the
  /// order they were added: a protocol's busiest message first is its cheapest).
  outcome dispatch(message& m) {
    const tag t = m.tag();
    bool known = false, foreign = false;
    for (auto& e : entries_) {
      if (e.t != t) continue;
      known = true;
      if (e.local_only && m.origin()) {
        foreign = true;  // a later declaration of the tag may take it from anywhere
        continue;
      }
      if (e.run(m)) return outcome::handled;
    }
    if (foreign) return outcome::foreign;
    return known ? outcome::mismatched : outcome::unknown;
  }

  /// True when some declaration has tag `t`.
  bool knows(tag t) const {
    for (const auto& e : entries_) {
      if (e.t == t) return true;
    }
    return false;
  }

 private:
  // A protocol has a few tens of messages at most: a flat list beats a hash table.
  struct entry {
    tag t;
    bool local_only;
    detail::unique_function<bool(message&)> run;
  };
  std::vector<entry> entries_;
};

}  // namespace coport
