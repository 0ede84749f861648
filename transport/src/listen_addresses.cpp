// detail: where a node listens and what it tells others (listen_addresses.hpp).
#include "listen_addresses.hpp"

#include <fmt/format.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <algorithm>
#include <asio/io_context.hpp>
#include <cstring>
#include <stdexcept>

#include "address.hpp"
#include "frame.hpp"

namespace coport::transport::detail {

namespace {

void check(bool ok, const char* what) {
  if (!ok) throw std::invalid_argument{std::string{"coport: tcp_options: "} + what};
}

}  // namespace

/// The addresses this host has, of IPv4 (`v6` false) or IPv6, the loopback ones last
/// (IPv6 link-local ones left out: they need a scope to be dialed).
std::vector<asio::ip::address> host_addresses(bool v6) {
  std::vector<asio::ip::address> out, loopback;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (ifaddrs* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr || !(i->ifa_flags & IFF_UP)) continue;
    asio::ip::address a;
    if (!v6 && i->ifa_addr->sa_family == AF_INET) {
      asio::ip::address_v4::bytes_type b;
      std::memcpy(b.data(), &reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr, 4);
      a = asio::ip::address_v4{b};
    } else if (v6 && i->ifa_addr->sa_family == AF_INET6) {
      asio::ip::address_v6::bytes_type b;
      std::memcpy(b.data(), &reinterpret_cast<sockaddr_in6*>(i->ifa_addr)->sin6_addr, 16);
      auto a6 = asio::ip::address_v6{b};
      if (a6.is_link_local()) continue;
      a = a6;
    } else {
      continue;
    }
    auto& into = a.is_loopback() ? loopback : out;
    if (std::find(into.begin(), into.end(), a) == into.end()) into.push_back(a);
  }
  freeifaddrs(list);
  out.insert(out.end(), loopback.begin(), loopback.end());
  return out;
}

listen_plan plan_listening(const tcp_options& options) {
  check(options.advertise.empty() || !options.binds.empty(),
        "advertise needs binds (a node that listens nowhere has nothing to advertise)");
  check(options.advertise.size() <= max_addresses,
        "advertise: at most 16 addresses (what a hello may name)");
  for (const auto& a : options.advertise) {
    bool ok = true;
    try {
      auto hp = parse_address(a);
      ok = hp.host != "*" && hp.host != "0.0.0.0" && hp.host != "::" &&
           a.size() + 6 <= max_address;  // room for a port filled in
    } catch (const std::invalid_argument&) {
      ok = false;
    }
    if (!ok) {
      throw std::invalid_argument{fmt::format(
          "coport: advertise '{}': expected host:port or [v6]:port that other nodes can dial", a)};
    }
  }
  listen_plan plan;
  {
    asio::io_context resolve_io;
    asio::ip::tcp::resolver resolver{resolve_io};
    for (const auto& bind : options.binds) {
      if (bind == "*" || bind.starts_with("*:")) {
        // Every address of the host: the IPv4 and the IPv6 wildcard.
        auto port = parse_address(bind == "*" ? "any:0" : "any" + bind.substr(1)).port;
        check(!options.secret.empty() || options.tls.enabled() || options.insecure,
              "a '*' bind listens on every address of the host: set a secret or TLS (or "
              "insecure)");
        plan.endpoints.emplace_back(asio::ip::address_v4::any(), port);
        if (!host_addresses(true).empty()) {
          plan.endpoints.emplace_back(asio::ip::address_v6::any(), port);
          if (port == 0) plan.same_port.insert(plan.endpoints.size() - 1);  // the port IPv4 got
        }
        continue;
      }
      auto hp = parse_address(bind);
      asio::error_code ec;
      auto results =
          resolver.resolve(hp.host, std::to_string(hp.port), asio::ip::tcp::resolver::passive, ec);
      if (ec || results.empty()) {
        throw std::invalid_argument{
            fmt::format("coport: bind '{}': cannot resolve '{}': {}", bind, hp.host, ec.message())};
      }
      auto ep = results.begin()->endpoint();
      if (!ep.address().is_loopback() && options.secret.empty() && !options.tls.enabled() &&
          !options.insecure) {
        throw std::invalid_argument{fmt::format(
            "coport: bind '{}' is not a loopback address and no secret is set: set a secret "
            "(or `insecure` to let anyone who can reach it connect)",
            bind)};
      }
      plan.endpoints.push_back(ep);
    }
  }
  return plan;
}

std::vector<std::string> bound_addresses(const asio::ip::tcp::endpoint& bound) {
  if (!bound.address().is_unspecified()) return {endpoint_text(bound)};
  // A wildcard: other nodes learn every address of this host, with the port bound.
  std::vector<std::string> out;
  for (const auto& address : host_addresses(bound.address().is_v6())) {
    out.push_back(endpoint_text({address, bound.port()}));
  }
  return out;
}

std::vector<std::string> advertised_addresses(const tcp_options& options,
                                              const std::vector<std::string>& listening,
                                              std::uint16_t first_port) {
  if (options.advertise.empty()) return listening;
  std::vector<std::string> out;
  for (const auto& a : options.advertise) {
    if (parse_address(a).port != 0) {
      out.push_back(a);
    } else {
      out.push_back(fmt::format("{}:{}", a.substr(0, a.rfind(':')), first_port));
    }
  }
  return out;
}

}  // namespace coport::transport::detail
