// What a group's master and standbys hold of the stream (groups/src/group_log.cpp): numbering
// and releasing, a standby's accepting, a snapshot, undoing what a new master never had, and
// what an agent or a standby misses.
#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "group_log.hpp"  // groups/src
#include "support/group_items.hpp"

using namespace coport;
using coport::groups::detail::group_log;
using coport::groups::detail::item;
using coport::groups::detail::item_kind;
using coport::groups::detail::item_weight;

namespace {

item message_of(const port_id& stream, std::uint64_t seq) {
  item it = test::group_item(item_kind::message, port_id{"gl-a", 9});
  it.stream = stream;
  it.stream_seq = seq;
  it.stream_low = seq;
  return it;
}

}  // namespace

TEST_SUITE("groups.group_log") {
  TEST_CASE(
      "a master numbers items in sequence and releases them in order with the view of a join") {
    group_log log{16, 1};
    const port_id a{"gl-a", 1}, b{"gl-b", 2};
    CHECK(log.last() == 0);
    for (const auto& p : {a, b}) {
      item it = test::group_item(item_kind::join, p);
      const std::size_t w = item_weight(it);
      log.number(std::move(it), w);
    }
    CHECK(log.last() == 2);
    CHECK(log.released() == 0);
    CHECK(log.members().list() == std::vector<port_id>{a, b});
    std::vector<std::uint64_t> seqs;
    std::vector<std::vector<port_id>> views;
    log.release_to(2, [&](const group_log::entry& e, const std::vector<port_id>* view) {
      seqs.push_back(e.it.seq);
      REQUIRE(view);
      views.push_back(*view);
    });
    CHECK(seqs == std::vector<std::uint64_t>{1, 2});
    CHECK(views == std::vector<std::vector<port_id>>{{a}, {a, b}});
    CHECK(log.released() == 2);
  }

  TEST_CASE(
      "an agent gets what it misses up to what was released and is told where the history ends") {
    group_log log{16, 3};
    const port_id a{"gl-a", 1};
    item j = test::group_item(item_kind::join, a);
    const std::size_t w = item_weight(j);
    log.number(std::move(j), w);
    item l = test::group_item(item_kind::leave, a);
    const std::size_t wl = item_weight(l);
    log.number(std::move(l), wl);
    log.release_to(1, [](const group_log::entry&, const std::vector<port_id>*) {});
    std::vector<item> got;
    std::uint64_t lost = 0;
    log.missed_by(
        0, [&](const item& it) { got.push_back(it); }, [&](std::uint64_t s) { lost = s; });
    REQUIRE(got.size() == 1);  // (item 2 is not released)
    CHECK(got[0].members == std::vector<port_id>{a});
    CHECK(lost == 0);
    std::vector<std::uint64_t> after;
    log.each_after(0, [&](const item& it) { after.push_back(it.seq); });
    CHECK(after == std::vector<std::uint64_t>{1, 2});
    log.kept().clear();
    log.missed_by(
        0, [&](const item& it) { got.push_back(it); }, [&](std::uint64_t s) { lost = s; });
    CHECK(lost == 1);
  }

  TEST_CASE(
      "a standby accepts its master's items, and a new master's rollback undoes numbers and "
      "members") {
    group_log log{16, 1};
    const port_id a{"gl-a", 1}, b{"gl-b", 2}, stream{"gl-c", 7};
    log.reset(2, 4, {a});
    CHECK(log.epoch() == 2);
    CHECK(log.next() == 5);
    CHECK(log.released() == 4);
    item j = test::group_item(item_kind::join, b);
    j.seq = 5;
    CHECK(log.accept(std::move(j)) == 5);
    item m = message_of(stream, 1);
    m.seq = 6;
    CHECK(log.accept(std::move(m)) == 6);
    CHECK(log.released() == 6);
    CHECK(log.members().list() == std::vector<port_id>{a, b});
    CHECK(log.streams().seen(stream, 1));
    log.roll_back(4);
    CHECK(log.last() == 4);
    CHECK(log.members().list() == std::vector<port_id>{a});
    CHECK(*log.members().nodes() == std::vector<std::string>{"gl-a"});
    CHECK_FALSE(log.streams().seen(stream, 1));
    log.release_all();
    CHECK(log.released() == 4);
  }
}
