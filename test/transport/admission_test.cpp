// Which accepted connections may start a handshake: places per address and in all, and the
// eviction that keeps an address's place when many others reconnect without end; the rules
// on their own, then over TCP with idle sockets from loopback addresses while a good node
// connects.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <atomic>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "admission.hpp"
#include "support/handshake_fixtures.hpp"
#include "support/log_capture.hpp"
#include "support/probe.hpp"

using namespace coport;
using namespace coport::test;
using coport::test::hs::fast;
using coport::test::hs::tcp_node;
using coport::transport::detail::admission;

namespace {

asio::ip::address addr(const std::string& a) {
  return asio::ip::make_address(a);
}

}  // namespace

TEST_SUITE("transport.admission") {
  TEST_CASE("one address holds at most max_per_source places, and a place comes back when done") {
    admission a{"adm"};
    std::vector<admission::ticket> held;
    for (std::size_t i = 0; i < admission::max_per_source; ++i) {
      held.push_back(a.admit(addr("127.0.1.1")));
      CHECK(held.back() != 0);
    }
    CHECK(a.admit(addr("127.0.1.1")) == 0);
    CHECK(a.admit(addr("127.0.1.2")) != 0);
    a.done(held[0]);
    CHECK(a.admit(addr("127.0.1.1")) != 0);
  }

  TEST_CASE("addresses of one IPv6 /64 share their places, other /64s do not") {
    admission a{"adm"};
    for (std::size_t i = 0; i < admission::max_per_source; ++i) {
      CHECK(a.admit(addr("2001:db8:1:2::" + std::to_string(i + 1))) != 0);
    }
    CHECK(a.admit(addr("2001:db8:1:2:ffff::9")) == 0);
    CHECK(a.admit(addr("2001:db8:1:3::1")) != 0);
    CHECK(a.admit(addr("::ffff:127.0.1.1")) != 0);  // IPv4-mapped: the IPv4 address counts
  }

  TEST_CASE(
      "with every place taken, an address holding fewer takes the oldest place of the address "
      "holding the most, and the evicted handshake is ended") {
    admission a{"adm"};
    std::vector<admission::ticket> t;
    std::vector<int> ended;
    std::size_t n = 0;
    // 32 addresses x 8 places: all 256 taken, each with its end.
    for (int s = 0; s < 32; ++s) {
      for (std::size_t k = 0; k < admission::max_per_source; ++k) {
        t.push_back(a.admit(addr("127.1.0." + std::to_string(s + 1))));
        REQUIRE(t.back() != 0);
        int me = static_cast<int>(n++);
        CHECK(a.bind(t.back(), [&ended, me] { ended.push_back(me); }));
      }
    }
    REQUIRE(n == admission::max_total);
    // An address already at 8 (ties at the top): refused, nothing ended.
    CHECK(a.admit(addr("127.1.0.1")) == 0);
    CHECK(ended.empty());
    // A new address: the oldest of the first address with the most (127.1.0.1's first) ends.
    auto fresh = a.admit(addr("127.9.0.7"));
    CHECK(fresh != 0);
    CHECK(ended == std::vector<int>{0});
    // Ended means done: its done() later changes nothing; the count stays at the total.
    a.done(t[0]);
    CHECK(a.admit(addr("127.1.0.1")) == 0);  // 7 held, but 7 + 1 is not below the top (8)
    // The newcomer keeps its place while others churn: the next evictions take from
    // addresses still at 8, never from the one at 1.
    for (int i = 0; i < 31; ++i) CHECK(a.admit(addr("127.8.0." + std::to_string(i + 1))) != 0);
    CHECK(ended.size() == 32);
    CHECK(a.bind(fresh, [] {}));  // still held
  }

  TEST_CASE("a handshake evicted before its end was bound is refused its bind") {
    admission a{"adm"};
    std::vector<admission::ticket> t;
    for (int s = 0; s < 32; ++s) {
      for (std::size_t k = 0; k < admission::max_per_source; ++k) {
        t.push_back(a.admit(addr("127.2.0." + std::to_string(s + 1))));
      }
    }
    CHECK(a.admit(addr("127.9.0.8")) != 0);  // evicts t[0], whose end was never bound
    CHECK_FALSE(a.bind(t[0], [] {}));
    CHECK(a.bind(t[1], [] {}));
  }

  TEST_CASE(
      "idle connections from one address hold at most 8 handshake places and none past the "
      "hello deadline, while a good node connects from another address, and the refusals "
      "are logged once a second with a count") {
    auto o = fast();
    o.connect_timeout = 10000ms;
    o.hello_timeout = 4000ms;  // room for slow (sanitized, busy) runs before it acts
    log_capture log;
    tcp_node b{"many-b", o};
    auto addr = b.t.addresses().at(0);
    auto port = static_cast<std::uint16_t>(std::stoi(addr.substr(addr.rfind(':') + 1)));
    asio::io_context io;
    asio::ip::tcp::endpoint ep{asio::ip::make_address("127.0.0.1"), port};
    std::vector<asio::ip::tcp::socket> silent;
    for (int i = 0; i < 300; ++i) {  // from 127.0.0.2, never a byte
      silent.emplace_back(io);
      silent.back().open(asio::ip::tcp::v4());
      silent.back().bind({asio::ip::make_address("127.0.0.2"), 0});
      silent.back().connect(ep);
    }
    auto closed_count = [&] {
      int closed = 0;
      for (auto& s : silent) {
        s.non_blocking(true);
        std::byte buf[16];
        asio::error_code ec;
        s.read_some(asio::buffer(buf), ec);
        if (ec && ec != asio::error::would_block) ++closed;
      }
      return closed;
    };
    // Those beyond the 8 places of their address are closed at once.
    int early = 0;
    CHECK(eventually(
        [&] {
          early = closed_count();
          return early >= 300 - 8;
        },
        3000ms));
    CHECK(early <= 300 - 8 + 2);  // not the ones still within their deadline
    // Meanwhile a real node (from 127.0.0.1) gets through.
    tcp_node a{"many-a"};
    a.knows(b);
    probe got;
    auto pb = b.n.port();
    b.n.rcv(pb, "n", [&](int i) { got.add(std::to_string(i)); });
    a.n.snd(pb, "n", 1);
    REQUIRE(got.wait_for(1));
    // At the hello deadline the rest go too.
    CHECK(eventually([&] { return closed_count() == 300; }, 10s));
    // 292 refusals, a line or two about them (once a second, with a count).
    auto text = log.text();
    std::size_t lines = 0;
    for (auto at = text.find("refused "); at != std::string::npos;
         at = text.find("refused ", at + 1)) {
      ++lines;
    }
    CHECK(lines >= 1);
    CHECK(lines <= 3);
    CHECK(text.find("from 127.0.0.2 are in their handshake") != std::string::npos);
    REQUIRE(got.wait_for(1));
  }

  TEST_CASE(
      "idle connections from 40 addresses, reopened as soon as they are closed, do not keep a "
      "good node out: with every handshake place taken, a connection from an address that "
      "holds fewer takes the place of the oldest from the address that holds the most") {
    auto o = fast();
    o.connect_timeout = 10000ms;
    log_capture log;
    tcp_node b{"churn-b", o};
    auto addr = b.t.addresses().at(0);
    auto port = static_cast<std::uint16_t>(std::stoi(addr.substr(addr.rfind(':') + 1)));
    asio::ip::tcp::endpoint ep{asio::ip::make_address("127.0.0.1"), port};
    // 7 sockets from each of 127.0.0.10 ... 127.0.0.49 (280: more than the 256 places, fewer
    // than 8 per address), each reopened as soon as the node closes it, until the end.
    std::atomic<bool> stop{false};
    std::atomic<long> opened{0};
    std::thread churn{[&] {
      asio::io_context io;
      struct slot {
        std::string from;
        std::optional<asio::ip::tcp::socket> s;
      };
      std::vector<slot> slots;
      for (int a = 10; a < 50; ++a) {
        for (int k = 0; k < 7; ++k) slots.push_back({fmt::format("127.0.0.{}", a), {}});
      }
      auto open = [&](slot& x) {
        x.s.emplace(io);
        asio::error_code ec;
        x.s->open(asio::ip::tcp::v4(), ec);
        x.s->bind({asio::ip::make_address(x.from), 0}, ec);
        x.s->connect(ep, ec);
        x.s->non_blocking(true, ec);
        ++opened;
      };
      for (auto& x : slots) open(x);
      while (!stop) {
        for (auto& x : slots) {
          std::byte buf[16];
          asio::error_code ec;
          x.s->read_some(asio::buffer(buf), ec);
          if (ec && ec != asio::error::would_block) open(x);
        }
        std::this_thread::sleep_for(1ms);  // pacing only
      }
    }};
    // The places are full (and refilled at once) before the good node comes.
    CHECK(eventually([&] { return opened >= 280; }, 5000ms));
    tcp_node a{"churn-a"};
    a.knows(b);
    probe got;
    auto pb = b.n.port();
    b.n.rcv(pb, "n", [&](int i) { got.add(std::to_string(i)); });
    a.n.snd(pb, "n", 1);
    CHECK(got.wait_for(1, 5s));
    stop = true;
    churn.join();
    MESSAGE(opened.load() << " idle connections opened");
    CHECK(log.text().find("made room for one from") != std::string::npos);
  }
}
