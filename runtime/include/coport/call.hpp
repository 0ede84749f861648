#pragma once
/// \file
/// coport::call — `co_await call(port, tag, values...[, timeout])` is `cal` for coroutine
/// actors: it sends `tag, values..., reply_port` and yields the reply, or an empty `reply`
/// when the timeout passes or the target dies first.
/// Threading: inside a coroutine actor only; the actor resumes in its own port's context.

#include <coroutine>
#include <cstdint>
#include <tuple>
#include <utility>

#include "coport/detail/actor_state.hpp"
#include "coport/node.hpp"

namespace coport {

namespace detail {

template <class... A>
struct last_is_duration : std::false_type {};
template <class A0, class... A>
struct last_is_duration<A0, A...>
    : is_duration<std::tuple_element_t<sizeof...(A), std::tuple<A0, A...>>> {};

template <class... A>
class call_awaiter {
 public:
  call_awaiter(port_id target, tag t, std::tuple<A...> args)
      : target_{target}, tag_{t}, args_{std::move(args)} {}

  bool await_ready() const noexcept { return false; }

  void await_suspend(std::coroutine_handle<> h) {
    actor_state& state = current_actor();
    std::uint64_t serial = state.park(h);
    auto done = [this, &state, serial](reply r) {
      // Runs in this port's context (cal binds it there); `serial` proves we still wait here.
      result_ = std::move(r);
      state.resume_if(serial);
    };
    constexpr std::size_t n = sizeof...(A);
    if constexpr (last_is_duration<A...>::value) {
      send(state, std::move(done), std::make_index_sequence<n - 1>{}, std::true_type{});
    } else {
      send(state, std::move(done), std::make_index_sequence<n>{}, std::false_type{});
    }
  }

  reply await_resume() noexcept { return std::move(result_); }

 private:
  template <class Done, std::size_t... I, bool Timed>
  void send(actor_state& state, Done done, std::index_sequence<I...>, std::bool_constant<Timed>) {
    if constexpr (Timed) {
      state.owner().cal(target_, tag_, std::move(std::get<I>(args_))..., std::move(done),
                        std::get<sizeof...(A) - 1>(args_));
    } else {
      state.owner().cal(target_, tag_, std::move(std::get<I>(args_))..., std::move(done));
    }
  }

  port_id target_;
  tag tag_;
  std::tuple<A...> args_;
  reply result_;
};

}  // namespace detail

/// Request/reply from a coroutine actor; a trailing std::chrono::duration is the timeout.
template <class... A>
auto call(const port_id& target, tag t, A&&... args) {
  return detail::call_awaiter<detail::stored_t<A>...>{
      target, t, std::tuple<detail::stored_t<A>...>{std::forward<A>(args)...}};
}

}  // namespace coport
