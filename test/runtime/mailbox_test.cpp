// A coroutine actor's mailbox (runtime/src/mailbox.cpp) on its own: what it holds after a burst.
#include <doctest/doctest.h>

#include <coport/detail/mailbox.hpp>
#include <coport/message.hpp>

using namespace coport;

namespace {

bool any(void*, const message&) { return true; }

}  // namespace

TEST_SUITE("mailbox") {
  TEST_CASE("a burst's room is given back once few of its messages stay queued") {
    detail::mailbox box;
    constexpr int burst = 100'000;
    for (int i = 0; i < burst; ++i) {
      auto m = message::make(tag{"burst"}, i);
      box.push(m);
    }
    for (int i = 0; i < 3; ++i) {
      auto m = message::make(tag{"stays"}, i);
      box.push(m);
    }
    CHECK(box.room() >= burst);
    const tag wanted[] = {tag{"burst"}};
    for (int i = 0; i < burst; ++i) {
      message m = box.take_first(wanted, &any, nullptr);
      REQUIRE(m.tag() == tag{"burst"});
      REQUIRE(m.get<int>(0) == i);
    }
    CHECK(box.size() == 3);
    CHECK(box.room() < 2048);
    // What stays is still there, in order.
    for (int i = 0; i < 3; ++i) {
      message m = box.take_first(&any, nullptr);
      REQUIRE(m.tag() == tag{"stays"});
      CHECK(m.get<int>(0) == i);
    }
    CHECK(box.empty());
  }
}
