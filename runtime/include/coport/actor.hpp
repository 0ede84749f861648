#pragma once
/// \file
/// coport::actor — a port whose receive loop is a C++20 coroutine.
///
/// A coroutine actor is a function returning `coport::actor`. It runs in its port's context
/// (so `self()` is its port), suspends on `co_await receive(...)`, `sleep`, `call` or an Asio
/// operation (coport/asio.hpp), and shares the node's threads with every other port.
/// Returning kills the port normally; an escaping exception kills it with `die`; `kil` of the
/// port ends the coroutine at its current suspension and runs the frame's destructors.
/// Threading: the coroutine never runs concurrently with its port's `rcv` handlers.
/// Lifetime: the callable that made the coroutine is kept alive as long as the coroutine.

#include <coroutine>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "coport/detail/actor_state.hpp"
#include "coport/detail/handler.hpp"
#include "coport/detail/message_block.hpp"
#include "coport/node.hpp"

namespace coport {

/// The return type of a coroutine actor.
class actor {
 public:
  struct promise_type {
    detail::actor_state* state = nullptr;
    std::string error;
    bool failed = false;

    actor get_return_object() noexcept {
      return actor{std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_always initial_suspend() noexcept { return {}; }
    auto final_suspend() noexcept {
      struct final_awaiter {
        bool await_ready() noexcept { return false; }
        void await_suspend(std::coroutine_handle<promise_type> h) noexcept {
          auto& p = h.promise();
          if (p.state) p.state->finished(p.failed ? &p.error : nullptr);
        }
        void await_resume() noexcept {}
      };
      return final_awaiter{};
    }
    void return_void() noexcept {}
    // Frames come from the message pool (per-thread free lists) when they fit its blocks.
    static void* operator new(std::size_t size) { return detail::allocate_message(size); }
    static void operator delete(void* p, std::size_t size) noexcept {
      detail::deallocate_message(p, size);
    }
    void unhandled_exception() noexcept {
      failed = true;
      try {
        throw;
      } catch (const std::exception& e) {
        error = e.what();
      } catch (...) {
        error = "unknown exception";
      }
    }
  };

  actor(actor&& other) noexcept : handle_{std::exchange(other.handle_, nullptr)} {}
  actor& operator=(actor&&) = delete;
  ~actor() {
    if (handle_) handle_.destroy();
  }

  /// Low-level: hands the frame over.
  std::coroutine_handle<promise_type> release() noexcept { return std::exchange(handle_, nullptr); }

 private:
  explicit actor(std::coroutine_handle<promise_type> h) noexcept : handle_{h} {}
  std::coroutine_handle<promise_type> handle_;
};

namespace detail {

/// Starts `a` in the current port, which must have an actor state.
void start_actor(actor a, std::shared_ptr<void> keep_alive, actor_options options);

/// Calls the kept callable and starts the coroutine it returns.
template <class F, class... A>
void start_kept(const std::shared_ptr<F>& fn, actor_options options, A&&... args) {
  static_assert(std::is_same_v<std::invoke_result_t<F&, A...>, actor>,
                "a coroutine actor function must return coport::actor");
  start_actor(std::invoke(*fn, std::forward<A>(args)...), fn, options);
}

/// Calls a plain function and starts the coroutine it returns (nothing to keep alive).
template <class F, class... A>
void start_plain(F* fn, actor_options options, A&&... args) {
  static_assert(std::is_same_v<std::invoke_result_t<F*&, A...>, actor>,
                "a coroutine actor function must return coport::actor");
  start_actor(std::invoke(fn, std::forward<A>(args)...), nullptr, options);
}

/// The init that `register_actor` registers: typed like the coroutine function.
template <class F, class Args>
struct actor_init;
template <class F, class... A>
struct actor_init<F, std::tuple<A...>> {
  std::shared_ptr<F> fn;
  actor_options options;
  void operator()(A... args) { start_kept(fn, options, std::forward<A>(args)...); }
};

}  // namespace detail

/// Spawns a coroutine actor on `n` from a callable and its arguments; returns its port.
template <class F, class... A>
port_id spawn(node& n, actor_options options, F&& fn, A&&... args) {
  using fn_t = std::decay_t<F>;
  port_id p = n.port_with_actor(options);
  auto values = std::tuple<detail::stored_t<A>...>(std::forward<A>(args)...);
  if constexpr (std::is_pointer_v<fn_t>) {
    // A plain function: the frame refers to nothing of it, so nothing is kept alive.
    n.peval(p, [fn = fn_t{fn}, options, values = std::move(values)]() mutable {
      std::apply([&](auto&... v) { detail::start_plain(fn, options, std::move(v)...); }, values);
    });
  } else {
    // A callable object: its coroutine frame may refer to it (captures), so it lives as long.
    auto kept = std::make_shared<fn_t>(std::forward<F>(fn));
    n.peval(p, [kept, options, values = std::move(values)]() mutable {
      std::apply([&](auto&... v) { detail::start_kept(kept, options, std::move(v)...); }, values);
    });
  }
  return p;
}
template <class F, class... A,
          class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, actor_options>>>
port_id spawn(node& n, F&& fn, A&&... args) {
  return spawn(n, actor_options{}, std::forward<F>(fn), std::forward<A>(args)...);
}

/// Registers a coroutine actor function under `name`, so that `n.spawn(node, name, args...)`
/// starts it (with types checked against its parameters, as for any init).
template <class F>
void register_actor(node& n, std::string name, F&& fn, actor_options options = {}) {
  using fn_t = std::decay_t<F>;
  using init_t = detail::actor_init<fn_t, typename detail::callable_traits<fn_t>::args>;
  n.register_init(std::move(name), init_t{std::make_shared<fn_t>(std::forward<F>(fn)), options});
}

}  // namespace coport
