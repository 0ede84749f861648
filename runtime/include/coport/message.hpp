#pragma once
/// \file
/// coport::message — a tag and zero or more typed values, owned by whoever holds it.
///
/// Handlers normally receive the values already unpacked (see `node::rcv`); a `message` is
/// what a default handler, a coroutine's receive, or a `cal` reply sees. It is move-only: local
/// delivery moves one block from sender to receiver and never copies the values.
/// Threading: a value owned by one thread at a time.

#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "coport/detail/message_block.hpp"
#include "coport/detail/signature.hpp"
#include "coport/port_id.hpp"
#include "coport/tag.hpp"

namespace coport {

/// Thrown when a message is read as types it does not hold.
class bad_message_access : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

/// A tag and a payload of typed values.
class message {
 public:
  /// No message (what an empty receive or a timed-out `cal` yields).
  message() noexcept = default;

  /// The message `t, values...`; strings and string literals are stored as std::string.
  template <class... Ts>
  static message make(coport::tag t, Ts&&... values) {
    return message{detail::make_payload(t, std::forward<Ts>(values)...)};
  }

  /// The tag (the empty tag for no message).
  coport::tag tag() const noexcept { return block_ ? block_->tag_ : coport::tag{}; }

  /// The number of values after the tag.
  std::size_t size() const noexcept { return block_ ? block_->ops->sig->size : 0; }

  /// True when this holds a message.
  explicit operator bool() const noexcept { return block_ != nullptr; }

  /// True when the payload is exactly `Ts...` (after storing: `const char*` becomes string).
  template <class... Ts>
  bool is() const noexcept {
    detail::use_payload_wire<detail::stored_t<Ts>...>();
    return block_ && block_->ops->sig == &detail::signature_of<detail::stored_t<Ts>...>();
  }

  /// True when value `i` has type `T`.
  template <class T>
  bool holds(std::size_t i) const noexcept {
    return block_ && i < size() && *block_->ops->sig->types[i] == typeid(T);
  }

  /// Value `i` as `T`; throws bad_message_access when it is not a `T`.
  template <class T>
  T& get(std::size_t i) {
    if (!holds<T>(i)) throw bad_message_access{access_error(i, typeid(T))};
    return *static_cast<T*>(block_->ops->element(block_.get(), i));
  }
  template <class T>
  const T& get(std::size_t i) const {
    return const_cast<message*>(this)->get<T>(i);
  }

  /// The whole payload as a tuple; throws bad_message_access unless it is exactly `Ts...`.
  template <class... Ts>
  std::tuple<Ts...>& as() {
    static_assert((std::same_as<Ts, detail::stored_t<Ts>> && ...),
                  "as<> takes the types a message stores (std::string, not const char*)");
    detail::use_payload_wire<Ts...>();
    if (!is<Ts...>()) throw bad_message_access{signature_error(detail::signature_of<Ts...>())};
    return static_cast<detail::payload_block<Ts...>*>(block_.get())->values;
  }

  /// The node this message came from, as the transport established it (the authenticated
  /// link it arrived on, never a value in it): that node's node port, with incarnation 0.
  /// The null ID for a message made on this node (a local send, a timer, a monitor's
  /// message, a `copy`) and for no message. Cheap: a field of the block, no lookup.
  port_id origin() const noexcept;

  /// True when the message can be copied (every value is copyable).
  bool copyable() const noexcept { return block_ && block_->ops->copy; }
  /// A copy (for sending one message to many ports); throws std::logic_error naming the
  /// types when a value cannot be copied.
  message copy() const;

  /// "tag(int, std::string)", or "(no message)".
  std::string describe() const;

  /// Low-level: takes ownership of a block / gives it up.
  explicit message(detail::message_block* n) noexcept : block_{n} {}
  detail::message_block* release() noexcept { return block_.release(); }
  detail::message_block* get_block() const noexcept { return block_.get(); }

 private:
  struct deleter {
    void operator()(detail::message_block* n) const noexcept { detail::destroy_message(n); }
  };

  std::string access_error(std::size_t i, const std::type_info& wanted) const;
  std::string signature_error(const detail::signature& wanted) const;

  std::unique_ptr<detail::message_block, deleter> block_;
};

}  // namespace coport
