#pragma once
/// \file
/// detail: where a node listens and what it tells others — the `binds` of tcp_options
/// resolved to endpoints before anything starts (a wildcard: both families, one port), the
/// texts of the addresses actually bound (a wildcard: every address of the host), and the
/// addresses its hello advertises (`advertise`, else those). tcp.cpp binds and accepts.
/// Threading: functions without state (they read the host's interfaces and resolve names).
/// Lifetime: none kept. May include: Asio, coport/transport/tcp.hpp, the standard library.

#include <asio/ip/tcp.hpp>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "coport/transport/tcp.hpp"

namespace coport::transport::detail {

/// The addresses this host has, of IPv4 (`v6` false) or IPv6, the loopback ones last (IPv6
/// link-local ones left out: they need a scope to be dialed).
std::vector<asio::ip::address> host_addresses(bool v6);

/// The endpoints to listen on, in order; `same_port` holds those that take the port the one
/// before them got (the IPv6 half of a wildcard on port 0).
struct listen_plan {
  std::vector<asio::ip::tcp::endpoint> endpoints;
  std::set<std::size_t> same_port;
};
/// Resolves and checks `options.binds` and `options.advertise`; throws std::invalid_argument
/// for a malformed address, a name that does not resolve, a non-loopback bind without a
/// secret or TLS (unless insecure), an advertised address no node could dial.
listen_plan plan_listening(const tcp_options& options);

/// What other nodes learn of a socket bound at `bound`: itself, or for a wildcard every
/// address of the host with the port bound.
std::vector<std::string> bound_addresses(const asio::ip::tcp::endpoint& bound);

/// What the hello advertises: `options.advertise` with port 0 made `first_port` (the first
/// bind's port), or `listening` when it is empty.
std::vector<std::string> advertised_addresses(const tcp_options& options,
                                              const std::vector<std::string>& listening,
                                              std::uint16_t first_port);

}  // namespace coport::transport::detail
