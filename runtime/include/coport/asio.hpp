#pragma once
/// \file
/// coport::use_port — a completion token that lets a coroutine actor `co_await` any Asio
/// operation without blocking a thread and without leaving its port's serial context:
///
///     asio::steady_timer t{n.context(), 10ms};
///     std::error_code ec = co_await t.async_wait(coport::use_port);
///     auto [ec2, bytes] = co_await socket.async_read_some(buffer, coport::use_port);
///
/// Errors come back as values (no exceptions): the operation's completion arguments, as one
/// value, a tuple, or nothing. The completion runs on an Asio thread, which only posts it to
/// the port; the coroutine resumes in the port's context. If the port is killed meanwhile, the
/// frame is destroyed at teardown and the late completion is dropped.
/// Threading: inside a coroutine actor only. Include this header only where Asio is wanted.

#include <asio/async_result.hpp>
#include <coroutine>
#include <memory>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

#include "coport/actor.hpp"

namespace coport {

/// The completion token for Asio operations awaited by a coroutine actor.
struct use_port_t {};
inline constexpr use_port_t use_port{};

namespace detail {

template <class... R>
using op_result_t = std::conditional_t<
    sizeof...(R) == 0, void,
    std::conditional_t<sizeof...(R) == 1, std::tuple_element_t<0, std::tuple<R..., void>>,
                       std::tuple<R...>>>;

/// Awaits one Asio operation: starts it on suspension, resumes on its completion.
template <class Initiation, class InitArgs, class... R>
class port_op_awaiter {
 public:
  port_op_awaiter(Initiation init, InitArgs args)
      : init_{std::move(init)}, args_{std::move(args)} {}

  bool await_ready() const noexcept { return false; }

  void await_suspend(std::coroutine_handle<> h) {
    actor_state& state = current_actor();
    std::uint64_t serial = state.park(h);
    auto handler = [core = node_access::core(state.owner()), port = self(), state_ptr = &state,
                    serial, slot = this](R... results) mutable {
      // On an Asio thread: only post; the port's context does the rest (if it still lives).
      post_to_port(core, port,
                   make_closure([state_ptr, serial, slot,
                                 values = std::tuple<R...>{std::move(results)...}]() mutable {
                     if (!state_ptr->parked(serial)) return;
                     slot->results_ = std::move(values);
                     state_ptr->resume_if(serial);
                   }));
    };
    std::apply([&](auto&... a) { std::move(init_)(std::move(handler), std::move(a)...); }, args_);
  }

  op_result_t<R...> await_resume() {
    if constexpr (sizeof...(R) == 1) {
      return std::move(std::get<0>(*results_));
    } else if constexpr (sizeof...(R) > 1) {
      return std::move(*results_);
    }
  }

 private:
  Initiation init_;
  InitArgs args_;
  std::optional<std::tuple<R...>> results_;
};

}  // namespace detail
}  // namespace coport

template <class... Args>
class asio::async_result<coport::use_port_t, void(Args...)> {
 public:
  template <class Initiation, class... InitArgs>
  static auto initiate(Initiation init, coport::use_port_t, InitArgs... args) {
    return coport::detail::port_op_awaiter<Initiation, std::tuple<InitArgs...>,
                                           std::decay_t<Args>...>{
        std::move(init), std::tuple<InitArgs...>{std::move(args)...}};
  }
};
