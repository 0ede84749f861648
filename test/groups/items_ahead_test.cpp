// A standby's items past a gap (groups/src/items_ahead.cpp): held once each, given back in
// sequence as the gap fills, what falls behind dropped, and their weight counted.
#include <doctest/doctest.h>

#include "items_ahead.hpp"  // groups/src
#include "support/group_items.hpp"

using namespace coport;
using coport::groups::detail::item;
using coport::groups::detail::item_kind;
using coport::groups::detail::item_weight;
using coport::groups::detail::items_ahead;

namespace {

item numbered(std::uint64_t seq) {
  item it = test::group_item(item_kind::leave, port_id{"ia-a", seq});
  it.seq = seq;
  return it;
}

}  // namespace

TEST_SUITE("groups.items_ahead") {
  TEST_CASE("items come back in sequence once the gap fills, and an item held twice counts once") {
    items_ahead a;
    a.keep(numbered(5));
    a.keep(numbered(4));
    a.keep(numbered(4));
    CHECK(a.size() == 2);
    CHECK(a.bytes() == 2 * item_weight(numbered(4)));
    CHECK_FALSE(a.take(3));
    auto four = a.take(4);
    REQUIRE(four);
    CHECK(four->seq == 4);
    auto five = a.take(5);
    REQUIRE(five);
    CHECK(five->port == port_id{"ia-a", 5});
    CHECK_FALSE(a.take(6));
    CHECK(a.size() == 0);
    CHECK(a.bytes() == 0);
  }

  TEST_CASE("items behind the next one expected are dropped on the way") {
    items_ahead a;
    a.keep(numbered(2));
    a.keep(numbered(3));
    a.keep(numbered(7));
    CHECK_FALSE(a.take(5));
    CHECK(a.size() == 1);
    CHECK(a.bytes() == item_weight(numbered(7)));
    CHECK(a.take(7));
  }
}
