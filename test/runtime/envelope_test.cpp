// coport::envelope: a message as a value, held live locally and as its own wire bytes on the
// way between nodes; decoding the bytes is checked like any bytes from a peer.
#include <doctest/doctest.h>

#include <coport/envelope.hpp>
#include <coport/message.hpp>
#include <coport/node.hpp>
#include <coport/wire/codec.hpp>
#include <memory>
#include <string>
#include <vector>

#include "support/nodes.hpp"

using namespace coport;
using namespace std::string_literals;

namespace {

envelope over_the_wire(const envelope& e) {
  std::vector<std::byte> buf;
  wire::writer w{buf};
  wire::codec<envelope>::encode(w, e);
  wire::reader r{buf};
  envelope out;
  wire::codec<envelope>::decode(r, out);
  CHECK(r.done());
  return out;
}

/// An envelope holding exactly `bytes` as its message's wire form.
envelope from_bytes(const std::vector<std::byte>& bytes) {
  std::vector<std::byte> buf;
  wire::writer w{buf};
  w.varint(bytes.size());
  w.raw(bytes.data(), bytes.size());
  wire::reader r{buf};
  envelope e;
  wire::codec<envelope>::decode(r, e);
  return e;
}

}  // namespace

TEST_SUITE("runtime.envelope") {
  TEST_CASE("a live envelope hands its message back without encoding it") {
    auto m = message::make("price", 42.5, "eur"s);
    auto* block = m.get_block();
    envelope e{std::move(m)};
    CHECK(!e.packed());
    message out = std::move(e).open();
    CHECK(out.get_block() == block);  // the same block: moved, not copied
    CHECK(out.is<double, std::string>());
  }

  TEST_CASE("an envelope crosses the wire as bytes and opens into the typed message") {
    envelope e{message::make("point", 1, 2L, "x"s, std::vector<port_id>{})};
    envelope received = over_the_wire(e);
    CHECK(received.packed());
    message m = received.open_copy();
    CHECK(m.tag() == tag{"point"});
    REQUIRE(m.is<int, long, std::string, std::vector<port_id>>());
    CHECK(m.get<std::string>(2) == "x");
    // Forwarded again without being opened: the same bytes.
    envelope again = over_the_wire(received);
    CHECK(again.packed_size() == received.packed_size());
    CHECK(std::move(again).open().get<int>(0) == 1);
  }

  TEST_CASE("pack encodes once and copies share the bytes") {
    envelope e{message::make("n", 7)};
    e.pack();
    REQUIRE(e.packed());
    envelope copy = e;
    CHECK(copy.packed_size() == e.packed_size());
    CHECK(copy.open_copy().get<int>(0) == 7);
    CHECK(e.open_copy().get<int>(0) == 7);
  }

  TEST_CASE("envelopes nest: one inside a message inside another") {
    envelope inner{message::make("inner", "deep"s)};
    envelope outer{message::make("outer", 1, inner)};
    envelope received = over_the_wire(outer);
    message m = std::move(received).open();
    REQUIRE(m.is<int, envelope>());
    message in = std::move(m.get<envelope>(1)).open();
    CHECK(in.get<std::string>(0) == "deep");
  }

  TEST_CASE("a copy of a live envelope copies the message, or says why it cannot") {
    envelope e{message::make("n", 1)};
    envelope copy = e;
    CHECK(copy.open_copy().get<int>(0) == 1);
    envelope move_only{message::make("u", std::make_unique<int>(3))};
    CHECK_THROWS_AS(envelope{move_only}, std::logic_error);
    CHECK_THROWS_AS(move_only.pack(), wire::encode_error);
  }

  TEST_CASE("malformed bytes in an envelope are a decode error when opened, never a crash") {
    // Well-formed: "n" with one i32.
    envelope good = over_the_wire(envelope{message::make("n", 5)});
    CHECK(good.open_copy().get<int>(0) == 5);
    std::vector<std::byte> unknown_type, trailing, truncated, huge_count;
    {
      wire::writer w{unknown_type};
      w.string("n");
      w.varint(1);
      w.string("no.such.type");
      w.varint(0);
    }
    {
      wire::writer w{trailing};
      w.string("n");
      w.varint(1);
      w.string("i32");
      w.svarint(5);
      w.varint(9);
    }
    {
      wire::writer w{truncated};
      w.string("n");
      w.varint(1);
      w.string("string");
      w.varint(100);
    }
    {
      wire::writer w{huge_count};
      w.string("n");
      w.varint(1u << 30);
    }
    for (const auto* bytes : {&unknown_type, &trailing, &truncated, &huge_count}) {
      envelope e = from_bytes(*bytes);
      CHECK_THROWS_AS(e.open_copy(), wire::decode_error);
    }
    // An envelope that claims more bytes than there are does not decode at all.
    std::vector<std::byte> buf;
    wire::writer w{buf};
    w.varint(1000);
    wire::reader r{buf};
    envelope e;
    CHECK_THROWS_AS(wire::codec<envelope>::decode(r, e), wire::decode_error);
  }

  TEST_CASE("a port forwards envelopes whose types it never names") {
    node n{test::stepped("env-fwd")};
    std::vector<std::string> got;
    port_id sink = n.port();
    n.rcv(sink, "quote", [&](std::string s, double p) { got.push_back(s + std::to_string(p)); });
    port_id router = n.port();
    n.rcv(router, "route", [&](port_id to, envelope e) { n.snd(to, std::move(e).open()); });
    n.snd(router, "route", sink, envelope{message::make("quote", "abc"s, 1.5)});
    n.run_until_idle();
    CHECK(got == std::vector<std::string>{"abc1.500000"});
  }
}
