// A group's members as a master or standby holds them (groups/src/membership.cpp): join
// order, where a leaving member was, and the nodes the items go to.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "membership.hpp"  // groups/src
#include "support/group_items.hpp"

using namespace coport;
using coport::groups::detail::history;
using coport::groups::detail::item;
using coport::groups::detail::item_kind;
using coport::groups::detail::membership;

TEST_SUITE("groups.membership") {
  TEST_CASE("joins keep their order, a leave says where the member was, and items carry no list") {
    membership m;
    const port_id a{"mb-a", 1}, b{"mb-b", 2}, c{"mb-a", 3};
    for (const auto& p : {a, b, c}) {
      item it = test::group_item(item_kind::join, p);
      it.members = {a};
      CHECK(m.apply(it) == 0);
      CHECK(it.members.empty());
    }
    CHECK(m.list() == std::vector<port_id>{a, b, c});
    item leave = test::group_item(item_kind::leave, b);
    CHECK(m.apply(leave) == 1);
    CHECK(m.list() == std::vector<port_id>{a, c});
    CHECK(m.contains(a));
    CHECK_FALSE(m.contains(b));
    item again = test::group_item(item_kind::leave, b);
    CHECK(m.apply(again) == history::no_position);
  }

  TEST_CASE("the node list follows the members and each change makes a new one") {
    membership m;
    CHECK_FALSE(m.nodes());
    CHECK_FALSE(m.beyond("mb-a"));
    const port_id a{"mb-a", 1}, b{"mb-b", 2}, c{"mb-a", 3};
    item ja = test::group_item(item_kind::join, a);
    m.apply(ja);
    const auto first = m.nodes();
    CHECK(*first == std::vector<std::string>{"mb-a"});
    CHECK_FALSE(m.beyond("mb-a"));
    CHECK(m.beyond("mb-b"));
    item jb = test::group_item(item_kind::join, b);
    item jc = test::group_item(item_kind::join, c);
    m.apply(jb);
    m.apply(jc);
    CHECK(*m.nodes() == std::vector<std::string>{"mb-a", "mb-b"});
    CHECK(m.beyond("mb-a"));
    CHECK(*first == std::vector<std::string>{"mb-a"});  // (an entry's nodes stay as sent)
    item la = test::group_item(item_kind::leave, a);
    m.apply(la);
    CHECK(*m.nodes() == std::vector<std::string>{"mb-a", "mb-b"});  // c is still on mb-a
    m.assign({b});
    CHECK(m.list() == std::vector<port_id>{b});
    CHECK(*m.nodes() == std::vector<std::string>{"mb-b"});
  }

  TEST_CASE("a message changes neither the members nor the node list") {
    membership m;
    item j = test::group_item(item_kind::join, port_id{"mb-a", 1});
    m.apply(j);
    const auto nodes = m.nodes();
    item msg = test::group_item(item_kind::message, port_id{"mb-b", 2});
    CHECK(m.apply(msg) == 0);
    CHECK(m.size() == 1);
    CHECK(m.nodes() == nodes);
  }
}
