#pragma once
/// \file
/// Selective receive for coroutine actors, in the manner of Erlang's `receive` and Coro::MP's
/// `get` / `get_cond`.
///
///     message m = co_await receive();                  // the next message, whatever it is
///     message m = co_await receive("data");            // the first queued message tagged data
///     message m = co_await receive_if(pred);           // the first with pred(const message&)
///     auto m = co_await receive("data", 5s);           // optional<message>: nullopt = timeout
///     int v = co_await receive(on("add", [](int a, int b) { return a + b; }),
///                              on("neg", [](int a) { return -a; }));
///
/// Messages that match nothing stay queued in arrival order for a later receive. A timeout of
/// zero polls. With a timeout the result is optional: `nullopt` means no message came, which
/// is distinct from a message with no values. A clause `on(tag, handler)` matches a message
/// with that tag whose values fit the handler's parameters; `when(pred, handler)` matches what
/// `pred` accepts. All clauses' handlers return the same type, which the receive returns.
/// Threading: call only inside a coroutine actor, which runs in its port's context.

#include <array>
#include <chrono>
#include <coroutine>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

#include "coport/detail/actor_state.hpp"
#include "coport/detail/handler.hpp"
#include "coport/message.hpp"
#include "coport/tag.hpp"

namespace coport {

namespace detail {

using steady_duration = std::chrono::steady_clock::duration;

/// A matcher that can only match messages with certain tags (its `tags()`).
template <class M>
concept by_tags = requires(const M& m) {
  m.tags();
};

/// The awaitable behind every receive: `Matcher` has `bool matches(const message&)` and
/// `R take(message&&)` (what the receive returns for a match), and `tags()` (an array) if it
/// can only match messages with those tags: then the mailbox looks at theirs alone.
template <class Matcher, bool Timed>
class receive_awaiter {
 public:
  using value_type = decltype(std::declval<Matcher&>().take(std::declval<message>()));
  using result_type = std::conditional_t<
      Timed, std::conditional_t<std::is_void_v<value_type>, bool, std::optional<value_type>>,
      value_type>;

  receive_awaiter(Matcher m, std::optional<steady_duration> timeout)
      : matcher_{std::move(m)}, timeout_{timeout} {}

  bool await_ready() {
    state_ = &current_actor();
    if constexpr (by_tags<Matcher>) {
      const auto tags = matcher_.tags();
      wait_.result = state_->take_first(tags, &match, &matcher_);
    } else {
      wait_.result = state_->take_first(&match, &matcher_);
    }
    if (wait_.result) return true;
    if (Timed && timeout_ && *timeout_ <= steady_duration::zero()) {
      wait_.timed_out = true;  // a poll
      return true;
    }
    return false;
  }

  void await_suspend(std::coroutine_handle<> h) {
    wait_.match = &match;
    wait_.matcher = &matcher_;
    state_->wait_for(wait_, h, Timed ? timeout_ : std::nullopt);
  }

  result_type await_resume() {
    if constexpr (Timed) {
      if (wait_.timed_out) return result_type{};
      if constexpr (std::is_void_v<value_type>) {
        matcher_.take(std::move(wait_.result));
        return true;
      } else {
        return result_type{matcher_.take(std::move(wait_.result))};
      }
    } else {
      return matcher_.take(std::move(wait_.result));
    }
  }

 private:
  static bool match(void* m, const message& msg) { return static_cast<Matcher*>(m)->matches(msg); }

  Matcher matcher_;
  std::optional<steady_duration> timeout_;
  actor_state* state_ = nullptr;
  receive_wait wait_;
};

struct match_any {
  bool matches(const message&) const noexcept { return true; }
  message take(message&& m) const noexcept { return std::move(m); }
};

struct match_tag {
  tag wanted;
  bool matches(const message& m) const noexcept { return m.tag() == wanted; }
  message take(message&& m) const noexcept { return std::move(m); }
  std::array<tag, 1> tags() const noexcept { return {wanted}; }
};

template <class Pred>
struct match_pred {
  Pred pred;
  bool matches(const message& m) { return static_cast<bool>(pred(m)); }
  message take(message&& m) const noexcept { return std::move(m); }
};

/// True when `m`'s values fit handler type `F` (or `F` takes the whole message).
template <class F>
bool fits(const message& m) {
  using fn_t = std::decay_t<F>;
  if constexpr (std::is_invocable_v<fn_t&, message&> || std::is_invocable_v<fn_t&, message&&>) {
    return true;
  } else {
    return []<class... A>(std::tuple<A...>*, const message& msg) {
      return msg.is<std::decay_t<A>...>();
    }(static_cast<typename callable_traits<fn_t>::args*>(nullptr), m);
  }
}

/// Calls handler `f` with `m` (whole, or its values unpacked).
template <class F>
decltype(auto) invoke_with(F& f, message& m) {
  using fn_t = std::decay_t<F>;
  if constexpr (std::is_invocable_v<fn_t&, message&>) {
    return f(m);
  } else if constexpr (std::is_invocable_v<fn_t&, message&&>) {
    return f(std::move(m));
  } else {
    return []<class... A>(std::tuple<A...>*, F& fn, message& msg) -> decltype(auto) {
      auto& values = msg.as<std::decay_t<A>...>();
      return [&]<std::size_t... I>(std::index_sequence<I...>)->decltype(auto) {
        return fn(pass<A>(std::get<I>(values))...);
      }
      (std::index_sequence_for<A...>{});
    }(static_cast<typename callable_traits<fn_t>::args*>(nullptr), f, m);
  }
}

}  // namespace detail

/// A receive clause: a tag (or predicate) and the handler for what it matches.
template <class Match, class F>
struct clause {
  Match match;
  F handler;
  bool matches(const message& m) { return match.matches(m) && detail::fits<F>(m); }
  decltype(auto) take(message&& m) { return detail::invoke_with(handler, m); }
  auto tags() const noexcept requires detail::by_tags<Match> { return match.tags(); }
};

/// A clause for messages tagged `t` whose values fit `handler`.
template <class F>
auto on(tag t, F&& handler) {
  return clause<detail::match_tag, std::decay_t<F>>{{t}, std::forward<F>(handler)};
}
/// A clause for messages that `pred(const message&)` accepts.
template <class P, class F>
auto when(P&& pred, F&& handler) {
  return clause<detail::match_pred<std::decay_t<P>>, std::decay_t<F>>{{std::forward<P>(pred)},
                                                                      std::forward<F>(handler)};
}

namespace detail {

template <class T>
struct is_clause : std::false_type {};
template <class M, class F>
struct is_clause<clause<M, F>> : std::true_type {};

/// Several clauses: the first clause that matches a message takes it.
template <class... C>
struct match_clauses {
  std::tuple<C...> clauses;
  int chosen = -1;

  bool matches(const message& m) {
    chosen = -1;
    int i = 0;
    std::apply([&](auto&... c) { ((chosen < 0 && c.matches(m) ? chosen = i : 0, ++i), ...); },
               clauses);
    return chosen >= 0;
  }

  /// Every clause's tag, when every clause matches by tag (one tag each).
  auto tags() const noexcept requires(by_tags<C>&&...) {
    static_assert(((std::tuple_size_v<decltype(std::declval<const C&>().tags())> == 1) && ...));
    return std::apply(
        [](const auto&... c) { return std::array<tag, sizeof...(C)>{c.tags()[0]...}; }, clauses);
  }

  using result_t =
      std::common_type_t<decltype(std::declval<C&>().take(std::declval<message>()))...>;

  result_t take(message&& m) { return take_at(m, std::index_sequence_for<C...>{}); }

 private:
  template <std::size_t... I>
  result_t take_at(message& m, std::index_sequence<I...>) {
    if constexpr (std::is_void_v<result_t>) {
      ((chosen == static_cast<int>(I) ? (void)std::get<I>(clauses).take(std::move(m)) : void()),
       ...);
    } else {
      std::optional<result_t> out;
      ((chosen == static_cast<int>(I) ? (void)out.emplace(std::get<I>(clauses).take(std::move(m)))
                                      : void()),
       ...);
      return std::move(*out);
    }
  }
};

}  // namespace detail

/// The next message, whatever it is.
inline auto receive() {
  return detail::receive_awaiter<detail::match_any, false>{{}, {}};
}
/// The next message, or nullopt after `timeout` (zero polls).
inline auto receive(detail::steady_duration timeout) {
  return detail::receive_awaiter<detail::match_any, true>{{}, timeout};
}
/// The first queued message tagged `t`.
inline auto receive(tag t) {
  return detail::receive_awaiter<detail::match_tag, false>{{t}, {}};
}
/// The first queued message tagged `t`, or nullopt after `timeout`.
inline auto receive(tag t, detail::steady_duration timeout) {
  return detail::receive_awaiter<detail::match_tag, true>{{t}, timeout};
}
/// The first queued message that `pred(const message&)` accepts.
template <class P>
auto receive_if(P&& pred) {
  return detail::receive_awaiter<detail::match_pred<std::decay_t<P>>, false>{
      {std::forward<P>(pred)}, {}};
}
/// The first queued message that `pred` accepts, or nullopt after `timeout`.
template <class P>
auto receive_if(P&& pred, detail::steady_duration timeout) {
  return detail::receive_awaiter<detail::match_pred<std::decay_t<P>>, true>{{std::forward<P>(pred)},
                                                                            timeout};
}
/// The first queued message that one of `clauses` matches; returns what its handler returns.
template <class... C, class = std::enable_if_t<(detail::is_clause<C>::value && ...)>>
auto receive(C... clauses) {
  return detail::receive_awaiter<detail::match_clauses<C...>, false>{
      {std::tuple<C...>{std::move(clauses)...}}, {}};
}
/// As above, or nullopt (false for void handlers) after `timeout`.
template <class... C, class = std::enable_if_t<(detail::is_clause<C>::value && ...)>>
auto receive_for(detail::steady_duration timeout, C... clauses) {
  return detail::receive_awaiter<detail::match_clauses<C...>, true>{
      {std::tuple<C...>{std::move(clauses)...}}, timeout};
}

}  // namespace coport
