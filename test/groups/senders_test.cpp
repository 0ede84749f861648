// What a group's master knows of the streams it numbered messages of (groups/src/
// senders.cpp): a message seen once is seen again, confirmations per stream once per burst,
// a dropped tail is forgotten, and what a peer's streams can make it hold is bounded.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "senders.hpp"  // groups/src

using namespace coport;
using coport::groups::detail::senders;

TEST_SUITE("groups.senders") {
  TEST_CASE("a number at or below the last numbered of a stream is seen, and no other") {
    senders s;
    port_id a{"sn-a", 7};
    CHECK_FALSE(s.seen(a, 1));
    s.numbered(a, 1);
    s.numbered(a, 2);
    CHECK(s.seen(a, 1));
    CHECK(s.seen(a, 2));
    CHECK_FALSE(s.seen(a, 3));
    CHECK_FALSE(s.seen(port_id{"sn-b", 7}, 1));
  }

  TEST_CASE(
      "numbers may come out of order, a confirmation covers only a floor released without a "
      "gap, and a sender's lowest wait moves the floors past what it gave up") {
    senders s;
    port_id a{"sn-a", 3};
    s.numbered(a, 2);
    CHECK(s.seen(a, 2));
    CHECK_FALSE(s.seen(a, 1));
    s.released(a, 2, true);
    CHECK(s.take_confirmations() == std::vector<std::pair<port_id, std::uint64_t>>{});
    s.numbered(a, 1);
    s.released(a, 1, true);
    CHECK(s.take_confirmations() ==
          std::vector<std::pair<port_id, std::uint64_t>>{{a, std::uint64_t{2}}});
    // 3 was given up by the sender (reported to it): 4 waits for nothing below it.
    s.numbered(a, 4);
    s.released(a, 4, true);
    CHECK(s.take_confirmations().empty());
    s.waits_from(a, 5);
    CHECK(s.seen(a, 3));  // late, it is not ordered
    CHECK(s.take_confirmations() ==
          std::vector<std::pair<port_id, std::uint64_t>>{{a, std::uint64_t{4}}});
  }

  TEST_CASE("released messages are confirmed once per stream, with the last released") {
    senders s;
    port_id a{"sn-a", 1}, b{"sn-b", 1};
    for (std::uint64_t k = 1; k <= 3; ++k) s.numbered(a, k);
    s.numbered(b, 1);
    s.released(a, 1, true);
    s.released(a, 2, true);
    s.released(b, 1, true);
    auto told = s.take_confirmations();
    REQUIRE(told.size() == 2);
    CHECK(told[0] == std::pair{a, std::uint64_t{2}});
    CHECK(told[1] == std::pair{b, std::uint64_t{1}});
    CHECK(s.take_confirmations().empty());
    // A message seen again is confirmed again (only as far as released); a standby tells no one.
    s.again(a);
    s.released(b, 1, false);
    told = s.take_confirmations();
    REQUIRE(told.size() == 1);
    CHECK(told[0] == std::pair{a, std::uint64_t{2}});
  }

  TEST_CASE("a dropped tail is numbered again, and a snapshot carries what was released") {
    senders s;
    port_id a{"sn-a", 1};
    for (std::uint64_t k = 1; k <= 5; ++k) s.numbered(a, k);
    s.released(a, 3, false);
    s.unnumber(a, 4);  // items holding 4 and 5 were dropped (a new master never had them)
    CHECK(s.seen(a, 3));
    CHECK_FALSE(s.seen(a, 4));
    senders standby;
    standby.load(s.snapshot());
    CHECK(standby.seen(a, 3));
    CHECK_FALSE(standby.seen(a, 4));
  }

  TEST_CASE("one node's streams and all streams are bounded, the least recently used going") {
    senders s;
    for (std::uint64_t local = 1; local <= 10; ++local) s.numbered(port_id{"sn-peer", local}, 1);
    CHECK(s.size() == senders::per_node);
    CHECK(s.seen(port_id{"sn-peer", 10}, 1));
    CHECK_FALSE(s.seen(port_id{"sn-peer", 1}, 1));
    senders all;
    for (std::size_t i = 0; i < senders::limit + 10; ++i) {
      all.numbered(port_id{"sn-n" + std::to_string(i), 1}, 1);
    }
    CHECK(all.size() == senders::limit);
    CHECK(all.seen(port_id{"sn-n" + std::to_string(senders::limit + 9), 1}, 1));
    CHECK_FALSE(all.seen(port_id{"sn-n0", 1}, 1));
  }
}
