#pragma once
/// \file
/// coport::task<T> — a helper coroutine that a coroutine actor (or another task) awaits, so
/// that receive logic can be factored into functions, as Erlang code calls functions that
/// `receive`:
///
///     task<int> read_total() { message m = co_await receive("total"); co_return m.get<int>(0); }
///     actor client() { int total = co_await read_total(); ... }
///
/// A task is lazy (it starts when awaited) and resumes its awaiter by symmetric transfer, so
/// deep chains use no stack — when the compiler makes that transfer a tail call, which g++ 12
/// does in optimized builds (-O1 and up) without sanitizers; at -O0, and under ASan or TSan,
/// each level of a chain costs stack (a chain 100 000 deep overflows it). An exception
/// escaping a task is rethrown in its awaiter.
/// Threading: runs in the awaiting actor's port context. Lifetime: the awaiter's frame owns
/// the task; killing the actor destroys the whole chain and runs every frame's destructors.

#include <coroutine>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

namespace coport {

template <class T = void>
class task;

namespace detail {

/// A finished task resumes its awaiter (symmetric transfer: no stack growth).
struct to_continuation {
  bool await_ready() noexcept { return false; }
  template <class P>
  std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
    auto next = h.promise().continuation;
    return next ? next : std::noop_coroutine();
  }
  void await_resume() noexcept {}
};

template <class T>
struct task_promise_base {
  std::coroutine_handle<> continuation;
  std::exception_ptr error;

  std::suspend_always initial_suspend() noexcept { return {}; }
  to_continuation final_suspend() noexcept { return {}; }
  void unhandled_exception() noexcept { error = std::current_exception(); }
};

template <class T>
struct task_promise : task_promise_base<T> {
  std::optional<T> value;
  task<T> get_return_object() noexcept;
  template <class U>
  void return_value(U&& v) {
    value.emplace(std::forward<U>(v));
  }
  T take() {
    if (this->error) std::rethrow_exception(this->error);
    return std::move(*value);
  }
};

template <>
struct task_promise<void> : task_promise_base<void> {
  task<void> get_return_object() noexcept;
  void return_void() noexcept {}
  void take() {
    if (error) std::rethrow_exception(error);
  }
};

}  // namespace detail

/// A lazy coroutine awaited by a coroutine actor or another task.
template <class T>
class [[nodiscard("a task does nothing until it is awaited")]] task {
 public:
  using promise_type = detail::task_promise<T>;

  task(task && other) noexcept : handle_{std::exchange(other.handle_, nullptr)} {}
  task& operator=(task&&) = delete;
  ~task() {
    if (handle_) handle_.destroy();
  }

  bool await_ready() const noexcept {
    return false;
  }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) noexcept {
    handle_.promise().continuation = awaiting;
    return handle_;  // start the task; it resumes `awaiting` when it ends
  }
  T await_resume() {
    return handle_.promise().take();
  }

 private:
  friend promise_type;
  explicit task(std::coroutine_handle<promise_type> h) noexcept : handle_{h} {}
  std::coroutine_handle<promise_type> handle_;
};

namespace detail {

template <class T>
task<T> task_promise<T>::get_return_object() noexcept {
  return task<T>{std::coroutine_handle<task_promise<T>>::from_promise(*this)};
}

inline task<void> task_promise<void>::get_return_object() noexcept {
  return task<void>{std::coroutine_handle<task_promise<void>>::from_promise(*this)};
}

}  // namespace detail
}  // namespace coport
