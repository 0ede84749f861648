#pragma once
/// \file
/// detail::handler — turns a user's callable into one that takes a whole message.
///
/// A callable taking `message&` or `message` gets the message as it is. Any other callable
/// takes the payload's values: its parameter types, decayed, must be exactly the stored types,
/// checked by one pointer comparison per call; a mismatch throws bad_message_error, which kills
/// the port with reason `bad_message`. Values are moved into by-value and rvalue parameters and
/// passed by reference to lvalue-reference parameters.

#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "coport/detail/unique_function.hpp"
#include "coport/message.hpp"

namespace coport::detail {

/// Thrown when a handler's parameter types do not fit a message.
class bad_message_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

template <class F>
struct callable_traits : callable_traits<decltype(&std::decay_t<F>::operator())> {};
template <class R, class... A>
struct callable_traits<R (*)(A...)> {
  using args = std::tuple<A...>;
};
template <class R, class... A>
struct callable_traits<R(A...)> {
  using args = std::tuple<A...>;
};
template <class C, class R, class... A>
struct callable_traits<R (C::*)(A...)> {
  using args = std::tuple<A...>;
};
template <class C, class R, class... A>
struct callable_traits<R (C::*)(A...) const> {
  using args = std::tuple<A...>;
};
template <class C, class R, class... A>
struct callable_traits<R (C::*)(A...) noexcept> {
  using args = std::tuple<A...>;
};
template <class C, class R, class... A>
struct callable_traits<R (C::*)(A...) const noexcept> {
  using args = std::tuple<A...>;
};

/// The handler type a port stores.
using message_handler = unique_function<void(message&)>;

/// Passes a stored value as parameter type `A`.
template <class A, class T>
decltype(auto) pass(T& value) {
  if constexpr (std::is_lvalue_reference_v<A>) {
    return (value);
  } else {
    return std::move(value);
  }
}

/// Throws bad_message_error naming the tag, the expected and the actual types.
[[noreturn]] void throw_bad_message(const message& m, const signature& wanted);

template <class F, class... A>
struct typed_handler {
  F fn;
  void operator()(message& m) {
    using node_t = payload_block<std::decay_t<A>...>;
    use_payload_wire<std::decay_t<A>...>();
    const auto& sig = signature_of<std::decay_t<A>...>();
    if (m.get_block()->ops->sig != &sig) throw_bad_message(m, sig);
    auto& values = static_cast<node_t*>(m.get_block())->values;
    call(values, std::index_sequence_for<A...>{});
  }
  template <class Tuple, std::size_t... I>
  void call(Tuple& values, std::index_sequence<I...>) {
    fn(pass<A>(std::get<I>(values))...);
  }
};

template <class F, class Args>
struct typed_handler_for;
template <class F, class... A>
struct typed_handler_for<F, std::tuple<A...>> {
  using type = typed_handler<F, A...>;
};

/// Wraps `f` as a message handler.
template <class F>
message_handler make_handler(F&& f) {
  using fn_t = std::decay_t<F>;
  if constexpr (std::is_invocable_v<fn_t&, message&>) {
    return message_handler{std::forward<F>(f)};
  } else if constexpr (std::is_invocable_v<fn_t&, message&&>) {
    return message_handler{[g = fn_t(std::forward<F>(f))](message& m) mutable { g(std::move(m)); }};
  } else {
    using handler_t = typename typed_handler_for<fn_t, typename callable_traits<fn_t>::args>::type;
    return message_handler{handler_t{fn_t(std::forward<F>(f))}};
  }
}

template <class Args>
struct signature_of_args;
template <class... A>
struct signature_of_args<std::tuple<A...>> {
  static const signature* get() { return &signature_of<std::decay_t<A>...>(); }
};

/// The parameter types `f` takes as a handler (null: it takes the message itself).
template <class F>
const signature* handler_signature() {
  using fn_t = std::decay_t<F>;
  if constexpr (std::is_invocable_v<fn_t&, message&> || std::is_invocable_v<fn_t&, message&&>) {
    return nullptr;
  } else {
    return signature_of_args<typename callable_traits<fn_t>::args>::get();
  }
}

}  // namespace coport::detail
