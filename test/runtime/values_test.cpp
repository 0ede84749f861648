// Tags, port IDs and reasons: the value types every message and monitor carries.
#include <doctest/doctest.h>

#include <coport/port_id.hpp>
#include <coport/reason.hpp>
#include <coport/tag.hpp>
#include <cstring>
#include <thread>
#include <vector>

using namespace coport;

TEST_SUITE("values") {
  TEST_CASE("a tag made twice from the same name is the same tag") {
    tag a{"ping"};
    tag b{std::string{"ping"}};
    CHECK(a == b);
    CHECK(a.id() == b.id());
    CHECK(a.name() == "ping");
    CHECK(tag{"pong"} != a);
    CHECK(tag{}.empty());
  }

  TEST_CASE("a _tag literal is interned once and equals the runtime tag") {
    CHECK("ping"_tag == tag{"ping"});
    CHECK(&"ping"_tag == &"ping"_tag);
  }

  TEST_CASE("a char array too long for the literal cache still gives its text's tag") {
    char long_buf[40] = "a-name-longer-than-the-cached-copy";
    CHECK(tag{long_buf}.name() == "a-name-longer-than-the-cached-copy");
    long_buf[0] = 'b';
    CHECK(tag{long_buf}.name() == "b-name-longer-than-the-cached-copy");
  }

  TEST_CASE("tags interned concurrently from many threads agree") {
    std::vector<std::thread> threads;
    std::vector<std::uint32_t> ids(8);
    for (int i = 0; i < 8; ++i) {
      threads.emplace_back([&ids, i] { ids[i] = tag{"concurrent-tag"}.id(); });
    }
    for (auto& t : threads) t.join();
    for (auto id : ids) CHECK(id == ids[0]);
  }

  TEST_CASE("a port ID prints as nodeid#number and parses back") {
    port_id p{"alpha/1", 42};
    CHECK(p.to_string() == "alpha/1#42");
    CHECK(node_of(p) == "alpha/1");
    auto parsed = port_id::parse("alpha/1#42");
    REQUIRE(parsed);
    CHECK(*parsed == p);
  }

  TEST_CASE("a bare node ID parses as the node port") {
    auto parsed = port_id::parse("node-a.example:7");
    REQUIRE(parsed);
    CHECK(parsed->is_node_port());
    CHECK(parsed->to_string() == "node-a.example:7");
  }

  TEST_CASE("malformed port IDs do not parse") {
    for (const char* bad : {"", "#1", "a#", "a#x", "a#1x", "a b#1", "a#0", "a#-1",
                            "a#99999999999999999999999", "ä#1"}) {
      CAPTURE(bad);
      CHECK_FALSE(port_id::parse(bad));
    }
  }

  TEST_CASE("a malformed node ID is refused with an exception naming it") {
    CHECK_THROWS_WITH_AS(port_id("bad id", 1), doctest::Contains("bad id"), std::invalid_argument);
    CHECK_FALSE(valid_node_id(""));
    CHECK(valid_node_id("anon/x_y-z.1:2"));
  }

  TEST_CASE("a reason is normal when empty and prints its parts") {
    CHECK(reason{}.normal());
    CHECK(reason{}.to_string() == "normal");
    reason r{"die", "boom", "again"};
    CHECK_FALSE(r.normal());
    CHECK(r.kind() == "die");
    CHECK(r.detail() == "boom: again");
    CHECK(r.to_string() == "die: boom: again");
  }
}

TEST_SUITE("values") {
  TEST_CASE("a tag made from a char array that is reused for other text is the new text's tag") {
    // The per-thread literal cache is keyed by address; it must compare the text too.
    char buffer[8] = "first";
    tag a{buffer};
    std::strcpy(buffer, "second");
    tag b{buffer};
    CHECK(a.name() == "first");
    CHECK(b.name() == "second");
    const char literal[] = "lit";
    CHECK(tag{literal} == tag{std::string{"lit"}});
  }
}

TEST_SUITE("values") {
  TEST_CASE("tags from literals, arrays, C strings and std::strings agree") {
    const char* pointer = "same";
    char array[] = "same";
    std::string text = "same";
    tag from_literal{"same"};
    CHECK(tag{pointer} == from_literal);
    CHECK(tag{array} == from_literal);
    CHECK(tag{text} == from_literal);
    CHECK(tag{std::string_view{text}} == from_literal);
  }
}
