#pragma once
/// \file
/// Benchmark support: a node "with metrics" as production runs it: a coport::metrics
/// exporter exposing it (and its links) and a scraper thread that, while active, GETs
/// /metrics every `every` (Prometheus' usual interval is 15 s; 100 ms here, so the scrapes
/// show); and the median of alternating rounds without and with scrapes.
/// Threading: made and destroyed on the benchmark's main thread.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <coport/metrics/exporter.hpp>
#include <coport/node.hpp>
#include <coport/transport/tcp.hpp>
#include <string>
#include <thread>
#include <vector>

namespace bench {

class scraped {
 public:
  scraped(coport::node& n, coport::transport::tcp* links, std::chrono::milliseconds every)
      : web_{"127.0.0.1:0"}, exposed_{web_.expose({.node = n, .links = links})} {
    const std::string address = web_.address();
    const int port = std::stoi(address.substr(address.rfind(':') + 1));
    thread_ = std::thread{[this, port, every] {
      auto next = std::chrono::steady_clock::now();
      while (!stop_.load()) {
        if (active_.load() && std::chrono::steady_clock::now() >= next) {
          scrape(port);
          scrapes_.fetch_add(1);
          next = std::chrono::steady_clock::now() + every;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds{5});
      }
    }};
  }
  /// Scrapes from now on (the first at once), or stops scraping.
  void active(bool on) { active_ = on; }
  ~scraped() {
    stop_ = true;
    thread_.join();
  }
  long scrapes() const { return scrapes_.load(); }

 private:
  static void scrape(int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<std::uint16_t>(port));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0) {
      const char request[] = "GET /metrics HTTP/1.0\r\n\r\n";
      if (::send(fd, request, sizeof request - 1, MSG_NOSIGNAL) > 0) {
        char buf[16384];
        while (::recv(fd, buf, sizeof buf, 0) > 0) {
        }
      }
    }
    ::close(fd);
  }

  coport::metrics::exporter web_;
  coport::subscription exposed_;
  std::atomic<bool> stop_{false}, active_{false};
  std::atomic<long> scrapes_{0};
  std::thread thread_;
};

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

}  // namespace bench
