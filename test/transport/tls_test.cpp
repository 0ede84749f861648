// TLS 1.3 with mutual authentication between nodes over loopback TCP: certificates made at
// run time (a CA, an expired certificate, another CA), refusals logged on both sides, and
// no plaintext ever from a node configured for TLS. Every socket binds 127.0.0.1.
#include <doctest/doctest.h>

#include <fmt/format.h>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <coport/coport.hpp>
#include <coport/transport/tcp.hpp>
#include <future>
#include <string>
#include <vector>

#include "support/certificates.hpp"
#include "support/log_capture.hpp"
#include "support/probe.hpp"

using namespace coport;
using namespace coport::test;
namespace tp = coport::transport;

namespace {

tp::tcp_options with_tls(const pki::files& f, std::string secret = {}) {
  tp::tcp_options o;
  o.binds = {"127.0.0.1:0"};
  o.heartbeat_interval = 100ms;
  o.node_timeout = 2000ms;
  o.connect_timeout = 1000ms;
  o.secret = std::move(secret);
  o.tls = {f.cert, f.key, f.ca};
  return o;
}

struct tls_node {
  node n;
  tp::tcp t;
  tls_node(const std::string& id, tp::tcp_options o)
      : n{node_options{.id = id, .threads = 1}}, t{n, std::move(o)} {}
};

/// Sends to a port on `to` from `from` and waits for its monitor: the reason, or "" when
/// the message arrived.
std::string reach(tls_node& from, tls_node& to) {
  from.t.add_peer(to.n.id(), to.t.addresses());
  probe got;
  auto p = to.n.port();
  to.n.rcv(p, "hi", [&](int) { got.add("hi"); });
  std::promise<std::string> died;
  auto guard = from.n.mon(p, [&](const reason& why) { died.set_value(why.to_string()); });
  from.n.snd(p, "hi", 1);
  auto f = died.get_future();
  for (int i = 0; i < 1000; ++i) {
    if (got.wait_for(1, 10ms)) return "";
    if (f.wait_for(0s) == std::future_status::ready) return f.get();
  }
  return "neither arrived nor failed";
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_SUITE("transport.tls") {
  TEST_CASE("nodes with certificates of one CA talk over TLS 1.3, the secret checked inside") {
    pki ca;
    log_capture log;
    set_log_level("info");
    {
      tls_node a{"tls-a", with_tls(ca.issue("tls-a"), "s")};
      tls_node b{"tls-b", with_tls(ca.issue("tls-b"), "s")};
      CHECK(reach(a, b) == "");
      CHECK(reach(b, a) == "");  // the same link, the other way
      CHECK(a.t.stats().connections == 1);
    }
    set_log_level("warn");
    auto text = log.text();
    CHECK(has(text, "node tls-a: TLS 1.3 with"));
    CHECK(has(text, "node tls-b: TLS 1.3 with"));
    CHECK(has(text, "(/CN=tls-b)"));
  }

  TEST_CASE("over TLS, a 3 MiB value and thousands of messages arrive whole and in order") {
    pki ca;
    tls_node a{"big-tls-a", with_tls(ca.issue("big-tls-a"))};
    tls_node b{"big-tls-b", with_tls(ca.issue("big-tls-b"))};
    a.t.add_peer("big-tls-b", b.t.addresses());
    std::vector<long> got;
    std::size_t big_size = 0;
    bool big_intact = false;
    probe done;
    auto p = b.n.port();
    b.n.rcv(p, "n", [&](long i) { got.push_back(i); });
    b.n.rcv(p, "big", [&](const std::vector<std::byte>& v) {
      big_size = v.size();
      big_intact = true;
      for (std::size_t i = 0; i < v.size(); ++i) big_intact &= v[i] == std::byte(i * 7);
    });
    b.n.rcv(p, "end", [&] { done.add("end"); });
    std::vector<std::byte> big(3 << 20);
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = std::byte(i * 7);
    // Written by one thread in one go: batches far larger than one piece of encryption.
    for (long i = 0; i < 3000; ++i) a.n.snd(p, "n", i);
    a.n.snd(p, "big", std::move(big));
    for (long i = 3000; i < 6000; ++i) a.n.snd(p, "n", i);
    a.n.snd(p, "end");
    REQUIRE(done.wait_for(1, 20s));
    CHECK(big_size == (3u << 20));
    CHECK(big_intact);
    REQUIRE(got.size() == 6000);
    bool in_order = true;
    for (long i = 0; i < 6000; ++i) in_order &= got[static_cast<std::size_t>(i)] == i;
    CHECK(in_order);
  }

  TEST_CASE("a peer whose certificate expired is refused, with a log line on both sides") {
    pki ca;
    log_capture log;
    tls_node a{"exp-a", with_tls(ca.issue("exp-a"))};
    tls_node b{"exp-b", with_tls(ca.expired("exp-b"))};
    auto why = reach(b, a);
    CHECK(why != "");
    CHECK(a.n.up_nodes().empty());
    auto text = log.text();
    CHECK(has(text, "node exp-a: refusing"));
    CHECK(has(text, "certificate has expired"));
    CHECK(has(text, "node exp-b: refusing"));
  }

  TEST_CASE("a certificate from another CA is refused, whoever dials") {
    pki ca, other{"another CA"};
    log_capture log;
    tls_node a{"oca-a", with_tls(ca.issue("oca-a"))};
    tls_node b{"oca-b", with_tls(other.issue("oca-b"))};
    CHECK(reach(b, a) != "");
    CHECK(reach(a, b) != "");
    auto text = log.text();
    CHECK(has(text, "node oca-a: refusing"));
    CHECK(has(text, "node oca-b: refusing"));
    CHECK(has(text, "certificate verify failed"));
    CHECK(has(text, "unknown ca"));  // the alert the refused side gets
  }

  TEST_CASE("a node without TLS is refused by a TLS node, and neither falls back to plaintext") {
    pki ca;
    log_capture log;
    tls_node a{"pt-a", with_tls(ca.issue("pt-a"))};
    tp::tcp_options plain;
    plain.binds = {"127.0.0.1:0"};
    plain.connect_timeout = 1000ms;
    tls_node b{"pt-b", plain};
    CHECK(reach(b, a) != "");
    CHECK(reach(a, b) != "");
    CHECK(a.n.up_nodes().empty());
    CHECK(has(log.text(), "node pt-a: refusing"));
  }

  TEST_CASE("the first bytes a TLS node sends are a TLS record, never a coport frame") {
    pki ca;
    tls_node a{"first-a", with_tls(ca.issue("first-a"))};
    asio::io_context io;
    asio::ip::tcp::acceptor listener{io, {asio::ip::make_address("127.0.0.1"), 0}};
    a.t.add_peer("first-b", {fmt::format("127.0.0.1:{}", listener.local_endpoint().port())});
    a.n.snd(port_id{"first-b", 1}, "secret plans", std::string{"in clear?"});
    auto s = listener.accept();
    unsigned char head[3] = {};
    asio::read(s, asio::buffer(head));
    CHECK(head[0] == 0x16);  // TLS handshake record
    CHECK(head[1] == 0x03);
  }

  TEST_CASE("missing or mismatched TLS files are refused at construction, naming the file") {
    pki ca;
    auto f = ca.issue("files");
    auto g = ca.issue("other");
    node n{node_options{.id = "files", .threads = 1}};
    auto bad = [&](pki::files x) {
      try {
        tp::tcp t{n, with_tls(x)};
      } catch (const std::invalid_argument& e) {
        return std::string{e.what()};
      }
      return std::string{};
    };
    CHECK(has(bad({"/nonexistent.pem", f.key, f.ca}), "/nonexistent.pem"));
    CHECK(has(bad({f.cert, g.key, f.ca}), "key '" + g.key + "': key values mismatch"));
    CHECK(has(bad({f.cert, f.key, ""}), "TLS needs cert, key and ca"));
  }
}
