// libFuzzer target: the handshake, as a peer drives it (hello, auth, refusals, frames sent
// before the handshake ends), against a node with a secret and one without, on channels
// the node accepted and on channels it opened. The node must neither crash, hang nor leak,
// and must never let a frame other than the handshake's through before the MAC checks out
// (without the secret's MAC, the fuzzer cannot make the node with a secret deliver).
//
// The first input byte picks the node (bit 0: with a secret) and the role (bit 1: the node
// opened the channel); the rest is the peer's byte stream.
// With COPORT_FUZZ_WRITE_SEEDS=DIR the target writes its seed corpus into DIR and exits:
// test/fuzz/corpus/handshake is those seeds grown by 150 s of fuzzing, minimized (-merge=1).
#include <coport/coport.hpp>
#include <coport/transport/transport.hpp>
#include <coport/wire/writer.hpp>
#include <cstdint>
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
namespace d = coport::transport::detail;

namespace {

struct target {
  node open{stepped("hs-open")}, locked{stepped("hs-locked")};
  tp::endpoint t_open{open, tp::transport_options{.max_frame = 1 << 20}};
  tp::endpoint t_locked{locked, tp::transport_options{.max_frame = 1 << 20,
                                                      .secret = "fuzz-secret-0123456789abcdefXYZ"}};
  std::size_t delivered = 0;
  target() {
    for (node* n : {&open, &locked}) {
      auto p = n->port();
      n->rcv(p, "x", [this](int) { ++delivered; });
      n->run_until_idle();
    }
  }
};

target& the_target() {
  static target* t = new target;  // lives for the process (libFuzzer exits without teardown)
  return *t;
}

struct frames {
  std::vector<std::byte> bytes;
  template <class F>
  frames& add(d::frame_kind k, F&& body) {
    std::size_t start = d::begin_frame(bytes, k);
    wire::writer w{bytes};
    body(w);
    d::end_frame(bytes, start);
    return *this;
  }
  frames& hello(const std::string& id, std::uint64_t version = d::protocol_version,
                std::size_t addresses = 1, std::uint8_t flags = 1) {
    return add(d::frame_kind::hello, [&](wire::writer& w) {
      w.varint(version);
      w.string(id);
      w.varint(0x1234);
      w.varint(d::nonce_size);
      for (std::size_t i = 0; i < d::nonce_size; ++i) w.byte(static_cast<std::uint8_t>(i * 7));
      w.varint(addresses);
      for (std::size_t i = 0; i < addresses; ++i) w.string("127.0.0.1:4040");
      w.byte(flags);      // 1: the peer opened the channel; 2: it asks for encryption
      w.varint(version);  // the lowest version it speaks: the same
      w.varint(d::own_capabilities);
      w.varint(0);  // nothing of its application
    });
  }
  frames& auth(std::uint8_t status, std::size_t mac = 0, const std::string& why = {}) {
    return add(d::frame_kind::auth, [&](wire::writer& w) {
      w.byte(status);
      w.string(why);
      w.varint(mac);
      for (std::size_t i = 0; i < mac; ++i) w.byte(0xab);
    });
  }
  frames& heartbeat() {
    return add(d::frame_kind::heartbeat, [](wire::writer&) {});
  }
  frames& tag(std::uint64_t slot, const std::string& name) {
    return add(d::frame_kind::def_tag, [&](wire::writer& w) {
      w.varint(slot);
      w.string(name);
    });
  }
};

void write_seeds(const std::string& dir) {
  auto seed = [&](const std::string& name, std::uint8_t mode, const frames& f) {
    std::ofstream out{dir + "/" + name, std::ios::binary};
    out.put(static_cast<char>(mode));
    out.write(reinterpret_cast<const char*>(f.bytes.data()),
              static_cast<std::streamsize>(f.bytes.size()));
  };
  for (std::uint8_t mode = 0; mode < 4; ++mode) {
    std::string m = std::to_string(mode);
    seed("open-handshake-" + m, mode, frames{}.hello("fuzz-peer").auth(0).heartbeat().tag(0, "x"));
    seed("mac-" + m, mode, frames{}.hello("fuzz-peer").auth(0, 32).tag(0, "x"));
    seed("simultaneous-" + m, mode, frames{}.hello("fuzz-peer").auth(1));
    seed("refused-" + m, mode, frames{}.hello("fuzz-peer").auth(2, 0, "already connected"));
    seed("early-frame-" + m, mode, frames{}.hello("fuzz-peer").tag(0, "x"));
    seed("old-version-" + m, mode, frames{}.hello("fuzz-peer", 1));
    seed("many-addresses-" + m, mode, frames{}.hello("fuzz-peer", d::protocol_version, 17));
    seed("self-" + m, mode, frames{}.hello(mode & 1 ? "hs-locked" : "hs-open").auth(0));
    seed("second-hello-" + m, mode, frames{}.hello("fuzz-peer").hello("fuzz-peer"));
    std::uint8_t peer_opened = mode & 2 ? 0 : 1;  // the node opened it: the peer accepts
    seed("verdict-" + m, mode,
         frames{}.hello("fuzz-peer", d::protocol_version, 1, peer_opened).auth(0, 32));
    seed("final-refusal-" + m, mode,
         frames{}.hello("fuzz-peer", d::protocol_version, 1, peer_opened).auth(3, 32, "taken"));
    seed("encrypt-" + m, mode,
         frames{}.hello("fuzz-peer", d::protocol_version, 1, peer_opened | 2).auth(0, 32));
    seed("busy-" + m, mode,
         frames{}.hello("fuzz-peer", d::protocol_version, 1, peer_opened).auth(2, 0, "busy"));
  }
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
  bool locked = data[0] & 1, opened = data[0] & 2;
  tp::endpoint& tr = locked ? t.t_locked : t.t_open;
  node& n = locked ? t.locked : t.open;
  auto ch = std::make_shared<sink_channel>();
  auto h = tr.attach(ch, opened ? "fuzz-peer" : "");
  std::size_t before = t.delivered;
  h->on_bytes({reinterpret_cast<const std::byte*>(data) + 1, size - 1});
  n.run_until_idle();
  // No MAC can be right here (the node's nonce is fresh): nothing may reach a port.
  if (locked && t.delivered != before) std::abort();
  h->on_closed("end of input");
  n.run_until_idle();
  return 0;
}
