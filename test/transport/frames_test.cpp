// What a node does with frames from a peer, byte by byte: the receiver's side of "no holes",
// bad frames, the bound on names from peers, and hellos it must refuse.
#include <doctest/doctest.h>

#include <coport/coport.hpp>
#include <coport/detail/interner.hpp>
#include <coport/detail/payload_codec.hpp>
#include <coport/transport/transport.hpp>
#include <coport/wire/codec.hpp>
#include <string>
#include <vector>

#include "frame.hpp"
#include "support/cluster.hpp"
#include "support/handshake_fixtures.hpp"

using namespace coport;
using namespace coport::test;
namespace tp = coport::transport;
using tp::detail::frame_kind;

namespace {

using capture_channel = coport::test::hs::capture_channel;
using frames = coport::test::hs::frames;

using raw_peer = coport::test::hs::raw_peer;

}  // namespace

TEST_SUITE("transport.frames") {
  TEST_CASE(
      "a message the receiver cannot decode is dropped, the sender told, and the port "
      "gets nothing more from that sender until the sender acknowledges") {
    raw_peer b{"raw-b"};
    std::vector<int> got;
    auto p = b.n.port();
    b.n.rcv(p, "x", [&](int v) { got.push_back(v); });
    b.n.run_until_idle();
    auto five = [](wire::writer& w) { wire::codec<int>::encode(w, 5); };
    b.feed(frames{}
               .hello("raw-a")
               .no_proof()
               .def_tag(0, "x")
               .def_sig(0, {"no.such.type"})
               .def_sig(1, {"i32"})
               .msg(p, 0, 0, [](wire::writer& w) { w.string("opaque"); })
               .msg(p, 0, 1, five));
    auto kinds = b.ch->take_kinds();
    CHECK(std::count(kinds.begin(), kinds.end(), frame_kind::lost) == 1);
    CHECK(got.empty());  // the second message followed a lost one: dropped too
    CHECK(!b.ch->closed);
    b.feed(frames{}.control(frame_kind::lost_ack, p).msg(p, 0, 1, five));
    CHECK(got == std::vector<int>{5});
  }

  TEST_CASE("a stream read one byte at a time, or a 4 MiB frame in 4 KiB pieces, reads the same") {
    raw_peer b{"split-b"};
    std::vector<std::size_t> got;
    auto p = b.n.port();
    b.n.rcv(p, "s", [&](std::string v) { got.push_back(v.size()); });
    b.n.run_until_idle();
    frames f;
    f.hello("split-a").no_proof().def_tag(0, "s").def_sig(0, {"string"});
    for (std::size_t size : {0u, 1u, 300u}) {
      f.msg(p, 0, 0, [&](wire::writer& w) { w.string(std::string(size, 'x')); });
    }
    for (std::byte byte : f.bytes_) b.h->on_bytes(std::span<const std::byte>{&byte, 1});
    b.n.run_until_idle();
    CHECK(got == std::vector<std::size_t>{0, 1, 300});
    frames big;
    big.msg(p, 0, 0, [&](wire::writer& w) { w.string(std::string(4 << 20, 'y')); });
    for (std::size_t pos = 0; pos < big.bytes_.size(); pos += 4096) {
      auto n = std::min<std::size_t>(4096, big.bytes_.size() - pos);
      b.h->on_bytes(std::span<const std::byte>{big.bytes_}.subspan(pos, n));
    }
    b.n.run_until_idle();
    CHECK(got.back() == std::size_t{4} << 20);
    CHECK(!b.ch->closed);
  }

  TEST_CASE(
      "a large message in fragments is delivered whole, and what came for its port "
      "meanwhile waits behind it while other ports get theirs at once") {
    raw_peer b{"frag-b"};
    std::vector<std::string> got;
    auto p = b.n.port(), q = b.n.port();
    b.n.rcv(p, "big", [&](std::string v) { got.push_back("big " + std::to_string(v.size())); });
    b.n.rcv(p, "x", [&](int v) { got.push_back("p " + std::to_string(v)); });
    b.n.rcv(q, "x", [&](int v) { got.push_back("q " + std::to_string(v)); });
    b.n.run_until_idle();
    std::vector<std::byte> record;
    {
      wire::writer w{record};
      w.varint(p.local());
      w.varint(p.incarnation());
      w.string("big");
      w.varint(1);
      w.string("string");
      wire::codec<std::string>::encode(w, std::string(300000, 'z'));
    }
    std::span<const std::byte> all{record};
    auto one = [](wire::writer& w) { wire::codec<int>::encode(w, 1); };
    b.feed(frames{}
               .hello("frag-a")
               .no_proof()
               .def_tag(0, "x")
               .def_sig(0, {"i32"})
               .fragment(1, 5, record.size(), all.subspan(0, 1000))
               .msg(p, 0, 0, one)  // behind the big one
               .msg(q, 0, 0, one)  // another port: at once
               .fragment(0, 5, 0, all.subspan(1000, 100000)));
    CHECK(got == std::vector<std::string>{"q 1"});
    b.feed(frames{}.fragment(2, 5, 0, all.subspan(101000)));
    CHECK(got == std::vector<std::string>{"q 1", "big 300000", "p 1"});
    CHECK(!b.ch->closed);
  }

  TEST_CASE("a recorded handshake replayed to a node is refused: its MAC covered an old nonce") {
    tp::transport_options with_secret;
    with_secret.secret = "k3Xq9vT2mW8pL4nR7sY1bZ6cF0hJ5dGa";
    node a{stepped("rp-a")}, b{stepped("rp-b")};
    tp::endpoint ta{a, with_secret}, tb{b, with_secret};
    auto cha = std::make_shared<capture_channel>(), chb = std::make_shared<capture_channel>();
    auto hb = tb.attach(chb);          // b: a channel from a node it does not know yet
    auto ha = ta.attach(cha, "rp-b");  // a opened it
    std::vector<std::byte> recorded;   // everything a sent
    for (int round = 0; round < 10; ++round) {
      auto from_a = std::exchange(cha->written, {});
      auto from_b = std::exchange(chb->written, {});
      recorded.insert(recorded.end(), from_a.begin(), from_a.end());
      if (!from_a.empty()) hb->on_bytes(from_a);
      if (!from_b.empty()) ha->on_bytes(from_b);
      a.run_until_idle();
      b.run_until_idle();
    }
    REQUIRE(tb.incarnation_of("rp-a") == a.incarnation());  // the real handshake succeeded
    hb->on_closed("a went away");
    b.run_until_idle();
    // Someone who recorded it plays a's side again on a new connection.
    auto replay = std::make_shared<capture_channel>();
    auto h = tb.attach(replay);
    h->on_bytes(recorded);
    b.run_until_idle();
    CHECK(replay->closed);
    CHECK(replay->why.find("secrets differ") != std::string::npos);
    CHECK(tb.stats().refused == 1);
    CHECK(tb.incarnation_of("rp-a") == 0);  // not up
  }

  TEST_CASE("bad fragments end that channel: unopened, reopened, too long, over the maximum") {
    std::vector<std::byte> piece(64, std::byte{0});
    std::vector<std::pair<const char*, frames>> cases;
    cases.push_back({"not open", frames{}.hello("fb-a").no_proof().fragment(0, 1, 0, piece)});
    cases.push_back({"reopened", frames{}
                                     .hello("fb-a")
                                     .no_proof()
                                     .fragment(1, 1, 1000, piece)
                                     .fragment(1, 1, 1000, piece)});
    cases.push_back({"too long", frames{}.hello("fb-a").no_proof().fragment(1, 1, 10, piece)});
    cases.push_back(
        {"over the maximum", frames{}.hello("fb-a").no_proof().fragment(1, 1, 1ull << 40, piece)});
    cases.push_back(
        {"short at its end", frames{}.hello("fb-a").no_proof().fragment(3, 1, 1000, piece)});
    for (auto& [what, f] : cases) {
      INFO(what);
      raw_peer b{"fb-b"};
      b.feed(f);
      CHECK(b.ch->closed);
      CHECK(b.t.stats().bad_frames == 1);
    }
  }

  TEST_CASE("bad frames end that channel and never take the node down") {
    struct bad_case {
      const char* what;
      frames f;
    };
    auto p_local = std::uint64_t{1} << 26;
    std::vector<bad_case> cases;
    cases.push_back({"unknown kind", frames{}.hello("bad-a").no_proof().add(
                                         static_cast<frame_kind>(99), [](wire::writer&) {})});
    {
      frames f;
      f.hello("bad-a").no_proof();
      f.bytes_.insert(f.bytes_.end(), {std::byte{0xf0}, std::byte{0xff}, std::byte{0xff},
                                       std::byte{0xff}, std::byte{5}});
      cases.push_back({"absurd length", f});
    }
    cases.push_back(
        {"a value that does not decode", frames{}
                                             .hello("bad-a")
                                             .no_proof()
                                             .def_tag(0, "x")
                                             .def_sig(0, {"bool"})
                                             .add(frame_kind::message, [&](wire::writer& w) {
                                               w.varint(p_local);
                                               w.varint(0);
                                               w.varint(0);
                                               w.varint(0);
                                               w.byte(7);
                                             })});
    cases.push_back({"a frame before the hello", frames{}.def_tag(0, "x")});
    cases.push_back({"bytes after a frame's end", frames{}.hello("bad-a").no_proof().add(
                                                      frame_kind::def_tag, [](wire::writer& w) {
                                                        w.varint(1);
                                                        w.string("t");
                                                        w.byte(0);
                                                      })});
    cases.push_back({"an undefined slot", frames{}.hello("bad-a").no_proof().add(
                                              frame_kind::message, [&](wire::writer& w) {
                                                w.varint(p_local);
                                                w.varint(0);
                                                w.varint(17);
                                                w.varint(3);
                                              })});
    // The caches are made in pages as slots are defined: a slot beside a defined one, in
    // the same page, is still undefined.
    auto beside_defined = [&](std::uint64_t tag_slot, std::uint64_t sig_slot) {
      return frames{}
          .hello("bad-a")
          .no_proof()
          .def_tag(0, "x")
          .def_sig(0, {"i32"})
          .add(frame_kind::message, [&](wire::writer& w) {
            w.varint(p_local);
            w.varint(0);
            w.varint(tag_slot);
            w.varint(sig_slot);
            wire::codec<int>::encode(w, 5);
          });
    };
    cases.push_back({"an undefined tag slot beside a defined one", beside_defined(1, 0)});
    cases.push_back({"an undefined signature slot beside a defined one", beside_defined(0, 1)});
    cases.push_back({"a wrong protocol version", frames{}.hello("bad-a", 7, 1, 99).no_proof()});
    cases.push_back({"a connection to the node itself", frames{}.hello("bad-b").no_proof()});
    cases.push_back(
        {"a truncated varint", frames{}.hello("bad-a").no_proof().add(
                                   frame_kind::watch, [](wire::writer& w) { w.byte(0x80); })});
    cluster c{{"bad-b", "bad-other"}};
    std::vector<int> got;
    auto p = c[0].port();
    c[0].rcv(p, "n", [&](int v) { got.push_back(v); });
    c.run();
    for (auto& bc : cases) {
      INFO(std::string{bc.what});
      auto ch = std::make_shared<capture_channel>();
      auto h = c.transport(0).attach(ch);
      h->on_bytes(bc.f.bytes_);
      c.run();
      CHECK(ch->closed);
      h->on_closed("gone");  // the channel reports its end: harmless after the close
    }
    // Bad frames count as such; a hello the node must refuse (version, itself) as refused.
    CHECK(c.transport(0).stats().bad_frames == cases.size() - 2);
    CHECK(c.transport(0).stats().refused == 2);
    // A truncated frame followed by the end of the stream: nothing happens, nothing hangs.
    {
      auto ch = std::make_shared<capture_channel>();
      auto h = c.transport(0).attach(ch);
      frames f;
      f.hello("bad-a").no_proof().def_tag(0, "x");
      h->on_bytes(std::span<const std::byte>{f.bytes_}.first(f.bytes_.size() - 2));
      h->on_closed("eof");
    }
    // The node still serves its other link.
    c[1].snd(p, "n", 1);
    c.run();
    CHECK(got == std::vector<int>{1});
  }

  TEST_CASE("a spawn whose arguments do not decode leaves bad_message for a later watch") {
    raw_peer b{"spawn-raw-b"};
    b.n.register_init("raw.init", [](int) {});
    std::uint64_t minted = (std::uint64_t{1} << 63) | 12345;
    auto port = detail::make_port_id(detail::node_names().intern("spawn-raw-b"), minted, 0);
    b.feed(frames{}
               .hello("spawn-raw-a")
               .no_proof()
               .def_sig(0, {"no.such.type"})
               .add(frame_kind::spawn,
                    [&](wire::writer& w) {
                      w.varint(minted);
                      w.string("raw.init");
                      w.byte(0);  // not watched: the watch comes later
                      w.varint(0);
                      w.string("opaque");
                    })
               .control(frame_kind::watch, port));
    reason why = b.ch->last_died();
    CHECK(why.kind() == "bad_message");
    CHECK(why.detail().find("no.such.type") != std::string::npos);
    CHECK(!b.ch->closed);
  }

  TEST_CASE("a second channel from a node that is connected is refused") {
    cluster c{{"dup-a", "dup-b"}};
    auto ch = std::make_shared<capture_channel>();
    auto h = c.transport(1).attach(ch);
    h->on_bytes(frames{}.hello("dup-a", c[0].incarnation()).no_proof().bytes_);
    c.run();
    CHECK(ch->closed);
    CHECK(ch->why.find("already connected") != std::string::npos);
    CHECK(c[1].up_nodes() == std::vector<std::string>{"dup-a"});
  }

  TEST_CASE("a watch on a port of an earlier incarnation is answered at once with no_such_port") {
    raw_peer b{"inc-raw-b"};
    auto stale = detail::make_port_id(detail::node_names().intern("inc-raw-b"), 1 << 26,
                                      b.n.incarnation() + 1);
    b.feed(frames{}.hello("inc-raw-a").no_proof().control(frame_kind::watch, stale));
    auto kinds = b.ch->take_kinds();
    CHECK(std::count(kinds.begin(), kinds.end(), frame_kind::died) == 1);
  }

  TEST_CASE(
      "a peer that sends 10^6 distinct tags interns at most its share, and others still "
      "get theirs") {
    raw_peer b{"tags-b"};
    std::size_t delivered = 0;
    auto p = b.n.port([&](message&) { ++delivered; });
    b.n.run_until_idle();
    b.feed(frames{}.hello("tags-a").no_proof().def_sig(0, {}));
    std::size_t lost = 0;
    constexpr std::size_t total = 1'000'000;
    frames batch;
    for (std::size_t i = 0; i < total; ++i) {
      std::string name = "distinct-tag-" + std::to_string(i);
      batch.def_tag(i % 4096, name).msg(p, i % 4096, 0, [](wire::writer&) {});
      if (batch.bytes_.size() > (1 << 16) || i + 1 == total) {
        b.feed(batch);
        batch.bytes_.clear();
        for (auto k : b.ch->take_kinds()) {
          if (k == frame_kind::lost) ++lost;
        }
        if (lost) b.feed(frames{}.control(frame_kind::lost_ack, p));  // and carry on
      }
    }
    CHECK(delivered <= tp::detail::new_tags_per_channel);
    CHECK(delivered > 0);
    CHECK(lost > 0);
    CHECK(detail::tag_names().find("distinct-tag-" + std::to_string(total - 1)) == 0);
    CHECK(!b.ch->closed);
    // Another peer's new tags are still taken.
    auto ch2 = std::make_shared<capture_channel>();
    auto h2 = b.t.attach(ch2);
    std::size_t before = delivered;
    h2->on_bytes(frames{}
                     .hello("tags-c")
                     .no_proof()
                     .def_sig(0, {})
                     .def_tag(0, "a-tag-nobody-had")
                     .msg(p, 0, 0, [](wire::writer&) {})
                     .bytes_);
    b.n.run_until_idle();
    CHECK(delivered == before + 1);
  }

  TEST_CASE(
      "a bye ends the sender's node here with its reason and closes its channel: nothing after "
      "it is read") {
    raw_peer b{"bye-raw-b"};
    std::vector<std::string> seen;
    auto sub = b.n.mon_nodes([&](const std::string& id, bool up, const reason& why) {
      seen.push_back(id + (up ? " up" : " down " + why.to_string()));
    });
    b.feed(frames{}.hello("bye-raw-a", 7).no_proof());
    auto remote = detail::make_port_id(detail::node_names().intern("bye-raw-a"), 5, 7);
    auto watch =
        b.n.mon(remote, [&](const reason& why) { seen.push_back("port " + why.to_string()); });
    b.n.run_until_idle();
    auto p = b.n.port();
    bool got = false;
    b.n.rcv(p, "x", [&](int) { got = true; });
    b.feed(frames{}
               .add(frame_kind::bye,
                    [](wire::writer& w) { wire::codec<reason>::encode(w, reason{"shutdown"}); })
               .def_tag(0, "x")
               .def_sig(0, {"i32"})
               .msg(p, 0, 0, [](wire::writer& w) { wire::codec<int>::encode(w, 1); }));
    CHECK(seen ==
          std::vector<std::string>{"bye-raw-a up", "port shutdown", "bye-raw-a down shutdown"});
    CHECK(b.ch->closed);
    CHECK(b.ch->why == "the node left");
    CHECK(!got);  // the message after the bye was not read
  }
}
