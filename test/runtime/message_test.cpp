// Messages: a tag and typed values, moved and never copied on the local path.
#include <doctest/doctest.h>

#include <coport/message.hpp>
#include <memory>
#include <string>
#include <vector>

using namespace coport;

namespace {

/// Counts copies and moves.
struct counted {
  static inline int copies = 0;
  static inline int moves = 0;
  counted() = default;
  counted(const counted&) { ++copies; }
  counted(counted&&) noexcept { ++moves; }
  counted& operator=(const counted&) = default;
  counted& operator=(counted&&) = default;
};

}  // namespace

TEST_SUITE("message") {
  TEST_CASE("a message holds its tag and its typed values") {
    auto m = message::make("add", 1, 2.5, std::string{"x"});
    CHECK(m.tag() == tag{"add"});
    CHECK(m.size() == 3);
    CHECK(m.is<int, double, std::string>());
    CHECK_FALSE(m.is<int, int, std::string>());
    CHECK(m.get<int>(0) == 1);
    CHECK(m.get<double>(1) == 2.5);
    CHECK(m.get<std::string>(2) == "x");
    auto& [a, b, c] = m.as<int, double, std::string>();
    CHECK(a == 1);
    CHECK(b == 2.5);
    CHECK(c == "x");
  }

  TEST_CASE("string literals and string views are stored as std::string") {
    std::string_view view = "view";
    auto m = message::make("t", "literal", view);
    CHECK(m.is<std::string, std::string>());
    CHECK(m.get<std::string>(0) == "literal");
    CHECK(m.get<std::string>(1) == "view");
  }

  TEST_CASE("reading a value as the wrong type throws bad_message_access naming the types") {
    auto m = message::make("t", 1);
    CHECK_THROWS_WITH_AS(m.get<std::string>(0), doctest::Contains("is not a std::string"),
                         bad_message_access);
    CHECK_THROWS_AS(m.get<int>(1), bad_message_access);
    CHECK_THROWS_AS((m.as<int, int>()), bad_message_access);
  }

  TEST_CASE("making a message moves an rvalue into it without copying") {
    counted::copies = 0;
    counted::moves = 0;
    auto m = message::make("t", counted{});
    CHECK(counted::copies == 0);
    CHECK(counted::moves == 1);
    message moved = std::move(m);
    CHECK(counted::copies == 0);
    CHECK(counted::moves == 1);
    CHECK_FALSE(m);
    CHECK(moved);
  }

  TEST_CASE("a message can carry move-only values") {
    auto m = message::make("t", std::make_unique<int>(7));
    CHECK(*m.get<std::unique_ptr<int>>(0) == 7);
  }

  TEST_CASE("an empty message has no tag and describes itself") {
    message none;
    CHECK_FALSE(none);
    CHECK(none.size() == 0);
    CHECK(none.describe() == "(no message)");
    CHECK(message::make("x", 1).describe() == "'x'(int)");
  }
}
