// TLS 1.3 with mutual authentication between nodes over loopback TCP: certificates made at
// run time (a CA, an expired certificate, another CA), refusals logged on both sides, and
// no plaintext ever from a node configured for TLS. Every socket binds 127.0.0.1. And which
// node a certificate names (a `coport:<nodeid>` URI, else its CN), seen by both ends of a
// TLS session run in memory.
#include <doctest/doctest.h>

#include <fmt/format.h>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <coport/coport.hpp>
#include <coport/transport/tcp.hpp>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/certificates.hpp"
#include "support/log_capture.hpp"
#include "support/probe.hpp"
#include "tls.hpp"

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

/// Both ends of one TLS connection, run in memory: `client` dials with its certificate,
/// `server` answers with its own.
struct tls_pair {
  tp::tls_session client, server;
  tls_pair(const pki::files& c, const pki::files& s)
      : client{std::make_shared<tp::tls_context>(tp::tls_options{c.cert, c.key, c.ca}), true},
        server{std::make_shared<tp::tls_context>(tp::tls_options{s.cert, s.key, s.ca}), false} {}

  /// Runs the handshake to its end: "" or why it failed.
  std::string handshake() {
    std::vector<std::byte> to_server, to_client, plain;
    if (auto why = client.handshake(); !why.empty()) return "client: " + why;
    for (int round = 0; round < 8 && !(client.ready() && server.ready()); ++round) {
      client.take_output(to_server);
      if (auto why = server.receive(to_server, plain); !why.empty()) return "server: " + why;
      to_server.clear();
      server.take_output(to_client);
      if (auto why = client.receive(to_client, plain); !why.empty()) return "client: " + why;
      to_client.clear();
    }
    return client.ready() && server.ready() ? "" : "the handshake did not end";
  }
};

/// What the server sees of a client with certificate `c` (after a handshake that worked).
std::vector<std::string> names_seen(pki& ca, const pki::files& c) {
  tls_pair s{c, ca.issue("server", "server", "URI:coport:server")};
  REQUIRE(s.handshake() == "");
  return s.server.certificate_node_ids();
}

}  // namespace

TEST_SUITE("transport.tls") {
  TEST_CASE("a certificate the CA signed for another node is refused, whoever dials") {
    pki ca;
    log_capture log;
    tls_node a{"bind-a", with_tls(ca.issue("bind-a"))};
    tls_node b{"bind-b", with_tls(ca.issue("bind-x"))};  // CN bind-x, not bind-b
    CHECK(reach(b, a) != "");
    CHECK(reach(a, b) != "");
    CHECK(a.n.up_nodes().empty());
    CHECK(b.n.up_nodes().empty());
    CHECK(has(log.text(), "names bind-x, not bind-b"));
  }

  TEST_CASE("nodes with certificates of one CA talk over TLS 1.3, the secret checked inside") {
    pki ca;
    log_capture log;
    set_log_level("info");
    {
      tls_node a{"tls-a", with_tls(ca.issue("tls-a"), "tls-test-secret-of-128-bits")};
      tls_node b{"tls-b", with_tls(ca.issue("tls-b"), "tls-test-secret-of-128-bits")};
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

  TEST_CASE("a certificate with the URI coport:a names node a to both ends, and no other node") {
    pki ca;
    tls_pair s{ca.issue("a", "a", "URI:coport:a"), ca.issue("b", "b", "URI:coport:b")};
    REQUIRE(s.handshake() == "");
    // The server sees the dialler's certificate (the client sent it), the dialler the server's.
    CHECK(s.server.certificate_names("a"));
    CHECK_FALSE(s.server.certificate_names("b"));
    CHECK(s.server.certificate_node_ids() == std::vector<std::string>{"a"});
    CHECK(s.client.certificate_names("b"));
    CHECK_FALSE(s.client.certificate_names("a"));
    // Exactly the ID: no prefix, no longer name, no other case, never the empty ID.
    CHECK_FALSE(s.server.certificate_names("a/b"));
    CHECK_FALSE(s.server.certificate_names("A"));
    CHECK_FALSE(s.server.certificate_names(""));
    auto prefix = names_seen(ca, ca.issue("ab", "ab", "URI:coport:ab"));
    CHECK(prefix == std::vector<std::string>{"ab"});
  }

  TEST_CASE("a coport: URI wins over the CN: the CN then names nothing") {
    pki ca;
    tls_pair s{ca.issue("uri-a", "b", "URI:coport:a"), ca.issue("b", "b", "URI:coport:b")};
    REQUIRE(s.handshake() == "");
    CHECK(s.server.certificate_names("a"));
    CHECK_FALSE(s.server.certificate_names("b"));
    // Several URIs name several nodes; other schemes and DNS names name none.
    CHECK(
        names_seen(ca, ca.issue("two", "c", "URI:coport:a/x,URI:spiffe://d,DNS:e,URI:coport:f")) ==
        std::vector<std::string>{"a/x", "f"});
  }

  TEST_CASE("without a coport: URI, the certificate's CN names the node") {
    pki ca;
    tls_pair s{ca.issue("cn-a", "a", std::nullopt), ca.issue("b", "b", "URI:coport:b")};
    REQUIRE(s.handshake() == "");
    CHECK(s.server.certificate_names("a"));
    CHECK_FALSE(s.server.certificate_names("b"));
    // Other kinds of alternative name leave the CN in force.
    CHECK(names_seen(ca, ca.issue("cn-dns", "a", "DNS:b,URI:https://b.example")) ==
          std::vector<std::string>{"a"});
  }

  TEST_CASE("a CA-signed certificate with neither a coport: URI nor a CN names no node") {
    pki ca;
    tls_pair s{ca.issue("none", std::nullopt, "DNS:a,URI:https://a.example"),
               ca.issue("b", "b", "URI:coport:b")};
    REQUIRE(s.handshake() == "");  // the chain is good: only the name is missing
    CHECK_FALSE(s.server.certificate_names("a"));
    CHECK(s.server.certificate_node_ids().empty());
    CHECK(names_seen(ca, ca.issue("bare", std::nullopt, std::nullopt)).empty());
  }

  TEST_CASE("before its handshake ends, a session names no node") {
    pki ca;
    tls_pair s{ca.issue("a", "a", "URI:coport:a"), ca.issue("b", "b", "URI:coport:b")};
    CHECK_FALSE(s.server.certificate_names("a"));
    CHECK_FALSE(s.client.certificate_names("b"));
    CHECK(s.server.certificate_node_ids().empty());
  }

  TEST_CASE(
      "a certificate that expires while its node runs is renewed without a restart: links up "
      "stay and new handshakes use the new one") {
    pki ca;
    auto start = std::chrono::steady_clock::now();
    // Ends 3 to 4 s from now (validity is in whole seconds): time enough to link a and b.
    auto renewing = with_tls(ca.issue("ren-a", -60, 4));
    renewing.tls_check_interval = 100ms;
    tls_node a{"ren-a", renewing};
    tls_node b{"ren-b", with_tls(ca.issue("ren-b"))};
    REQUIRE(reach(b, a) == "");
    std::vector<std::string> went_down;
    std::mutex down_mutex;
    auto watch = b.n.mon_nodes([&](const std::string& id, bool up, const reason&) {
      std::lock_guard lock{down_mutex};
      if (!up) went_down.push_back(id);
    });
    // The certificate's end is wall-clock time: wait for it (bounded), then a node that
    // dials refuses it.
    std::this_thread::sleep_until(start + 5s);
    tls_node c{"ren-c", with_tls(ca.issue("ren-c"))};
    CHECK(has(reach(c, a), "expired"));
    // A renewed certificate and key, written over the files: taken into use at the next check.
    ca.issue("ren-a");
    REQUIRE(eventually([&] { return a.t.stats().certificate_reloads >= 1; }));
    tls_node d{"ren-d", with_tls(ca.issue("ren-d"))};
    CHECK(reach(d, a) == "");
    // The link made with the old certificate never went down.
    CHECK(reach(b, a) == "");
    std::lock_guard lock{down_mutex};
    CHECK(went_down.empty());
  }

  TEST_CASE("TLS files that cannot be used are refused and the ones read before stay in use") {
    pki ca;
    auto files = ca.issue("bad-a");
    auto o = with_tls(files);
    o.tls_check_interval = 100ms;
    log_capture log;
    tls_node a{"bad-a", o};
    std::ofstream{files.cert} << "not a certificate\n";
    CHECK_THROWS_WITH_AS(a.t.reload_certificates(), doctest::Contains(files.cert.c_str()),
                         std::invalid_argument);
    CHECK(eventually([&] { return has(log.text(), "the TLS files changed but cannot be used"); }));
    tls_node b{"bad-b", with_tls(ca.issue("bad-b"))};
    CHECK(reach(b, a) == "");
    CHECK(a.t.stats().certificate_reloads == 0);
    // A node without TLS has nothing to read again.
    node plain_node{node_options{.id = "bad-plain", .threads = 1}};
    tp::tcp_options plain;
    plain.binds = {"127.0.0.1:0"};
    tp::tcp plain_links{plain_node, plain};
    CHECK_THROWS_AS(plain_links.reload_certificates(), std::logic_error);
  }

  TEST_CASE("reload_certificates takes renewed files into use at once without a check interval") {
    pki ca;
    auto o = with_tls(ca.issue("now-a"));
    o.tls_check_interval = 0ms;  // only reload_certificates reads them
    tls_node a{"now-a", o};
    tls_node b{"now-b", with_tls(ca.issue("now-b"))};
    REQUIRE(reach(b, a) == "");
    // Signed by another CA now: only a node that trusts that CA can link to a after the reload.
    pki other{"another CA"};
    auto moved = other.issue("now-a");
    std::filesystem::copy_file(moved.cert, o.tls.cert,
                               std::filesystem::copy_options::overwrite_existing);
    std::filesystem::copy_file(moved.key, o.tls.key,
                               std::filesystem::copy_options::overwrite_existing);
    std::filesystem::copy_file(moved.ca, o.tls.ca,
                               std::filesystem::copy_options::overwrite_existing);
    std::this_thread::sleep_for(300ms);
    CHECK(a.t.stats().certificate_reloads == 0);  // no check: nothing read yet
    a.t.reload_certificates();
    CHECK(a.t.stats().certificate_reloads == 1);
    tls_node c{"now-c", with_tls(other.issue("now-c"))};
    CHECK(reach(c, a) == "");
    CHECK(reach(b, a) == "");  // the link made before stays
  }
}
