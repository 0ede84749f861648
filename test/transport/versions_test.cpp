// Protocol versions and capabilities in the hello (handshake.hpp, protocol version 5): two
// nodes use the highest version both speak or refuse each other saying which each speaks; a
// newer peer's hello may go on after what this build reads; trace frames go only to a node
// that declared it reads them. A raw socket plays the peer (no secret: plain frames).
// Every socket dials 127.0.0.1; every wait is bounded.
#include <doctest/doctest.h>

#include <coport/coport.hpp>
#include <coport/trace.hpp>
#include <coport/transport/tcp.hpp>
#include <string>
#include <vector>

#include "frame.hpp"
#include "support/handshake_fixtures.hpp"
#include "support/log_capture.hpp"

using namespace coport;
using namespace coport::test;
using namespace coport::test::hs;
namespace tp = coport::transport;
namespace d = coport::transport::detail;

namespace {

struct versioned_node {
  node n;
  tp::tcp t;
  explicit versioned_node(const char* id) : n{threaded(id)}, t{n, fast("")} {}
  std::uint16_t port() const {
    auto a = t.addresses().at(0);
    return static_cast<std::uint16_t>(std::stoi(a.substr(a.rfind(':') + 1)));
  }
  std::size_t refused_for_version() {
    return t.protocol().stats().refused_by[static_cast<std::size_t>(tp::refusal::version)];
  }
};

/// The node's hello, read as far as its versions and capabilities.
struct their_hello {
  std::uint64_t max_version = 0, min_version = 0, capabilities = 0;
};
their_hello read_hello(int fd, bytes& pending) {
  auto f = read_frame(fd, pending);
  REQUIRE(f);
  REQUIRE(f->first == frame_kind::hello);
  wire::reader r{std::span<const std::byte>{f->second}};
  their_hello h;
  h.max_version = r.varint();
  r.string_view();
  r.varint();
  r.raw(r.count(1));
  for (std::size_t i = r.count(1); i > 0; --i) r.string_view();
  r.byte();
  h.min_version = r.varint();
  h.capabilities = r.varint();
  r.raw(r.count(1));  // what it says of its application
  CHECK(r.done());
  return h;
}

}  // namespace

TEST_SUITE("transport.versions") {
  TEST_CASE("a node's hello names the versions it speaks and what it reads") {
    versioned_node a{"ver-hello"};
    int fd = connect_loopback(a.port());
    REQUIRE(fd >= 0);
    bytes pending;
    auto h = read_hello(fd, pending);
    CHECK(h.max_version == d::protocol_version);
    CHECK(h.min_version == d::oldest_protocol_version);
    CHECK(h.capabilities == (d::capability_tracing | d::capability_resume));
    ::close(fd);
  }

  TEST_CASE("a peer with no version in common is refused naming both ranges") {
    versioned_node a{"ver-refuse"};
    log_capture logs;
    struct attempt {
      std::uint64_t max, min;
      std::string says;
    };
    const std::vector<attempt> attempts = {
        {7, 6, "speaks protocol versions 6..7 (this node speaks 5..5): no version in common"},
        // A node of protocol 4 (the last release): its hello had another layout after the
        // version; it refuses this node in turn ("a peer that speaks protocol version 5").
        {4, 0, "speaks protocol versions 4 (this node speaks 5..5): no version in common"}};
    std::size_t refused = 0;
    for (const auto& t : attempts) {
      CAPTURE(t.says);
      int fd = connect_loopback(a.port());
      REQUIRE(fd >= 0);
      auto f = frames{}.hello("ver-peer", 7, 1, t.max, t.min).no_proof();
      REQUIRE(write_all(fd, f.bytes_));
      CHECK(closed_by_peer(fd, 5s));
      ::close(fd);
      ++refused;
      CHECK(eventually([&] { return a.refused_for_version() == refused; }));
      CHECK(eventually([&] { return logs.text().find(t.says) != std::string::npos; }));
    }
    CHECK(a.n.up_nodes().empty());
  }

  TEST_CASE(
      "a newer peer that also speaks this node's version is linked at the highest common "
      "version and what its hello says beyond this build is skipped") {
    versioned_node a{"ver-newer"};
    int fd = connect_loopback(a.port());
    REQUIRE(fd >= 0);
    bytes future{std::byte{0x42}, std::byte{0x01}, std::byte{0x00}};  // a later version's fields
    auto f =
        frames{}.hello("ver-future", 7, 1, 9, 5, d::capability_tracing | 0xf0, future).no_proof();
    REQUIRE(write_all(fd, f.bytes_));
    CHECK(eventually([&] { return a.n.up_nodes().size() == 1; }));
    auto links = a.t.protocol().links();
    REQUIRE(links.size() == 1);
    CHECK(links[0].protocol_version == 5);
    CHECK(links[0].capabilities == (d::capability_tracing | 0xf0));
    // A hello of no newer version with bytes after its capabilities is malformed.
    int fd2 = connect_loopback(a.port());
    auto g = frames{}.hello("ver-padded", 7, 1, 5, 5, 1, future).no_proof();
    REQUIRE(write_all(fd2, g.bytes_));
    CHECK(closed_by_peer(fd2, 5s));
    ::close(fd2);
    ::close(fd);
  }

  TEST_CASE("a traced message goes to a node that does not read trace frames without one") {
    for (bool reads_traces : {true, false}) {
      CAPTURE(reads_traces);
      versioned_node a{reads_traces ? "ver-tr-a" : "ver-notr-a"};
      int fd = connect_loopback(a.port());
      REQUIRE(fd >= 0);
      const std::string peer_id = reads_traces ? "ver-tr-peer" : "ver-notr-peer";
      auto f = frames{}
                   .hello(peer_id, 7, 1, d::protocol_version, 0,
                          reads_traces ? d::capability_tracing : 0)
                   .no_proof();
      REQUIRE(write_all(fd, f.bytes_));
      REQUIRE(eventually([&] { return a.n.up_nodes().size() == 1; }));
      auto tracing = trace(a.n, trace_filter{.tags = {"traced"}});
      a.n.snd(*port_id::parse(peer_id + "#5"), "traced", 1);
      // The frames the node writes: its hello, its verdict, then a message (with a trace
      // frame before it only for a peer that reads them).
      bytes pending;
      bool traced = false, message = false;
      while (!message) {
        auto frame = read_frame(fd, pending);
        REQUIRE(frame);
        traced = traced || frame->first == frame_kind::trace;
        message = frame->first == frame_kind::message;
      }
      CHECK(traced == reads_traces);
      ::close(fd);
    }
  }

  TEST_CASE("a hello whose versions are not a range ends the connection as a bad frame") {
    versioned_node a{"ver-range"};
    for (std::uint64_t low : {std::uint64_t{0}, std::uint64_t{6}}) {  // 0, and above the max 5
      CAPTURE(low);
      int fd = connect_loopback(a.port());
      REQUIRE(fd >= 0);
      frames f;
      f.add(frame_kind::hello, [&](wire::writer& w) {
        w.varint(5);
        w.string("ver-bad-range");
        w.varint(7);
        w.varint(d::nonce_size);
        for (std::size_t i = 0; i < d::nonce_size; ++i) w.byte(1);
        w.varint(0);
        w.byte(1);
        w.varint(low);
        w.varint(d::capability_tracing);
        w.varint(0);
      });
      REQUIRE(write_all(fd, f.no_proof().bytes_));
      CHECK(closed_by_peer(fd, 5s));
      ::close(fd);
    }
    CHECK(eventually([&] { return a.t.protocol().stats().bad_frames == 2; }));
    CHECK(a.n.up_nodes().empty());
  }
}
