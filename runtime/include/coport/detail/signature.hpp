#pragma once
/// \file
/// detail::signature — the identity of a payload's type list, compared by address.
///
/// One signature object exists per distinct list of stored types, so checking that a handler
/// fits a message is one pointer comparison. Threading: signatures are immutable statics.

#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>

namespace coport::detail {

/// The type list of a payload.
struct signature {
  std::size_t size;
  const std::type_info* const* types;
};

template <class... Ts>
struct signature_holder {
  static constexpr const std::type_info* types[sizeof...(Ts) + 1] = {&typeid(Ts)..., nullptr};
  static constexpr signature value{sizeof...(Ts), types};
};

/// The signature of the stored types `Ts...` (one object per type list).
template <class... Ts>
constexpr const signature& signature_of() noexcept {
  return signature_holder<Ts...>::value;
}

/// A readable type name ("int", "std::string").
std::string type_name(const std::type_info& t);

/// "(int, std::string)".
std::string describe(const signature& sig);

template <class T>
struct is_char_pointer
    : std::bool_constant<std::is_pointer_v<T> &&
                         std::is_same_v<std::remove_cv_t<std::remove_pointer_t<T>>, char>> {};

/// How a value passed to `snd` is stored: string literals, C strings and string views become
/// std::string (the message owns its text); everything else is stored decayed.
template <class T>
using stored_t = std::conditional_t<is_char_pointer<std::decay_t<T>>::value ||
                                        std::is_same_v<std::decay_t<T>, std::string_view>,
                                    std::string, std::decay_t<T>>;

}  // namespace coport::detail
