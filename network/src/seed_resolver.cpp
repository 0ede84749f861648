// detail::seed_resolver — seed names looked up in DNS on a thread of their own
// (seed_resolver.hpp). Names through getaddrinfo (so /etc/hosts and nsswitch count, as for
// every other program of the host); SRV records through the C library's resolver (libresolv).
#include "seed_resolver.hpp"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <fmt/format.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <sys/socket.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <utility>

#include "coport/internal/address.hpp"

namespace coport::network::detail {

namespace {

/// At most this many addresses are taken from one seed (a name is not a network map).
constexpr std::size_t max_addresses = 64;

bool is_literal(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

/// Every address of `host`, with `port`.
void look_up_name(const std::string& host, std::uint16_t port, std::vector<std::string>& out,
                  std::string* error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  int rc = getaddrinfo(host.c_str(), nullptr, &hints, &list);
  if (rc != 0) {
    *error = fmt::format("{}: {}", host, gai_strerror(rc));
    return;
  }
  for (addrinfo* a = list; a && out.size() < max_addresses; a = a->ai_next) {
    char text[INET6_ADDRSTRLEN] = {};
    std::string address;
    if (a->ai_family == AF_INET) {
      inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr, text, sizeof text);
      address = fmt::format("{}:{}", text, port);
    } else if (a->ai_family == AF_INET6) {
      auto* in6 = reinterpret_cast<sockaddr_in6*>(a->ai_addr);
      if (IN6_IS_ADDR_LINKLOCAL(&in6->sin6_addr)) continue;  // needs a scope to be dialed
      inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
      address = fmt::format("[{}]:{}", text, port);
    } else {
      continue;
    }
    if (std::find(out.begin(), out.end(), address) == out.end()) out.push_back(address);
  }
  freeaddrinfo(list);
}

/// The targets and ports of the SRV records of `name`, lowest priority value first.
std::vector<std::pair<std::string, std::uint16_t>> look_up_srv(const std::string& name,
                                                               std::string* error) {
  struct __res_state state;
  std::memset(&state, 0, sizeof state);
  if (res_ninit(&state) != 0) {
    *error = fmt::format("{}: the resolver could not start", name);
    return {};
  }
  std::vector<unsigned char> answer(8192);
  // res_nsearch: a short name gets the search domains, as getaddrinfo gives them to names
  // (srv:_coport._tcp.coport inside a Kubernetes namespace).
  int size = res_nsearch(&state, name.c_str(), ns_c_in, ns_t_srv, answer.data(),
                         static_cast<int>(answer.size()));
  std::vector<std::tuple<std::uint16_t, std::string, std::uint16_t>> found;
  if (size < 0) {
    *error = fmt::format("{}: no SRV records ({})", name,
                         state.res_h_errno == HOST_NOT_FOUND ? "no such name"
                         : state.res_h_errno == NO_DATA      ? "no data"
                         : state.res_h_errno == TRY_AGAIN    ? "no answer, try again"
                                                             : "the lookup failed");
    res_nclose(&state);
    return {};
  }
  res_nclose(&state);
  ns_msg msg;
  if (ns_initparse(answer.data(), std::min(size, static_cast<int>(answer.size())), &msg) != 0) {
    *error = fmt::format("{}: a malformed DNS answer", name);
    return {};
  }
  int count = ns_msg_count(msg, ns_s_an);
  for (int i = 0; i < count && found.size() < max_addresses; ++i) {
    ns_rr rr;
    if (ns_parserr(&msg, ns_s_an, i, &rr) != 0) break;
    if (ns_rr_type(rr) != ns_t_srv || ns_rr_rdlen(rr) < 7) continue;
    const unsigned char* data = ns_rr_rdata(rr);
    auto priority = static_cast<std::uint16_t>(ns_get16(data));
    auto port = static_cast<std::uint16_t>(ns_get16(data + 4));
    char target[NS_MAXDNAME] = {};
    if (dn_expand(ns_msg_base(msg), ns_msg_end(msg), data + 6, target, sizeof target) < 0) continue;
    if (port == 0 || !target[0] || std::strcmp(target, ".") == 0) continue;  // "no service"
    found.emplace_back(priority, target, port);
  }
  std::stable_sort(found.begin(), found.end(),
                   [](const auto& a, const auto& b) { return std::get<0>(a) < std::get<0>(b); });
  std::vector<std::pair<std::string, std::uint16_t>> out;
  for (auto& [priority, target, port] : found) out.emplace_back(std::move(target), port);
  if (out.empty()) *error = fmt::format("{}: no SRV record names a target", name);
  return out;
}

}  // namespace

bool valid_srv_seed(std::string_view seed) {
  if (!seed.starts_with("srv:")) return false;
  seed.remove_prefix(4);
  return !seed.empty() && seed.size() <= 253 &&
         seed.find_first_not_of(
             "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._") ==
             std::string_view::npos;
}

bool needs_lookup(const std::string& seed) {
  if (seed.starts_with("srv:")) return true;
  try {
    return !is_literal(coport::detail::parse_address(seed).host);
  } catch (const std::invalid_argument&) {
    return false;  // refused where seeds are checked
  }
}

std::vector<std::string> look_up(const std::string& seed, std::string* error) {
  std::vector<std::string> out;
  std::string why;
  if (seed.starts_with("srv:")) {
    for (const auto& [target, port] : look_up_srv(seed.substr(4), &why)) {
      std::string target_error;
      look_up_name(target, port, out, &target_error);
      if (!target_error.empty()) why = target_error;
    }
  } else {
    coport::detail::host_port hp;
    try {
      hp = coport::detail::parse_address(seed);
    } catch (const std::invalid_argument& e) {
      *error = e.what();
      return {};
    }
    look_up_name(hp.host, hp.port, out, &why);
  }
  if (out.empty()) *error = why.empty() ? fmt::format("{}: no addresses", seed) : why;
  return out;
}

/// What the resolver's thread and its owner share (the thread keeps it alive).
struct seed_resolver::shared {
  std::mutex mutex;  // all below; held while `done` runs, so that ~seed_resolver waits for it
  std::condition_variable wake;
  std::optional<std::vector<std::string>> request;
  bool closed = false;
  done_callback done;
};

seed_resolver::seed_resolver(done_callback done) : shared_{std::make_shared<shared>()} {
  shared_->done = std::move(done);
  std::thread{[s = shared_] {
    std::unique_lock lock{s->mutex};
    while (true) {
      s->wake.wait(lock, [&] { return s->closed || s->request; });
      if (s->closed) return;
      auto seeds = std::move(*s->request);
      s->request.reset();
      for (const auto& seed : seeds) {
        lock.unlock();
        std::string error;
        auto addresses = look_up(seed, &error);
        lock.lock();
        if (s->closed) return;
        s->done(seed, addresses, error);
      }
    }
  }}.detach();
}

seed_resolver::~seed_resolver() {
  std::lock_guard lock{shared_->mutex};  // waits for a `done` that runs now
  shared_->closed = true;
  shared_->done = nullptr;
  shared_->wake.notify_all();
}

void seed_resolver::resolve(std::vector<std::string> seeds) {
  std::lock_guard lock{shared_->mutex};
  shared_->request = std::move(seeds);
  shared_->wake.notify_all();
}

}  // namespace coport::network::detail
