#pragma once
/// \file
/// coport::port_id — the never-reused name of a message destination, `nodeid#local.incarnation`.
///
/// A port ID is a 16-byte value: the interned node ID, the node's incarnation (a random
/// number drawn at each node start, so that an ID from an earlier run of a restarted node
/// never names a port of the new one) and a 64-bit local number. The local number 0 names
/// the node's own port, printed as the bare node ID (whatever its incarnation). IDs print
/// and parse as text so that they can cross the network and be typed on a command line;
/// an ID parsed without `.incarnation` has incarnation 0, which any incarnation accepts.
/// Threading: a value type; parsing and printing are thread-safe.

#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace coport {

namespace detail {
struct port_id_access;
}

/// True when `id` is a well-formed node ID: non-empty, of `[A-Za-z0-9_\-.:/]`, no `#`.
bool valid_node_id(std::string_view id) noexcept;

/// The name of a port: its node and a local number that its node never reuses.
class port_id {
 public:
  /// The null port ID (names nothing; sending to it drops the message).
  constexpr port_id() noexcept = default;

  /// The port `local` of incarnation `incarnation` (0: any) on node `node`; throws
  /// std::invalid_argument for a malformed node ID.
  port_id(std::string_view node, std::uint64_t local, std::uint32_t incarnation = 0);

  /// Parses `nodeid#number[.incarnation]` (incarnation in hex) or a bare `nodeid` (the node
  /// port); nullopt when malformed.
  static std::optional<port_id> parse(std::string_view text);

  /// `nodeid#number.incarnation`, or the bare node ID for the node port; empty for the null ID.
  std::string to_string() const;

  /// The node ID part.
  std::string_view node() const noexcept;
  /// The local number (0 for the node port).
  constexpr std::uint64_t local() const noexcept { return local_; }
  /// The interned number of the node ID (cheap node comparison).
  constexpr std::uint32_t node_number() const noexcept { return node_; }
  /// The incarnation of the node the port belongs to (0: unspecified).
  constexpr std::uint32_t incarnation() const noexcept { return incarnation_; }

  constexpr bool is_null() const noexcept { return node_ == 0; }
  constexpr bool is_node_port() const noexcept { return node_ != 0 && local_ == 0; }
  constexpr explicit operator bool() const noexcept { return node_ != 0; }

  friend constexpr bool operator==(const port_id&, const port_id&) noexcept = default;
  friend constexpr auto operator<=>(const port_id&, const port_id&) noexcept = default;

 private:
  friend struct detail::port_id_access;
  constexpr port_id(std::uint32_t node, std::uint64_t local, std::uint32_t incarnation,
                    int) noexcept
      : local_{local}, node_{node}, incarnation_{incarnation} {}

  std::uint64_t local_ = 0;
  std::uint32_t node_ = 0;
  std::uint32_t incarnation_ = 0;
};
static_assert(sizeof(port_id) == 16);

/// The node ID of `port` (AEMP's `node_of`).
inline std::string_view node_of(const port_id& port) noexcept {
  return port.node();
}

}  // namespace coport

template <>
struct std::hash<coport::port_id> {
  std::size_t operator()(const coport::port_id& p) const noexcept {
    return std::hash<std::uint64_t>{}(p.local() * 0x9E3779B97F4A7C15ull ^ p.node_number());
  }
};
