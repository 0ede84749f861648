#pragma once
/// \file
/// Node addresses: the grammar users write them in (coport/internal/address.hpp, shared
/// with the configuration checks), and an endpoint written back in it.
/// Threading: plain functions.
/// May include: coport/internal/address.hpp (the shared grammar) only.

#include <fmt/format.h>

#include <asio/ip/tcp.hpp>
#include <string>

#include "coport/internal/address.hpp"

namespace coport::transport::detail {

using coport::detail::host_port;
using coport::detail::parse_address;

/// "127.0.0.1:5" or "[::1]:5".
inline std::string endpoint_text(const asio::ip::tcp::endpoint& ep) {
  if (ep.address().is_v6()) return fmt::format("[{}]:{}", ep.address().to_string(), ep.port());
  return fmt::format("{}:{}", ep.address().to_string(), ep.port());
}

}  // namespace coport::transport::detail
