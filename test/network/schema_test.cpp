// A build's wire schema (coport/network/schema.hpp): what it names, and which differences
// between two builds let them share a network (README "Rolling upgrades").
#include <doctest/doctest.h>

#include <array>
#include <coport/coport.hpp>
#include <coport/network/schema.hpp>
#include <coport/serialize.hpp>
#include <coport/transport/transport.hpp>
#include <coport/wire/reader.hpp>
#include <coport/wire/writer.hpp>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "support/nodes.hpp"

using namespace coport;
using coport::network::compare_schemas;
using coport::network::schema_json;
using coport::test::threaded;

namespace {

struct schema_inner {
  double weight = 0;
  template <class A>
  void serialize(A& a) {
    a(weight);
  }
};

/// A tree of itself: described once, then `rec`.
struct schema_tree {
  std::int32_t value = 0;
  std::vector<schema_tree> children;
  template <class A>
  void serialize(A& a) {
    a(value, children);
  }
};

struct schema_odd {
  std::vector<bool> bits;
  std::array<std::uint8_t, 4> address{};
  schema_inner last;  // a nested class is in parentheses: its fields are not the outer one's
  template <class A>
  void serialize(A& a, std::uint32_t) {
    a(bits, address, last);
  }
};

struct schema_everything {
  std::int32_t id = 0;
  std::string name;
  std::vector<double> samples;
  std::map<std::string, std::int64_t> counts;
  std::optional<std::uint16_t> port;
  std::variant<std::int32_t, std::string> either;
  port_id reply_to;
  std::vector<schema_inner> inner;
  bool flag = false;
  template <class A>
  void serialize(A& a, std::uint32_t /*version*/) {
    a(id, name, samples, counts, port, either, reply_to, inner, flag);
  }
};

/// A schema text with one type and one init.
std::string schema_with(const std::string& type_structure, const std::string& init_parameters,
                        int oldest = 5, int newest = 5) {
  return R"({"coport_schema": 1, "protocol": {"oldest": )" + std::to_string(oldest) +
         R"(, "newest": )" + std::to_string(newest) +
         R"(, "capabilities": ["tracing"]}, "types": [{"name": "shop.order", "structure": ")" +
         type_structure + R"("}], "inits": [{"name": "worker", "parameters": )" + init_parameters +
         "}]}";
}

}  // namespace

CEREAL_CLASS_VERSION(schema_everything, 3)

TEST_SUITE("network.schema") {
  TEST_CASE("a schema names the protocol versions and every registered type and init") {
    register_type<schema_everything>("test.schema.everything");
    register_type<schema_tree>("test.schema.tree");
    register_type<schema_odd>("test.schema.odd");
    node n{threaded("schema-node")};
    n.register_init("worker", [](std::int64_t, std::string, schema_everything) {});
    n.register_init("raw", [](message&) {});
    auto text = schema_json(n);
    CAPTURE(text);
    CHECK(text.find(R"("oldest": 5)") != std::string::npos);
    CHECK(text.find(R"("newest": 5)") != std::string::npos);
    CHECK(text.find(R"("tracing")") != std::string::npos);
    // Every field, in order, containers with their element types, the class version first.
    CHECK(text.find(R"("structure": "v3 i32 string [f64] {string:i64} opt<u16> var<i32|string> )"
                    R"(port [(f64)] bool")") != std::string::npos);
    CHECK(text.find(R"("structure": "i32 [rec]")") != std::string::npos);
    CHECK(text.find(R"x("structure": "v0 [bool] array<4, u8> (f64)")x") != std::string::npos);
    CHECK(text.find(R"("name": "worker",)") != std::string::npos);
    CHECK(text.find(R"("i64",)") != std::string::npos);
    CHECK(text.find(R"("test.schema.everything")") != std::string::npos);
    CHECK(text.find(R"("any_message": true)") != std::string::npos);
    // The schema of a build compared with itself: compatible, nothing to say.
    auto same = compare_schemas(text, text);
    CHECK(same.compatible());
    CHECK(same.changes.empty());
  }

  TEST_CASE("a field appended under a higher class version is fine and other type changes break") {
    const std::string v1 = schema_with("v1 i32 string", R"(["i64"])");
    auto appended = compare_schemas(v1, schema_with("v2 i32 string i32", R"(["i64"])"));
    CHECK(appended.compatible());
    REQUIRE(appended.changes.size() == 1);
    CHECK(appended.changes[0].find("fields appended") != std::string::npos);

    auto same_version = compare_schemas(v1, schema_with("v1 i32 string i32", R"(["i64"])"));
    REQUIRE(same_version.breaking.size() == 1);
    CHECK(same_version.breaking[0].find("without a higher class version") != std::string::npos);

    auto changed = compare_schemas(v1, schema_with("v2 i64 string", R"(["i64"])"));
    REQUIRE(changed.breaking.size() == 1);
    CHECK(changed.breaking[0].find("its structure changed") != std::string::npos);

    auto inside = compare_schemas(schema_with("v1 [i32]", "[]"), schema_with("v2 [i32 i32]", "[]"));
    CHECK_FALSE(inside.compatible());  // a field appended inside a container's element

    auto unversioned = compare_schemas(schema_with("i32", "[]"), schema_with("i32 i32", "[]"));
    REQUIRE(unversioned.breaking.size() == 1);
    CHECK(unversioned.breaking[0].find("without a Cereal class version") != std::string::npos);

    auto gone = compare_schemas(v1, R"({"coport_schema": 1, "protocol": {"oldest": 5,
        "newest": 5}, "types": [], "inits": [{"name": "worker", "parameters": ["i64"]}]})");
    REQUIRE(gone.breaking.size() == 1);
    CHECK(gone.breaking[0].find("type shop.order: gone") != std::string::npos);
  }

  TEST_CASE("an init that goes or changes its parameters breaks and protocols must meet") {
    const std::string before = schema_with("v1 i32", R"(["i64"])");
    auto params = compare_schemas(before, schema_with("v1 i32", R"(["i64", "string"])"));
    REQUIRE(params.breaking.size() == 1);
    CHECK(params.breaking[0] == "init worker: its parameters changed from (i64) to (i64, string)");

    auto renamed =
        compare_schemas(before, R"({"coport_schema": 1, "protocol": {"oldest": 5, "newest": 5},
        "types": [{"name": "shop.order", "structure": "v1 i32"}],
        "inits": [{"name": "worker2", "parameters": ["i64"]}]})");
    REQUIRE(renamed.breaking.size() == 1);
    CHECK(renamed.breaking[0].find("init worker: gone") != std::string::npos);
    REQUIRE(renamed.changes.size() == 1);
    CHECK(renamed.changes[0] == "init worker2(i64): new");

    auto apart = compare_schemas(before, schema_with("v1 i32", R"(["i64"])", 6, 7));
    REQUIRE(apart.breaking.size() == 1);
    CHECK(apart.breaking[0] ==
          "protocol: the old build speaks versions 5..5, the new one 6..7: none in common");
    CHECK(compare_schemas(before, schema_with("v1 i32", R"(["i64"])", 5, 6)).compatible());
  }

  TEST_CASE("text that is not a schema is refused naming which one and why") {
    const std::string good = schema_with("v1 i32", "[]");
    CHECK_THROWS_WITH_AS(compare_schemas("{", good), doctest::Contains("the old schema: not JSON"),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(compare_schemas(good, R"({"coport_schema": 2})"),
                         doctest::Contains("the new schema: not a coport schema"),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(compare_schemas(good, R"({"coport_schema": 1, "protocol": {}})"),
                         doctest::Contains("the new schema:"), std::invalid_argument);
  }

  TEST_CASE(
      "the handshake's summary of types accepts the same build and another class version and "
      "refuses another structure under the same one") {
    register_type<schema_everything>("test.schema.everything");  // class version 3
    transport::transport_options mine;
    coport::network::check_schemas_in_handshake(mine);
    REQUIRE(mine.check_application);
    CHECK(mine.check_application(mine.application) == "");  // the same build
    CHECK(mine.check_application({}) == "");                // a peer that says nothing
    // The summary's entry for the type: FNV-1a of its name, its class version + 1, its
    // number of top-level fields and FNV-1a of them (a format byte first).
    auto fnv = [](std::string_view text) {
      std::uint32_t h = 2166136261u;
      for (unsigned char c : text) h = (h ^ c) * 16777619u;
      return h;
    };
    const std::uint32_t name = fnv("test.schema.everything");
    std::uint32_t shape = 0;
    std::uint64_t version = 0, count = 0;
    {
      wire::reader r{mine.application};
      REQUIRE(r.byte() == 1);
      while (r.remaining() >= 10) {
        std::uint32_t n = r.fixed32();
        std::uint64_t v = r.varint(), c = r.varint();
        std::uint32_t s = r.fixed32();
        if (n == name) {
          version = v;
          count = c;
          shape = s;
        }
      }
    }
    REQUIRE(version == 4);
    REQUIRE(count == 9);
    CHECK(shape == fnv("i32 string [f64] {string:i64} opt<u16> var<i32|string> port [(f64)] bool"));
    auto peer = [&](std::uint64_t their_version, std::uint64_t their_count,
                    std::uint32_t their_shape) {
      std::vector<std::byte> out;
      wire::writer w{out};
      w.byte(1);
      w.fixed32(name);
      w.varint(their_version);
      w.varint(their_count);
      w.fixed32(their_shape);
      return mine.check_application(out);
    };
    CHECK(peer(version, count, shape) == "");
    // An older build whose fields are this one's first two (i32 string): fine.
    CHECK(peer(version - 1, 2, fnv("i32 string")) == "");
    // An older build with other first fields: this build did not only append.
    CHECK(peer(version - 1, 2, fnv("i64 string")).find("did not only append fields") !=
          std::string::npos);
    // A newer build: it compares on its side.
    CHECK(peer(version + 1, count + 1, shape + 1) == "");
    auto changed = peer(version, count, shape + 1);
    CHECK(changed.find("type test.schema.everything: the builds give it different structures "
                       "under the same class version") != std::string::npos);
    CHECK(peer(0, count, shape)
              .find("one build gives it a Cereal class version and the other "
                    "none") != std::string::npos);
    std::vector<std::byte> later{std::byte{2}, std::byte{7}};  // a format this build lacks
    CHECK(mine.check_application(later) == "");
    std::vector<std::byte> junk{std::byte{1},    std::byte{0},    std::byte{0},    std::byte{0},
                                std::byte{0},    std::byte{0xff}, std::byte{0xff}, std::byte{0xff},
                                std::byte{0xff}, std::byte{0xff}, std::byte{0xff}};
    CHECK(mine.check_application(junk) == "its hello's summary of its types is malformed");
  }
}
