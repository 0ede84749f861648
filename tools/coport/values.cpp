// The operator's verbs' values: JSON words to a message (through the wire codec, so that a
// message of any mix of types is made without a C++ type list for it), replies to JSON.
#include "values.hpp"

#include <cxxabi.h>
#include <fmt/format.h>

#include <cmath>
#include <coport/detail/message_block.hpp>
#include <coport/detail/payload_codec.hpp>
#include <coport/reason.hpp>
#include <coport/wire/reader.hpp>
#include <coport/wire/writer.hpp>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace coport::cli {

namespace {

using json = nlohmann::json;

/// One value as a one-value message (its type from the JSON, or from the one key naming it).
message one_value(const std::string& word) {
  json v = json::parse(word, nullptr, false);
  if (v.is_discarded()) {
    // A bare word that is no JSON: taken as a string (`coport snd p tag hello`).
    return message::make(tag{}, word);
  }
  auto bad = [&](const char* why) {
    return std::invalid_argument{fmt::format("value '{}': {}", word, why)};
  };
  auto integer = [&](const json& x, auto type) {
    using T = decltype(type);
    if (!x.is_number_integer()) throw bad("expected an integer");
    if (x.is_number_unsigned()) {
      auto u = x.get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(std::numeric_limits<T>::max())) throw bad("out of range");
      return message::make(tag{}, static_cast<T>(u));
    }
    auto i = x.get<std::int64_t>();
    if constexpr (std::is_unsigned_v<T>) {
      if (i < 0) throw bad("out of range");
    } else if (i < static_cast<std::int64_t>(std::numeric_limits<T>::min()) ||
               i > static_cast<std::int64_t>(std::numeric_limits<T>::max())) {
      throw bad("out of range");
    }
    return message::make(tag{}, static_cast<T>(i));
  };
  if (v.is_string()) return message::make(tag{}, v.get<std::string>());
  if (v.is_boolean()) return message::make(tag{}, v.get<bool>());
  if (v.is_number_integer()) return integer(v, std::int64_t{});
  if (v.is_number_float()) return message::make(tag{}, v.get<double>());
  if (v.is_object() && v.size() == 1) {
    // (Not a structured binding of items(): its proxy is a temporary.)
    const auto entry = v.begin();
    const std::string key = entry.key();
    const json& x = entry.value();
    if (key == "int" || key == "i32") return integer(x, std::int32_t{});
    if (key == "i64" || key == "long") return integer(x, std::int64_t{});
    if (key == "u32") return integer(x, std::uint32_t{});
    if (key == "u64") return integer(x, std::uint64_t{});
    if (key == "double" || key == "float") {
      if (!x.is_number()) throw bad("expected a number");
      const double d = x.get<double>();
      if (key == "double") return message::make(tag{}, d);
      if (std::isfinite(d) && std::fabs(d) > std::numeric_limits<float>::max()) {
        throw bad("out of range for a float");
      }
      return message::make(tag{}, static_cast<float>(d));
    }
    if (key == "bool") {
      if (!x.is_boolean()) throw bad("expected true or false");
      return message::make(tag{}, x.get<bool>());
    }
    if (key == "string") {
      if (!x.is_string()) throw bad("expected a string");
      return message::make(tag{}, x.get<std::string>());
    }
    if (key == "port") {
      auto p = x.is_string() ? port_id::parse(x.get<std::string>()) : std::nullopt;
      if (!p) throw bad("expected a port ID (node#number)");
      return message::make(tag{}, *p);
    }
    throw bad("unknown type (int, i64, u32, u64, double, float, bool, string, port)");
  }
  if (v.is_null()) throw bad("null is not a value");
  throw bad("arrays and objects are not values (say the type: {\"int\": 5})");
}

}  // namespace

message message_from_json(tag t, const std::vector<std::string>& words,
                          const std::optional<port_id>& last) {
  std::vector<message> parts;
  for (const auto& w : words) parts.push_back(one_value(w));
  if (last) parts.push_back(message::make(tag{}, *last));
  // Each part's value encoded in turn; the list of their wire names read back as one message.
  std::vector<std::byte> bytes;
  wire::writer w{bytes};
  std::vector<std::string> names;
  for (const auto& part : parts) {
    const detail::message_block* b = part.get_block();
    const detail::payload_encoding& enc = detail::payload_codec_for(*b->ops->sig);
    if (!enc.error.empty()) throw std::invalid_argument{enc.error};
    detail::encode_values(w, b, enc);
    names.insert(names.end(), enc.names.begin(), enc.names.end());
  }
  auto dec = detail::resolve_payload(names);
  wire::reader r{bytes};
  return message{detail::decode_values(t, r, *dec)};
}

std::string json_of(const message& m) {
  json out = json::array();
  for (std::size_t i = 0; i < m.size(); ++i) {
    if (m.holds<std::string>(i)) {
      out.push_back(m.get<std::string>(i));
    } else if (m.holds<std::int64_t>(i)) {
      out.push_back(m.get<std::int64_t>(i));
    } else if (m.holds<std::int32_t>(i)) {
      out.push_back(m.get<std::int32_t>(i));
    } else if (m.holds<std::uint64_t>(i)) {
      out.push_back(m.get<std::uint64_t>(i));
    } else if (m.holds<std::uint32_t>(i)) {
      out.push_back(m.get<std::uint32_t>(i));
    } else if (m.holds<double>(i)) {
      out.push_back(m.get<double>(i));
    } else if (m.holds<float>(i)) {
      out.push_back(m.get<float>(i));
    } else if (m.holds<bool>(i)) {
      out.push_back(m.get<bool>(i));
    } else if (m.holds<port_id>(i)) {
      out.push_back(m.get<port_id>(i).to_string());
    } else if (m.holds<reason>(i)) {
      out.push_back(m.get<reason>(i).to_string());
    } else if (m.holds<long long>(i)) {
      out.push_back(m.get<long long>(i));
    } else if (m.holds<unsigned long long>(i)) {
      out.push_back(m.get<unsigned long long>(i));
    } else if (m.holds<std::vector<std::string>>(i)) {
      out.push_back(m.get<std::vector<std::string>>(i));
    } else {
      int status = 0;
      const std::type_info& t = *m.get_block()->ops->sig->types[i];
      char* name = abi::__cxa_demangle(t.name(), nullptr, nullptr, &status);
      out.push_back(json{{"type", status == 0 && name ? name : t.name()}});
      std::free(name);
    }
  }
  // Text from a peer printed as JSON: every control character escaped, bad UTF-8 replaced.
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace coport::cli
