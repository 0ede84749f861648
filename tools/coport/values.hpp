#pragma once
/// \file
/// The operator's verbs' values: messages made from JSON words, and replies printed as JSON.
///
/// A word is a JSON value: a string is a std::string, an integer a std::int64_t, any other
/// number a double, true/false a bool. Where JSON cannot say the C++ type, an object with
/// one key says it: {"int": 5} (std::int32_t), {"i64": 5}, {"u32": 5}, {"u64": 5},
/// {"double": 1}, {"float": 1.5}, {"bool": true}, {"string": "5"}, {"port": "node#123"}
/// (a port_id). Arrays and other objects are refused.
/// Threading: free functions. Lifetime: values.

#include <coport/message.hpp>
#include <coport/port_id.hpp>
#include <optional>
#include <string>
#include <vector>

namespace coport::cli {

/// A message tagged `t` with the values the JSON `words` say, then `last` if given (a cal's
/// reply port). Throws std::invalid_argument naming the word that is not a value.
message message_from_json(tag t, const std::vector<std::string>& words,
                          const std::optional<port_id>& last = std::nullopt);

/// The message's values as a JSON array: strings, numbers and bools as JSON; a port ID and a
/// reason as their text; a value of another type as {"type": its C++ name}.
std::string json_of(const message& m);

}  // namespace coport::cli
