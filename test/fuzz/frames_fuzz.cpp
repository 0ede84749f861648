// libFuzzer target: the byte stream a peer sends a node (frames, names, payloads, hellos).
//
// Every input is one channel from one peer: the bytes are fed in two pieces (split where
// the first byte says), then the channel ends. The node must neither crash, hang nor
// leak, whatever the bytes; it may end the channel.
//
// With COPORT_FUZZ_WRITE_SEEDS=DIR the target writes its seed corpus (real traffic from a
// node, recorded) into DIR and exits; test/fuzz/corpus/frames is those seeds grown by 150 s
// of fuzzing and minimized with -merge=1.
#include <coport/coport.hpp>
#include <coport/trace.hpp>
#include <coport/transport/transport.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "frame.hpp"
#include "harness.hpp"

using namespace coport;
namespace tp = coport::transport;
using coport::fuzz::sink_channel;
using coport::fuzz::stepped;
using coport::fuzz::write_seeds_if_asked;

namespace {

/// The node under test: a port that takes anything, one with typed handlers, an init.
struct target {
  node n{stepped("fuzz-target")};
  tp::endpoint t{n, tp::transport_options{.max_frame = 1 << 20}};
  port_id any, typed;
  std::vector<port_id> spawned;  // ended after each input, so that inputs do not pile up
  target() {
    any = n.port([](message&) {});
    typed = n.port();
    n.rcv(typed, "add", [](int, std::string) {});
    n.rcv(typed, "ids", [](std::vector<port_id>, reason) {});
    n.register_init("fuzz.init", [this](int) {
      spawned.push_back(self());
      n.rcv(self(), "x", [] {});
    });
    n.run_until_idle();
  }
};

target& the_target() {
  static target* t = new target;  // lives for the process (libFuzzer exits without teardown)
  return *t;
}

void write_seed(const std::string& dir, const std::string& name, const std::vector<std::byte>& b) {
  std::ofstream out{dir + "/" + name, std::ios::binary};
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

/// What the target would answer a hello with (without a secret, no MAC): so that the
/// recording peer finishes its handshake and sends its traffic.
std::vector<std::byte> target_greeting() {
  namespace d = tp::detail;
  std::vector<std::byte> out;
  std::size_t start = d::begin_frame(out, d::frame_kind::hello);
  wire::writer w{out};
  w.varint(d::protocol_version);
  w.string("fuzz-target");
  w.varint(the_target().n.incarnation());
  w.varint(d::nonce_size);
  for (std::size_t i = 0; i < d::nonce_size; ++i) w.byte(static_cast<std::uint8_t>(i));
  w.varint(0);
  w.byte(0);  // flags: the recording peer opened the channel
  w.varint(d::oldest_protocol_version);
  w.varint(d::own_capabilities);
  w.varint(0);  // nothing of its application
  d::end_frame(out, start);
  start = d::begin_frame(out, d::frame_kind::auth);  // the verdict: accepted (no secret)
  w.byte(0);
  w.string("");
  w.varint(0);
  d::end_frame(out, start);
  return out;
}

/// Records what a node sends for a few kinds of traffic.
void write_seeds(const std::string& dir) {
  target& t = the_target();
  // `leaves`: the peer's transport ends after the traffic (it says bye).
  auto record = [&](const std::string& name, auto&& traffic, bool leaves = false) {
    node peer{stepped("fuzz-peer")};
    auto tr = std::make_unique<tp::endpoint>(peer);
    auto ch = std::make_shared<sink_channel>();
    auto h = tr->attach(ch, "fuzz-target");
    h->on_bytes(target_greeting());
    peer.run_until_idle();
    traffic(peer);
    peer.run_until_idle();
    if (leaves) tr.reset();
    std::vector<std::byte> bytes;
    bytes.push_back(std::byte{0x40});  // the split point
    bytes.insert(bytes.end(), ch->written.begin(), ch->written.end());
    write_seed(dir, name, bytes);
    h->on_closed("done");
  };
  port_id any{"fuzz-target", t.any.local()}, typed{"fuzz-target", t.typed.local()};
  record("hello", [](node&) {});
  record("message-typed", [&](node& p) {
    p.snd(typed, "add", 1, "one");
    p.snd(typed, "add", 2, "two");
  });
  record("message-containers", [&](node& p) {
    p.snd(any, "mix", std::vector<std::string>{"a", "b"},
          std::map<std::string, std::optional<double>>{{"x", 1.5}}, std::vector<std::byte>(8));
    p.snd(typed, "ids", std::vector<port_id>{any, typed, port_id{"elsewhere", 5, 9}},
          reason{"die", "why"});
  });
  record("watch-kill", [&](node& p) {
    p.mon(any, [](const reason&) {}).release();
    auto g = p.mon(typed, [](const reason&) {});
    g.cancel();
    p.kil(any, "stop", "now");
  });
  record("spawn", [&](node& p) {
    p.spawn("fuzz-target", "fuzz.init", 1);
    p.spawn_monitor(
         "fuzz-target", "fuzz.init", [](const reason&) {}, 2)
        .second.release();
    p.spawn("fuzz-target", "no.such.init", std::string{"x"});
  });
  record("node-port",
         [&](node& p) { p.cal(*port_id::parse("fuzz-target"), "ping", [](reply) {}); });
  record(
      "bye", [&](node& p) { p.snd(typed, "add", 3, "three"); }, true);
  record("traced", [&](node& p) {
    // Trace frames before messages: a root sent from outside, a child from a handler.
    auto tracing = trace(p, trace_filter{.node = true, .rate = 1e6});
    p.snd(typed, "add", 4, "four");
    auto relay = p.port();
    p.rcv(relay, "go", [&p, typed] { p.snd(typed, "add", 5, "five"); });
    p.snd(relay, "go");
    p.run_until_idle();
  });
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  write_seeds_if_asked(write_seeds);
  the_target();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  target& t = the_target();
  auto ch = std::make_shared<sink_channel>();
  auto h = t.t.attach(ch);
  std::span<const std::byte> bytes{reinterpret_cast<const std::byte*>(data) + 1, size - 1};
  std::size_t split = std::min<std::size_t>(bytes.size(), data[0]);
  h->on_bytes(bytes.first(split));
  h->on_bytes(bytes.subspan(split));
  t.n.run_until_idle();
  h->on_closed("end of input");
  for (const auto& p : t.spawned) t.n.kil(p);
  t.spawned.clear();
  t.n.run_until_idle();
  return 0;
}
