// The wire format: codecs, names, bounded reads, the type registry, payload factories.
#include <doctest/doctest.h>

#include <coport/detail/payload_codec.hpp>
#include <coport/message.hpp>
#include <coport/serialize.hpp>
#include <coport/wire/codec.hpp>

using namespace coport;

namespace {

template <class T>
T round_trip(const T& v) {
  std::vector<std::byte> buf;
  wire::writer w{buf};
  wire::codec<T>::encode(w, v);
  wire::reader r{buf};
  T out{};
  wire::codec<T>::decode(r, out);
  CHECK(r.done());
  return out;
}

struct gadget {
  std::string name;
  std::map<std::string, int> parts;
  template <class A>
  void serialize(A& a) {
    a(name, parts);
  }
};

struct other {
  template <class A>
  void serialize(A&) {}
};

}  // namespace

TEST_SUITE("wire") {
  TEST_CASE("built-in values survive encoding and decoding") {
    CHECK(round_trip(std::int64_t{-1234567890123}) == -1234567890123);
    CHECK(round_trip(std::uint64_t{~0ull}) == ~0ull);
    CHECK(round_trip(std::int8_t{-128}) == -128);
    CHECK(round_trip(-0.0) == 0.0);
    CHECK(round_trip(3.5f) == 3.5f);
    CHECK(round_trip(true));
    CHECK(round_trip(std::string{"h\0llo", 5}) == std::string{"h\0llo", 5});
    CHECK(round_trip(std::vector<std::uint8_t>{1, 2, 255}) == std::vector<std::uint8_t>{1, 2, 255});
    CHECK(round_trip(std::optional<std::string>{}) == std::nullopt);
    CHECK(round_trip(std::pair<int, std::string>{1, "a"}) == std::pair<int, std::string>{1, "a"});
    auto p = port_id{"wire-node", 42, 0xabcdef};
    CHECK(round_trip(p) == p);
    CHECK(round_trip(port_id{}) == port_id{});
    CHECK(round_trip(reason{"die", "x"}) == reason{"die", "x"});
    CHECK(round_trip(reason{}).normal());
  }

  TEST_CASE("types have stable wire names built from their parts") {
    CHECK(wire::codec<int>::name() == "i32");
    CHECK(wire::codec<std::vector<port_id>>::name() == "vector<port>");
    CHECK(wire::codec<std::map<std::string, std::optional<double>>>::name() ==
          "map<string,optional<f64>>");
    CHECK(wire::codec<std::tuple<bool, std::vector<std::byte>>>::name() == "tuple<bool,bytes>");
    CHECK(wire::codec<gadget>::name().empty());  // not registered (yet)
  }

  TEST_CASE("a count larger than the bytes left fails before anything is allocated") {
    std::vector<std::byte> buf;
    wire::writer w{buf};
    w.varint(std::uint64_t{1} << 40);  // a vector of 2^40 ints, in 6 bytes
    wire::reader r{buf};
    std::vector<int> v;
    CHECK_THROWS_AS(wire::codec<std::vector<int>>::decode(r, v), wire::decode_error);
    CHECK(v.capacity() == 0);
  }

  TEST_CASE("integers out of their type's range and bad flags do not decode") {
    std::vector<std::byte> buf;
    wire::writer w{buf};
    w.svarint(40000);
    wire::reader r{buf};
    std::int16_t s;
    CHECK_THROWS_AS(wire::codec<std::int16_t>::decode(r, s), wire::decode_error);
    std::vector<std::byte> two{std::byte{2}};
    wire::reader rb{two};
    bool b;
    CHECK_THROWS_AS(wire::codec<bool>::decode(rb, b), wire::decode_error);
    std::vector<std::byte> long_varint(11, std::byte{0x80});
    wire::reader rv{long_varint};
    CHECK_THROWS_AS(rv.varint(), wire::decode_error);
  }

  TEST_CASE("register_type gives a user type a wire name, names are checked") {
    register_type<gadget>("test.gadget");
    register_type<gadget>("test.gadget");  // again, same name: fine
    CHECK(wire::codec<gadget>::name() == "test.gadget");
    CHECK(wire::codec<std::vector<gadget>>::name() == "vector<test.gadget>");
    CHECK_THROWS_AS(register_type<gadget>("test.other"), std::invalid_argument);
    CHECK_THROWS_AS(register_type<other>("test.gadget"), std::invalid_argument);
    CHECK_THROWS_AS(register_type<other>("has space"), std::invalid_argument);
    CHECK_THROWS_AS(register_type<other>("vector<x>"), std::invalid_argument);
    gadget g{"g", {{"bolt", 2}}};
    auto out = round_trip(g);
    CHECK(out.name == "g");
    CHECK(out.parts == g.parts);
  }

  TEST_CASE("decoding builds exactly the payload a typed handler expects") {
    auto m = message::make("add", 7, std::string{"x"});
    const auto& enc = detail::payload_codec_for(*m.get_node()->ops->sig);
    REQUIRE(enc.error.empty());
    CHECK(enc.names == std::vector<std::string>{"i32", "string"});
    std::vector<std::byte> buf;
    wire::writer w{buf};
    detail::encode_values(w, m.get_node(), enc);
    auto dec = detail::resolve_payload(enc.names);
    REQUIRE(dec->error.empty());
    CHECK(dec->factory != nullptr);
    wire::reader r{buf};
    message back{detail::decode_values(tag{"add"}, r, *dec)};
    CHECK(back.is<int, std::string>());
    CHECK(back.get<int>(0) == 7);
    CHECK(back.get<std::string>(1) == "x");
  }

  TEST_CASE("a type list this program never names decodes into values held one by one") {
    // No code in this test program sends or handles exactly (u16, f64, bool, i64).
    std::vector<std::byte> buf;
    wire::writer w{buf};
    wire::codec<std::uint16_t>::encode(w, 513);
    wire::codec<double>::encode(w, 2.5);
    wire::codec<bool>::encode(w, true);
    wire::codec<std::int64_t>::encode(w, -5);
    auto dec = detail::resolve_payload({"u16", "f64", "bool", "i64"});
    REQUIRE(dec->error.empty());
    CHECK(dec->factory == nullptr);
    wire::reader r{buf};
    message m{detail::decode_values(tag{"loose"}, r, *dec)};
    CHECK(m.size() == 4);
    CHECK(m.get<std::uint16_t>(0) == 513);
    CHECK(m.get<double>(1) == 2.5);
    CHECK(m.get<bool>(2));
    CHECK(m.get<std::int64_t>(3) == -5);
    CHECK(m.describe() == "'loose'(unsigned short, double, bool, long)");
  }

  TEST_CASE("an unknown wire type name resolves to an error that names it") {
    auto dec = detail::resolve_payload({"i32", "no.such.type"});
    CHECK(dec->error.find("no.such.type") != std::string::npos);
  }

  TEST_CASE("a message of copyable values can be copied, move-only ones say so") {
    auto m = message::make("t", 1, std::string{"s"});
    REQUIRE(m.copyable());
    auto c = m.copy();
    CHECK(c.get<std::string>(1) == "s");
    CHECK(m.get<std::string>(1) == "s");
    auto u = message::make("u", std::make_unique<int>(1));
    CHECK(!u.copyable());
    CHECK_THROWS_AS(u.copy(), std::logic_error);
  }
}
