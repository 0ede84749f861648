#pragma once
/// \file
/// detail::parse_address — node addresses as users write them ("host:port", "[v6]:port";
/// a bind may also say "*:port"), the one grammar the TCP transport, the configuration
/// checks and the mesh's seeds share.
/// Part of coport_internal (uninstalled). Threading: plain functions.
/// May include: fmt and the standard library.

#include <fmt/format.h>

#include <charconv>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace coport::detail {

struct host_port {
  std::string host;
  std::uint16_t port = 0;
};

/// Splits "host:port" or "[v6]:port"; throws std::invalid_argument naming the address.
inline host_port parse_address(std::string_view text) {
  auto bad = [&](const char* why) {
    return std::invalid_argument{fmt::format("coport: address '{}': {}", text, why)};
  };
  host_port out;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      throw bad("expected [v6-address]:port");
    }
    out.host = std::string{text.substr(1, close - 1)};
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) throw bad("expected host:port");
    out.host = std::string{text.substr(0, colon)};
    if (out.host.find(':') != std::string::npos) throw bad("an IPv6 address goes in brackets");
    port = text.substr(colon + 1);
  }
  if (out.host.empty()) throw bad("the host is empty");
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || value > 65535) {
    throw bad("the port is not a number from 0 to 65535");
  }
  out.port = static_cast<std::uint16_t>(value);
  return out;
}

}  // namespace coport::detail
