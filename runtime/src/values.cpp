// The value types: tags, port IDs, reasons, messages, signatures, and the interners.
#include <cxxabi.h>
#include <fmt/format.h>

#include <charconv>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>

#include "coport/detail/interner.hpp"
#include "coport/detail/message_block.hpp"
#include "coport/detail/signature.hpp"
#include "coport/message.hpp"
#include "coport/port_id.hpp"
#include "coport/reason.hpp"
#include "coport/tag.hpp"

namespace coport {

namespace detail {

struct port_id_access {
  static port_id make(std::uint32_t node, std::uint64_t local, std::uint32_t incarnation) {
    return port_id{node, local, incarnation, 0};
  }
};

port_id make_port_id(std::uint32_t node, std::uint64_t local, std::uint32_t incarnation) {
  return port_id_access::make(node, local, incarnation);
}

std::string type_name(const std::type_info& t) {
  if (t == typeid(std::string)) return "std::string";
  int status = 0;
  char* demangled = abi::__cxa_demangle(t.name(), nullptr, nullptr, &status);
  std::string result = status == 0 && demangled ? demangled : t.name();
  std::free(demangled);
  return result;
}

std::string describe(const signature& sig) {
  std::string out = "(";
  for (std::size_t i = 0; i < sig.size; ++i) {
    if (i) out += ", ";
    out += type_name(*sig.types[i]);
  }
  return out + ")";
}

}  // namespace detail

// -- tag ----------------------------------------------------------------------------------------

tag::tag(std::string_view name) : id_{detail::tag_names().intern(name)} {}

std::uint32_t tag::lookup_literal(const char* array, std::size_t size) {
  // The name ends at the first NUL (a char array may hold a shorter string).
  std::uint32_t id = detail::tag_names().intern({array, ::strnlen(array, size)});
  if (size <= sizeof(detail::literal_slot::bytes)) {
    detail::literal_slot& s = detail::literal_slots[detail::literal_slot_of(array)];
    s.address = array;
    s.size = static_cast<std::uint32_t>(size);
    s.id = id;
    std::memcpy(s.bytes, array, size);
  }
  return id;
}

std::string_view tag::name() const noexcept {
  return detail::tag_names().name(id_);
}

// -- port_id ------------------------------------------------------------------------------------

bool valid_node_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > 255) return false;
  for (char c : id) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.' || c == ':' || c == '/';
    if (!ok) return false;
  }
  return true;
}

port_id::port_id(std::string_view node, std::uint64_t local, std::uint32_t incarnation)
    : local_{local}, incarnation_{incarnation} {
  if (!valid_node_id(node)) {
    throw std::invalid_argument{fmt::format("coport: malformed node ID '{}'", node)};
  }
  node_ = detail::node_names().intern(node);
}

std::optional<port_id> port_id::parse(std::string_view text) {
  auto hash = text.find('#');
  std::string_view node = text.substr(0, hash);
  if (!valid_node_id(node)) return std::nullopt;
  std::uint64_t local = 0;
  std::uint32_t incarnation = 0;
  if (hash != std::string_view::npos) {
    std::string_view number = text.substr(hash + 1);
    std::string_view inc;
    if (auto dot = number.find('.'); dot != std::string_view::npos) {
      inc = number.substr(dot + 1);
      number = number.substr(0, dot);
      if (inc.empty() || inc.size() > 8) return std::nullopt;
      auto [e2, ec2] = std::from_chars(inc.data(), inc.data() + inc.size(), incarnation, 16);
      if (ec2 != std::errc{} || e2 != inc.data() + inc.size()) return std::nullopt;
    }
    if (number.empty()) return std::nullopt;
    auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), local);
    if (ec != std::errc{} || end != number.data() + number.size() || local == 0) {
      return std::nullopt;
    }
  }
  return port_id{node, local, incarnation};
}

std::string_view port_id::node() const noexcept {
  return detail::node_names().name(node_);
}

std::string port_id::to_string() const {
  if (is_null()) return {};
  if (local_ == 0) return std::string{node()};
  if (incarnation_ == 0) return fmt::format("{}#{}", node(), local_);
  return fmt::format("{}#{}.{:x}", node(), local_, incarnation_);
}

// -- reason -------------------------------------------------------------------------------------

std::string reason::detail() const {
  std::string out;
  for (std::size_t i = 1; i < parts_.size(); ++i) {
    if (i > 1) out += ": ";
    out += parts_[i];
  }
  return out;
}

std::string reason::to_string() const {
  if (parts_.empty()) return "normal";
  std::string out = parts_.front();
  if (parts_.size() > 1) out += ": " + detail();
  return out;
}

// -- message ------------------------------------------------------------------------------------

port_id message::origin() const noexcept {
  return block_ && block_->origin ? detail::make_port_id(block_->origin, 0, 0) : port_id{};
}

std::string message::describe() const {
  if (!block_) return "(no message)";
  return fmt::format("'{}'{}", tag().name(), detail::describe(*block_->ops->sig));
}

std::string message::access_error(std::size_t i, const std::type_info& wanted) const {
  return fmt::format("coport: value {} of message {} is not a {}", i, describe(),
                     detail::type_name(wanted));
}

std::string message::signature_error(const detail::signature& wanted) const {
  return fmt::format("coport: message {} does not hold {}", describe(), detail::describe(wanted));
}

}  // namespace coport
