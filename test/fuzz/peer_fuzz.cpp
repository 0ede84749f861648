// libFuzzer target: an authenticated hostile peer whose link PERSISTS across inputs (issue 17).
//
// The fuzzer plays node "fuzz-peer" (hostile_peer.hpp): it runs the real version-3 handshake
// with the target node once (hello, proof with the secret, the proven verdict), keeps its
// record sealer, and then every input is a sequence of frames it seals into authenticated
// records and feeds to the target, which then runs until idle. Nothing is reset between inputs:
// what the target holds on the peer's behalf (spawned ports, watches, registry entries, group
// members, tags, type lists, node IDs, holes, open large records) accumulates, and must stay
// bounded. When the target ends the link (a bad frame may), the next input reconnects with a fresh
// handshake (new nonces, new keys); reconnects are counted.
//
// The target: one deterministic node with a secret, its transport over an in-memory channel
// that opens records as TCP's does, ports with typed handlers, a registered init, the
// registry and the groups service with one group (its master and a local member). Service
// ports a peer killed are made again at the next input (the peer may kill them: that is
// allowed), so that the fuzzer keeps reaching them.
//
// An input is a list of operations; each starts with an op byte:
//   low 4 bits k = 1..15: a frame of kind k (frame.hpp; hello and auth are bad frames here):
//     bit 4: addressed: the next byte picks one of the target's ports (node port, two ports,
//            registry, groups agent, the group master and member, then the ports the peer's
//            spawns made), and the port's local number and incarnation open the body (port
//            numbers are random per process, so the corpus cannot spell them);
//     then u16 little-endian body length (clamped to what is left), then the body;
//     bit 5: the plaintext so far is sealed into a record right after this frame;
//     bit 6: the node runs until idle after this frame (sealed and fed first).
//   k = 0: a control op, by the high 4 bits: 0 raw plaintext (u16 length, bytes: partial
//     frames, bad lengths); 1 the virtual clock moves on (next byte x 100 ms: timers fire);
//     2 seal now; 3 raw bytes straight into the record stream (u16 length, bytes: forged
//     records end the link); others: run until idle.
// What is left unsealed at the end of the input is sealed and fed, then the node runs until
// idle.
//
// Bounds checked: every 4096 inputs the process's resident memory is read; more than 512 MiB
// above the first reading (taken at input 16 385, once libFuzzer has run its corpus) aborts. Why
// 512 MiB: everything a peer may legitimately make this process hold is bounded well below it (4096
// spawned ports, 65 536 interned tags of at most 1 KiB = 64 MiB, 4096 type lists in 4 MiB plus a 4
// MiB cache, 4096 unknown node IDs, the name caches of one link ~83 KiB, 64 open large records of a
// 1 MiB frame bound), and libFuzzer's own corpus of inputs of at most 64 KiB stays in the tens of
// MiB; whereas one structure that grows by a few bytes per input reaches it within 10^7 inputs of
// up to 64 KiB. The live heap (ASan's count, or glibc's in a build without ASan) is held to the
// same bound; under ASan, resident memory gets ASan's quarantine (256 MiB) on top. CI also runs
// libFuzzer with -rss_limit_mb=2048, and with -detect_leaks=0: the target runs LeakSanitizer itself
// every 65 536 inputs (libFuzzer's check after every input that allocates more than it frees ran on
// most inputs here, since state is kept, and took 80 % of the time).
//
// With COPORT_FUZZ_WRITE_SEEDS=DIR the target writes its seed corpus into DIR and exits: real
// traffic of a node (sends, spawns, watches, kills, registry and group messages) recorded and
// turned into operations; test/fuzz/corpus/peer is those seeds grown by fuzzing and
// minimized with -merge=1.
#include <malloc.h>
#include <unistd.h>

#include <coport/coport.hpp>
#include <coport/groups/groups.hpp>
#include <coport/registry.hpp>
#include <coport/transport/transport.hpp>
#include <coport/wire/reader.hpp>
#include <coport/wire/writer.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PEER_FUZZ_ASAN 1
#include <sanitizer/allocator_interface.h>
#include <sanitizer/lsan_interface.h>
#endif
#endif

#include "frame.hpp"
#include "harness.hpp"
#include "hostile_peer.hpp"
#include "protocol.hpp"

using namespace coport;
namespace tp = coport::transport;
namespace d = coport::transport::detail;
namespace pgd = coport::groups::detail;
using coport::fuzz::hostile_peer;
using coport::fuzz::sink_channel;
using coport::fuzz::stepped;
using coport::fuzz::write_seeds_if_asked;

namespace {

const std::string secret = "peer-fuzz-secret-Hs7kQ2vX9mLp4RtW";  // >= 22 characters
constexpr const char* target_id = "fuzz-target";
constexpr const char* peer_id = "fuzz-peer";
constexpr std::size_t rss_every = 4096;
constexpr std::size_t rss_bound = std::size_t{512} << 20;
// The first reading is taken once libFuzzer has run its corpus (each corpus file is one input
// here: 284 in the repository's, a few thousand in a long run's scratch directory) and ASan's
// quarantine has filled; what is read before is libFuzzer loading inputs, not the target
// keeping state.
constexpr std::size_t rss_first_at = 4 * rss_every + 1;
#ifdef PEER_FUZZ_ASAN
// ASan keeps freed blocks in a quarantine of 256 MiB (its default), which fills within the
// first few thousand inputs: resident memory may grow by that much more.
constexpr std::size_t quarantine = std::size_t{256} << 20;
#else
constexpr std::size_t quarantine = 0;
#endif
constexpr std::size_t leak_every = 16 * 4096;
constexpr std::size_t spawned_kept = 64;  // the peer's spawned ports it can address

using bytes = std::vector<std::byte>;

/// The node under test and the peer's side of its one link.
struct target {
  node n{stepped(target_id)};
  tp::endpoint t{n, tp::transport_options{.max_frame = 1 << 20, .secret = secret}};
  port_id any, typed;
  bool any_dead = false, typed_dead = false;
  // The services (made again when a peer killed one of their ports).
  std::unique_ptr<registry> names;
  std::unique_ptr<groups::service> pg;
  port_id master, member;
  std::shared_ptr<bool> services_dead;
  std::deque<port_id> spawned;  // the newest spawned_kept ports the peer's spawns made
  hostile_peer peer{n, t, secret, peer_id};

  // Counters (the peer counts its reconnects, failed handshakes and held inputs).
  std::size_t inputs = 0, link_ends = 0, remakes = 0;
  std::size_t rss_first = 0, rss_peak = 0, heap_first = 0, heap_peak = 0;

  target() {
    make_ports();
    n.register_init("fuzz.init", [this](int) {
      spawned.push_back(self());
      if (spawned.size() > spawned_kept) spawned.pop_front();
      n.rcv(self(), "x", [] {});
      n.rcv(self(), "add", [](int, std::string) {});
    });
    make_services();
    n.run_until_idle();
  }

  void make_ports() {
    if (!any || any_dead) {
      any = n.port([](message&) {});
      any_dead = false;
      n.mon(any, [this](const reason&) { any_dead = true; }).release();
    }
    if (!typed || typed_dead) {
      typed = n.port();
      typed_dead = false;
      n.rcv(typed, "add", [](int, std::string) {});
      n.rcv(typed, "ids", [](std::vector<port_id>, reason) {});
      n.rcv(typed, "blob", [](std::vector<std::byte>) {});
      n.mon(typed, [this](const reason&) { typed_dead = true; }).release();
    }
  }

  void make_services() {
    if (services_dead && !*services_dead) return;
    if (services_dead) ++remakes;
    pg.reset();
    names.reset();
    if (member) n.kil(member);  // the harness's own member port goes with its group
    n.run_until_idle();
    names = std::make_unique<registry>(n);
    pg = std::make_unique<groups::service>(n, *names);
    n.run_until_idle();
    master = pg->create("g").master;
    n.run_until_idle();
    member = n.port([](message&) {});
    (void)pg->join("g", member);
    n.run_until_idle();
    services_dead = std::make_shared<bool>(false);
    for (const port_id& p : {names->port(), pg->agent(), master, member}) {
      n.mon(p, [dead = services_dead](const reason&) { *dead = true; }).release();
    }
    n.run_until_idle();
  }

  /// The ports an addressed frame may name.
  port_id address(std::uint8_t pick) const {
    const port_id fixed[] = {n.node_port(), any, typed, names->port(), pg->agent(), master, member};
    constexpr std::size_t nfixed = std::size(fixed);
    std::size_t i = pick % (nfixed + spawned.size());
    return i < nfixed ? fixed[i] : spawned[i - nfixed];
  }
};

target& the_target() {
  static target* t = new target;  // lives for the process (libFuzzer exits without teardown)
  return *t;
}

/// Bytes the allocator hands out now: what is live (under ASan its count, not its quarantine;
/// otherwise glibc's, main arena and mmapped blocks).
std::size_t heap_bytes() {
#ifdef PEER_FUZZ_ASAN
  return __sanitizer_get_current_allocated_bytes();
#else
  struct mallinfo2 m = ::mallinfo2();
  return m.uordblks + m.hblkhd;
#endif
}

std::size_t resident_bytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  unsigned long size = 0, resident = 0;
  int got = std::fscanf(f, "%lu %lu", &size, &resident);
  std::fclose(f);
  return got == 2 ? resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)) : 0;
}

void report() {
  target& t = the_target();
  std::fprintf(stderr,
               "peer_fuzz: %zu inputs, %zu reconnects (%zu link ends, %zu failed handshakes), "
               "%zu inputs held back, %zu ports alive, services made again %zu times, rss %zu MiB "
               "(first %zu, peak %zu), "
               "heap %zu MiB (first %zu, peak %zu)\n",
               t.inputs, t.peer.reconnects, t.link_ends, t.peer.failed_handshakes, t.peer.held,
               t.n.stats().ports_alive, t.remakes, resident_bytes() >> 20, t.rss_first >> 20,
               t.rss_peak >> 20, heap_bytes() >> 20, t.heap_first >> 20, t.heap_peak >> 20);
}

void check_memory() {
  target& t = the_target();
  std::size_t rss = resident_bytes(), heap = heap_bytes();
  if (t.inputs <= rss_first_at) {  // still warming up: the reading at rss_first_at is the first
    t.rss_first = rss;
    t.heap_first = heap;
  }
  t.rss_peak = std::max(t.rss_peak, rss);
  t.heap_peak = std::max(t.heap_peak, heap);
  const char* what = nullptr;
  if (rss > t.rss_first + rss_bound + quarantine) {
    what = "resident memory";
  } else if (heap > t.heap_first + rss_bound) {
    what = "the live heap";
  }
  if (what) {
    std::fprintf(stderr,
                 "peer_fuzz: %s grew by more than %zu MiB over its first reading: what the "
                 "target holds for one peer is not bounded\n",
                 what, (rss_bound + (what[0] == 'r' ? quarantine : 0)) >> 20);
    report();
    __builtin_trap();
  }
#ifdef PEER_FUZZ_ASAN
  // Run with -detect_leaks=0: libFuzzer's own check runs whenever an input allocates more
  // than it frees, which for a target that keeps state is most inputs (it took 80 % of the
  // time). Memory nothing points to any more stays leaked, so checking now and then finds it.
  if (t.inputs % leak_every == 1 && __lsan_do_recoverable_leak_check() != 0) {
    std::fprintf(stderr, "peer_fuzz: LeakSanitizer found memory nothing points to\n");
    report();
    __builtin_trap();
  }
#endif
}

// -- seeds --------------------------------------------------------------------------------------

/// An input being built.
struct ops {
  bytes b;
  void op(std::uint8_t byte) { b.push_back(std::byte{byte}); }
  void body(std::span<const std::byte> body) {
    std::size_t n = std::min<std::size_t>(body.size(), 0xffff);
    op(static_cast<std::uint8_t>(n));
    op(static_cast<std::uint8_t>(n >> 8));
    b.insert(b.end(), body.begin(), body.begin() + static_cast<std::ptrdiff_t>(n));
  }
  void frame(std::uint8_t kind, std::span<const std::byte> body, std::uint8_t flags = 0) {
    op(kind | flags);
    this->body(body);
  }
  void addressed(std::uint8_t kind, std::uint8_t pick, std::span<const std::byte> rest,
                 std::uint8_t flags = 0) {
    op(kind | 0x10 | flags);
    op(pick);
    body(rest);
  }
  void advance(std::uint8_t tenths) {
    op(0x10);
    op(tenths);
  }
  void idle() { op(0xf0); }
};

/// What the target answers a hello with when it has no secret: so that the recording peer
/// finishes its handshake and sends its traffic as plain frames (what records carry).
bytes target_greeting() {
  bytes out;
  std::size_t start = d::begin_frame(out, d::frame_kind::hello);
  wire::writer w{out};
  w.varint(d::protocol_version);
  w.string(target_id);
  w.varint(the_target().n.incarnation());
  w.varint(d::nonce_size);
  for (std::size_t i = 0; i < d::nonce_size; ++i) w.byte(static_cast<std::uint8_t>(i));
  w.varint(0);
  w.byte(0);
  w.varint(d::oldest_protocol_version);
  w.varint(d::own_capabilities);
  w.varint(0);  // nothing of its application
  d::end_frame(out, start);
  start = d::begin_frame(out, d::frame_kind::auth);
  w.byte(0);
  w.string("");
  w.varint(0);
  d::end_frame(out, start);
  return out;
}

/// Turns a recorded frame stream into operations: frames about one of the target's ports
/// become addressed ones; hello and auth (the recording's handshake) are left out.
void convert(const bytes& stream, ops& o, std::uint8_t last_flags) {
  target& t = the_target();
  std::size_t at = 0;
  std::vector<std::pair<std::size_t, std::size_t>> frames;
  while (stream.size() - at >= d::frame_header) {
    std::uint32_t length = d::frame_length(stream.data() + at);
    if (stream.size() - at - 4 < length) break;
    frames.emplace_back(at, length);
    at += 4 + length;
  }
  for (std::size_t f = 0; f < frames.size(); ++f) {
    auto [pos, length] = frames[f];
    auto kind = std::to_integer<std::uint8_t>(stream[pos + 4]);
    if (kind == std::uint8_t(d::frame_kind::hello) || kind == std::uint8_t(d::frame_kind::auth)) {
      continue;
    }
    std::span<const std::byte> body{stream.data() + pos + d::frame_header, length - 1};
    std::uint8_t flags = f + 1 == frames.size() ? last_flags : 0;
    auto k = static_cast<d::frame_kind>(kind);
    if (k == d::frame_kind::message || k == d::frame_kind::kill || k == d::frame_kind::watch ||
        k == d::frame_kind::unwatch || k == d::frame_kind::lost_ack) {
      wire::reader r{body};
      std::uint64_t local = r.varint();
      auto inc = static_cast<std::uint32_t>(r.varint());
      std::size_t head = body.size() - r.remaining();
      bool done = false;
      for (std::uint8_t pick = 0; pick < 7 + t.spawned.size() && !done; ++pick) {
        port_id p = t.address(pick);
        if (p.local() == local && p.incarnation() == inc) {
          o.addressed(kind, pick, body.subspan(head), flags);
          done = true;
        }
      }
      if (done) continue;
    }
    o.frame(kind, body, flags);
  }
}

void write_seeds(const std::string& dir) {
  target& t = the_target();
  auto record = [&](const std::string& name, auto&& traffic) {
    node peer{stepped(peer_id)};
    tp::endpoint tr{peer};
    auto ch = std::make_shared<sink_channel>();
    auto h = tr.attach(ch, target_id);
    h->on_bytes(target_greeting());
    peer.run_until_idle();
    ops o;
    std::size_t parts = 0;
    // `traffic` says which ops to add, and sends; each call's frames become one part.
    auto part = [&](auto&& send, std::uint8_t flags = 0x40) {
      ch->written.clear();
      send(peer);
      peer.run_until_idle();
      convert(ch->written, o, flags);
      ++parts;
    };
    traffic(part, o, peer);
    h->on_closed("done");
    std::ofstream out{dir + "/" + name, std::ios::binary};
    out.write(reinterpret_cast<const char*>(o.b.data()), static_cast<std::streamsize>(o.b.size()));
  };
  auto at = [&](const port_id& p) { return port_id{target_id, p.local(), p.incarnation()}; };
  const port_id node_port{*port_id::parse(target_id)};
  const tag registry_tag{"coport.registry"};

  record("typed", [&](auto& part, ops&, node&) {
    part([&](node& p) {
      p.snd(at(t.typed), "add", 1, "one");
      p.snd(at(t.typed), "add", 2, "two");
    });
  });
  record("containers", [&](auto& part, ops&, node&) {
    part([&](node& p) {
      p.snd(at(t.any), "mix", std::vector<std::string>{"a", "b"},
            std::map<std::string, std::optional<double>>{{"x", 1.5}}, std::vector<std::byte>(8));
      p.snd(at(t.typed), "ids", std::vector<port_id>{at(t.any), port_id{"elsewhere", 5, 9}},
            reason{"die", "why"});
      p.snd(at(t.typed), "blob", std::vector<std::byte>(300, std::byte{7}));
    });
  });
  record("watch-unwatch", [&](auto& part, ops&, node&) {
    part([&](node& p) {
      p.mon(at(t.any), [](const reason&) {}).release();
      auto g = p.mon(at(t.typed), [](const reason&) {});
      g.cancel();
    });
  });
  record("kill",
         [&](auto& part, ops&, node&) { part([&](node& p) { p.kil(at(t.any), "stop", "now"); }); });
  record("spawn", [&](auto& part, ops& o, node&) {
    part([&](node& p) {
      p.spawn(target_id, "fuzz.init", 1);
      p.spawn_monitor(
           target_id, "fuzz.init", [](const reason&) {}, 2)
          .second.release();
      p.spawn(target_id, "no.such.init", std::string{"x"});
    });
    // Then the spawned ports, as the harness addresses them (picks 7 and 8 on a fresh link).
    part([&](node& p) { p.snd(at(t.typed), "add", 3, "three"); });
    bytes why;
    wire::writer w{why};
    wire::codec<reason>::encode(w, reason{"kill", "from the peer"});
    for (std::uint8_t pick : {7, 8}) {
      o.addressed(std::uint8_t(d::frame_kind::watch), pick, {}, 0);
      o.addressed(std::uint8_t(d::frame_kind::kill), pick, why, 0x40);
    }
  });
  record("spawn-many", [&](auto& part, ops&, node&) {
    part([&](node& p) {
      for (int i = 0; i < 64; ++i) p.spawn(target_id, "fuzz.init", i);
    });
  });
  record("node-port", [&](auto& part, ops& o, node&) {
    part([&](node& p) { p.cal(node_port, "ping", [](reply) {}); });
    o.advance(50);
  });
  record("registry", [&](auto& part, ops&, node& p) {
    port_id mine = p.port();
    port_id other = p.port();
    part([&](node& p) {
      p.snd(node_port, registry_tag, std::string{"add"}, std::string{peer_id},
            std::vector<std::string>{"svc", "pg:g"}, std::vector<port_id>{mine, other});
      p.snd(node_port, registry_tag, std::string{"snapshot"}, std::string{peer_id},
            std::vector<std::string>{"svc", "more"}, std::vector<port_id>{mine, mine});
      p.snd(node_port, registry_tag, std::string{"remove"}, std::string{target_id},
            std::vector<std::string>{"svc"}, std::vector<port_id>{at(t.any)});
    });
  });
  record("group-master", [&](auto& part, ops& o, node& p) {
    port_id member = p.port();
    port_id reply = p.port();
    part([&](node& p) {
      p.snd(at(t.master), pgd::join_msg, member, true, reply);
      p.snd(at(t.master), pgd::send_msg, member, false,
            envelope{message::make(tag{"hi"}, 1, std::string{"there"})}, reply, std::uint64_t{1},
            std::uint64_t{1});
      p.snd(at(t.master), pgd::members_msg, reply);
      p.snd(at(t.master), pgd::ack_msg, std::uint64_t{1}, std::uint64_t{2}, reply);
      p.snd(at(t.master), pgd::resend_msg, std::uint64_t{1}, std::uint64_t{0},
            std::string{peer_id});
      p.snd(at(t.master), pgd::leave_msg, member);
    });
    o.advance(120);
  });
  record("group-agent", [&](auto& part, ops& o, node& p) {
    port_id sender = p.port();
    pgd::item it;
    it.seq = 1;
    it.kind = pgd::item_kind::join;
    it.port = sender;
    it.members = {sender};
    part([&](node& p) {
      p.snd(node_port, pgd::deliver_msg, std::string{"g"}, std::uint64_t{2}, sender,
            std::uint8_t{0}, it);
      p.snd(node_port, pgd::sync_msg, std::string{"g"}, std::uint64_t{2}, sender, std::uint8_t{0},
            std::uint64_t{5});
      p.snd(node_port, pgd::lost_msg, std::string{"g"}, std::uint64_t{2}, std::uint64_t{3});
      p.snd(node_port, pgd::cdeliver_msg, std::string{"c"}, std::uint64_t{1},
            pgd::stamp{{sender, 1}}, sender, false, envelope{message::make(tag{"hi"}, 2)});
      p.snd(at(t.pg->agent()), pgd::lost_msg, std::string{"g"}, std::uint64_t{2}, std::uint64_t{4});
    });
    o.advance(150);
  });
  record("spawn-group-master", [&](auto& part, ops&, node&) {
    part([&](node& p) {
      p.spawn(target_id, pgd::master_init, std::string{"h"}, std::uint8_t{0},
              std::vector<std::string>{}, std::uint64_t{16}, false);
    });
  });
  record("control", [&](auto&, ops& o, node& p) {
    port_id mine = p.port();
    reason why{"die", "gone"};
    auto died = d::control_frame(d::frame_kind::died, mine.local(), mine.incarnation(), &why);
    auto lost = d::control_frame(d::frame_kind::lost, mine.local(), mine.incarnation(), &why);
    o.frame(std::uint8_t(d::frame_kind::died), std::span{died}.subspan(d::frame_header));
    o.frame(std::uint8_t(d::frame_kind::lost), std::span{lost}.subspan(d::frame_header), 0x20);
    o.frame(std::uint8_t(d::frame_kind::heartbeat), {}, 0x40);
    o.addressed(std::uint8_t(d::frame_kind::lost_ack), 1, {});
    o.idle();
  });
  record("garbage", [&](auto& part, ops& o, node&) {
    part([&](node& p) { p.snd(at(t.any), "x", 1); });
    bytes partial{std::byte{100}, std::byte{0}, std::byte{0}, std::byte{0},
                  std::byte(d::frame_kind::heartbeat)};
    partial.resize(40, std::byte{0x11});
    o.op(0x00);  // raw plaintext: a frame header that announces more than follows
    o.body(partial);
    bytes junk(40, std::byte{0x11});
    o.op(0x30);  // raw bytes into the record stream: a forged record
    o.body(junk);
  });
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  write_seeds_if_asked(write_seeds);
  the_target();
  std::atexit(report);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  target& t = the_target();
  if (t.inputs++ % rss_every == 0) check_memory();
  if (t.peer.linked && t.peer.ch->closed) ++t.link_ends;
  if (!t.peer.linked || t.peer.ch->closed) {
    t.make_ports();
    t.make_services();
    if (!t.peer.connect()) return 0;
  }
  t.make_ports();
  t.make_services();
  std::size_t i = 0;
  auto u16 = [&]() -> std::size_t {
    std::size_t n = 0;
    if (i < size) n = data[i++];
    if (i < size) n |= std::size_t{data[i++]} << 8;
    return std::min(n, size - i);
  };
  auto span_of = [&](std::size_t n) {
    std::span<const std::byte> s{reinterpret_cast<const std::byte*>(data) + i, n};
    i += n;
    return s;
  };
  while (i < size && !t.peer.ch->closed) {
    std::uint8_t op = data[i++];
    std::uint8_t k = op & 0x0f;
    if (k == 0) {
      switch (op >> 4) {
        case 0: {  // raw plaintext
          auto s = span_of(u16());
          t.peer.plain.insert(t.peer.plain.end(), s.begin(), s.end());
          break;
        }
        case 1: {  // time moves on
          std::uint8_t tenths = i < size ? data[i++] : 0;
          if (!t.peer.flush()) break;
          t.n.advance(std::chrono::milliseconds{100} * tenths);
          t.n.run_until_idle();
          break;
        }
        case 2:
          t.peer.flush();
          break;
        case 3: {  // raw bytes into the record stream
          if (!t.peer.flush()) break;
          auto s = span_of(u16());
          bytes raw(s.begin(), s.end());
          t.peer.ch->feed(raw);
          break;
        }
        default:
          if (t.peer.flush()) t.n.run_until_idle();
          break;
      }
      continue;
    }
    std::size_t start = d::begin_frame(t.peer.plain, static_cast<d::frame_kind>(k));
    if (op & 0x10) {
      std::uint8_t pick = i < size ? data[i++] : 0;
      port_id to = t.address(pick);
      wire::writer w{t.peer.plain};
      w.varint(to.local());
      w.varint(to.incarnation());
    }
    auto body = span_of(u16());
    t.peer.plain.insert(t.peer.plain.end(), body.begin(), body.end());
    d::end_frame(t.peer.plain, start);
    if (op & 0x60) {
      if (!t.peer.flush()) continue;
      if (op & 0x40) t.n.run_until_idle();
    } else if (t.peer.plain.size() >= d::max_record) {
      t.peer.flush();
    }
  }
  t.peer.flush();
  t.n.run_until_idle();
  return 0;
}
