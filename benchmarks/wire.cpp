// wire: what crossing a node boundary costs. Encode+decode of a small message and of a
// 4 KiB one (ns per message), and a round trip between two nodes of one process joined by
// an in-memory link (each node with one thread; and both stepped by one thread, which
// leaves out the thread wake-ups), beside the same round trip between two ports of one node.
#include <coport/detail/payload_codec.hpp>
#include <coport/serialize.hpp>
#include <coport/transport/memory_link.hpp>
#include <coport/transport/transport.hpp>
#include <string>
#include <thread>

#include "coport_workloads.hpp"

using namespace coport;

/// A user type as programs register one (Cereal, a class version): its codec is the
/// registry's, with the value's length before it (protocol 5).
struct bench_order {
  std::int64_t id = 0;
  std::string item;
  std::int32_t quantity = 1;
  template <class A>
  void serialize(A& a, std::uint32_t /*version*/) {
    a(id, item, quantity);
  }
};

namespace coport_bench {

namespace {

double codec_ns(message m, long n) {
  const auto& enc = detail::payload_codec_for(*m.get_block()->ops->sig);
  auto dec = detail::resolve_payload(enc.names);
  std::vector<std::byte> buf;
  buf.reserve(8192);
  auto start = std::chrono::steady_clock::now();
  std::size_t check = 0;
  for (long i = 0; i < n; ++i) {
    buf.clear();
    wire::writer w{buf};
    detail::encode_values(w, m.get_block(), enc);
    wire::reader r{buf};
    message back{detail::decode_values(m.tag(), r, *dec)};
    check += back.size();
  }
  double secs = bench::seconds_since(start);
  if (check != static_cast<std::size_t>(n) * m.size()) std::abort();
  return secs / static_cast<double>(n) * 1e9;
}

/// Round trips between a pinger on `a` and a ponger on `b` (the same node for local).
double rtt_ns(node& a, node& b, long n) {
  std::latch done{1};
  auto pong = b.port();
  b.rcv(pong, "ping", [&b](long i, port_id back) { b.snd(back, "pong", i); });
  auto ping = a.port();
  a.rcv(ping, "pong", [&, n](long i) {
    if (i + 1 == n) {
      done.count_down();
    } else {
      a.snd(pong, "ping", i + 1, self());
    }
  });
  auto start = std::chrono::steady_clock::now();
  a.snd(pong, "ping", 0L, ping);
  done.wait();
  return bench::seconds_since(start) / static_cast<double>(n) * 1e9;
}

/// The same round trip between two deterministic nodes that one thread steps: the
/// protocol's own cost (encode, frame, decode, deliver, dispatch) without thread wake-ups.
double stepped_rtt_ns(long n) {
  node_options oa, ob;
  oa.id = "bench-sa/";
  ob.id = "bench-sb/";
  oa.mode = ob.mode = run_mode::deterministic;
  node na{oa}, nb{ob};
  transport::endpoint ta{na}, tb{nb};
  auto link = transport::memory_link::connect(ta, tb);
  auto pong = nb.port();
  nb.rcv(pong, "ping", [&nb](long i, port_id back) { nb.snd(back, "pong", i); });
  long last = -1;
  auto ping = na.port();
  na.rcv(ping, "pong", [&, n](long i) {
    last = i;
    if (i + 1 < n) na.snd(pong, "ping", i + 1, self());
  });
  while (na.step() | nb.step()) {
  }
  auto start = std::chrono::steady_clock::now();
  na.snd(pong, "ping", 0L, ping);
  while (last + 1 < n) {
    bool a = na.step(), b = nb.step();
    if (!a && !b) std::abort();
  }
  return bench::seconds_since(start) / static_cast<double>(n) * 1e9;
}

node_options one_thread(const char* id) {
  node_options o;
  o.id = id;
  o.threads = 1;
  return o;
}

}  // namespace

void wire(int argc, char** argv) {
  bench::args a{
      "wire", {{"n", 1'000'000}, {"rtt", 200'000}, {"stepped", 1'000'000}}, argc, argv, 2};
  long n = a["n"], rtt = a["rtt"], stepped = a["stepped"];
  a.report("coport", "wire.codec", codec_ns(message::make("add", 42, std::string{"hello"}), n),
           "ns", "size=small");
  a.report("coport", "wire.codec",
           codec_ns(message::make("blob", std::vector<std::byte>(4096, std::byte{7})), n / 10),
           "ns", "size=4KiB");
  register_type<bench_order>("bench.order");
  a.report("coport", "wire.codec",
           codec_ns(message::make("order", bench_order{42, "hello", 3}), n), "ns",
           "size=registered");
  {
    node local{options(2)};
    a.report("coport", "rtt.local", rtt_ns(local, local, rtt), "ns", "n=" + std::to_string(rtt));
  }
  {
    node na{one_thread("bench-a/")}, nb{one_thread("bench-b/")};
    transport::endpoint ta{na}, tb{nb};
    auto link = transport::memory_link::connect(ta, tb);
    while (na.up_nodes().empty() || nb.up_nodes().empty()) std::this_thread::yield();
    a.report("coport", "rtt.inproc_link", rtt_ns(na, nb, rtt), "ns", "n=" + std::to_string(rtt));
  }
  a.report("coport", "rtt.inproc_link.stepped", stepped_rtt_ns(stepped), "ns",
           "n=" + std::to_string(stepped));
}

}  // namespace coport_bench
