// Which accepted connections may start a handshake: places per address and in all, and the
// eviction that keeps an address's place when many others reconnect without end.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "admission.hpp"

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
      held.push_back(a.admit(addr("10.0.0.1")));
      CHECK(held.back() != 0);
    }
    CHECK(a.admit(addr("10.0.0.1")) == 0);
    CHECK(a.admit(addr("10.0.0.2")) != 0);
    a.done(held[0]);
    CHECK(a.admit(addr("10.0.0.1")) != 0);
  }

  TEST_CASE("addresses of one IPv6 /64 share their places, other /64s do not") {
    admission a{"adm"};
    for (std::size_t i = 0; i < admission::max_per_source; ++i) {
      CHECK(a.admit(addr("2001:db8:1:2::" + std::to_string(i + 1))) != 0);
    }
    CHECK(a.admit(addr("2001:db8:1:2:ffff::9")) == 0);
    CHECK(a.admit(addr("2001:db8:1:3::1")) != 0);
    CHECK(a.admit(addr("::ffff:10.0.0.1")) != 0);  // IPv4-mapped: the IPv4 address counts
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
        t.push_back(a.admit(addr("10.1.0." + std::to_string(s + 1))));
        REQUIRE(t.back() != 0);
        int me = static_cast<int>(n++);
        CHECK(a.bind(t.back(), [&ended, me] { ended.push_back(me); }));
      }
    }
    REQUIRE(n == admission::max_total);
    // An address already at 8 (ties at the top): refused, nothing ended.
    CHECK(a.admit(addr("10.1.0.1")) == 0);
    CHECK(ended.empty());
    // A new address: the oldest of the first address with the most (10.1.0.1's first) ends.
    auto fresh = a.admit(addr("192.0.2.7"));
    CHECK(fresh != 0);
    CHECK(ended == std::vector<int>{0});
    // Ended means done: its done() later changes nothing; the count stays at the total.
    a.done(t[0]);
    CHECK(a.admit(addr("10.1.0.1")) == 0);  // 7 held, but 7 + 1 is not below the top (8)
    // The newcomer keeps its place while others churn: the next evictions take from
    // addresses still at 8, never from the one at 1.
    for (int i = 0; i < 31; ++i) CHECK(a.admit(addr("198.51.100." + std::to_string(i + 1))) != 0);
    CHECK(ended.size() == 32);
    CHECK(a.bind(fresh, [] {}));  // still held
  }

  TEST_CASE("a handshake evicted before its end was bound is refused its bind") {
    admission a{"adm"};
    std::vector<admission::ticket> t;
    for (int s = 0; s < 32; ++s) {
      for (std::size_t k = 0; k < admission::max_per_source; ++k) {
        t.push_back(a.admit(addr("10.2.0." + std::to_string(s + 1))));
      }
    }
    CHECK(a.admit(addr("192.0.2.8")) != 0);  // evicts t[0], whose end was never bound
    CHECK_FALSE(a.bind(t[0], [] {}));
    CHECK(a.bind(t[1], [] {}));
  }
}
