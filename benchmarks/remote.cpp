// remote: two nodes in two processes over loopback TCP, beside a raw TCP floor measured in
// the same run (plain blocking sockets, one round trip per message, no runtime at all).
//
//   remote.pingpong   round trip of a small message and of a 4 KiB one (us)
//   remote.stream     one-way messages, the receiver acking every 10^4 (msgs/s; 4 KiB: MB/s)
//   remote.cal        a cal's reply time at low load (us, p50 and p99)
//   coport            links without a secret (no proofs, no records): the framing alone
//   coport-auth       the same with a secret: every byte after the handshake in AES-256-GCM
//                     records (integrity only, the default with a secret)
//   coport-aead       with a secret and encrypt: the records encrypted
//   coport-tls        the ping-pongs and streams again over TLS 1.3 (mutual authentication)
//
// The other process is this program again: `coport-bench remote_peer` (a coport node) or
// `coport-bench remote_floor_peer` (the raw echo server). Each prints its address and exits
// when its stdin closes.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <algorithm>
#include <cerrno>
#include <coport/transport/tcp.hpp>
#include <cstdio>
#include <cstring>
#include <future>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "coport_workloads.hpp"
#include "support/certificates.hpp"  // test/support: certificates made at run time
#include "support/other_process.hpp"
#include "support/scraped.hpp"

extern char** environ;

namespace {
/// The secret of the "-auth" and "-aead" links (a generated one's length).
const char* const bench_secret = "bnch7Qw2Er5Ty8Ui1Op4As7Df0Gh3Jk6Lz9Xc2Vb5N";
}  // namespace

using namespace coport;
namespace tp = coport::transport;

namespace coport_bench {

namespace {

constexpr long ack_every = 10'000;
node_options one_thread(const char* id) {
  node_options o;
  o.id = id;
  o.threads = 1;
  return o;
}

// -- the raw floor --------------------------------------------------------------------------

/// Receives exactly `size` bytes: blocking, or (spin) polling without sleeping.
bool recv_all(int fd, void* buf, std::size_t size, bool spin) {
  auto* p = static_cast<char*>(buf);
  while (size) {
    ssize_t n = recv(fd, p, size, spin ? MSG_DONTWAIT : 0);
    if (n > 0) {
      p += n;
      size -= static_cast<std::size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      continue;
    } else {
      return false;
    }
  }
  return true;
}

void floor_serve(int fd) {
  char mode = 0;
  if (!recv_all(fd, &mode, 1, false)) return;
  bool spin = mode == 1;
  std::vector<char> buf(1 << 16);
  for (;;) {
    std::uint32_t size;
    if (!recv_all(fd, &size, 4, spin) || size > buf.size()) return;
    if (!recv_all(fd, buf.data(), size, spin)) return;
    if (send(fd, &size, 4, MSG_MORE) != 4) return;
    if (size && send(fd, buf.data(), size, 0) != static_cast<ssize_t>(size)) return;
  }
}

/// Round trips over plain sockets: blocking (each side sleeps in recv), or both sides
/// polling without sleeping (spin): the floors beside which coport's figures stand.
double floor_rtt_us(int port, std::size_t size, long n, bool spin) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) std::abort();
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  char mode = spin ? 1 : 0;
  if (send(fd, &mode, 1, 0) != 1) std::abort();
  std::vector<char> buf(size + 4);
  auto len = static_cast<std::uint32_t>(size);
  std::memcpy(buf.data(), &len, 4);
  auto start = std::chrono::steady_clock::now();
  for (long i = 0; i < n; ++i) {
    if (send(fd, buf.data(), buf.size(), 0) != static_cast<ssize_t>(buf.size())) std::abort();
    if (!recv_all(fd, buf.data(), buf.size(), spin)) std::abort();
  }
  double us = bench::seconds_since(start) / static_cast<double>(n) * 1e6;
  close(fd);
  return us;
}

// -- coport -------------------------------------------------------------------------------------

struct remote_ports {
  std::string address;
  port_id pong, sink;
};

double pingpong_us(node& n, const port_id& pong, std::size_t size, long rounds) {
  std::promise<void> done;
  auto start = std::chrono::steady_clock::now();
  auto ping = n.port();
  std::vector<std::byte> blob(size, std::byte{5});
  long warm = std::min(rounds / 10, 1000L);
  n.rcv(ping, "pong", [&, rounds](long i) {
    if (i == warm) start = std::chrono::steady_clock::now();
    if (i == rounds + warm) {
      done.set_value();
      return;
    }
    if (blob.empty()) {
      n.snd(pong, "ping", i + 1, ping);
    } else {
      n.snd(pong, "pingb", i + 1, ping, blob);
    }
  });
  if (blob.empty()) {
    n.snd(pong, "ping", 0L, ping);
  } else {
    n.snd(pong, "pingb", 0L, ping, blob);
  }
  done.get_future().wait();
  n.kil(ping);
  return bench::seconds_since(start) / static_cast<double>(rounds) * 1e6;
}

/// One-way messages from one handler, at most two ack windows in flight.
double stream_rate(node& n, tp::tcp& t, const port_id& sink, long count, std::size_t size) {
  std::promise<void> done;
  std::vector<std::byte> blob(size, std::byte{3});
  auto producer = n.port();
  long sent = 0;
  auto send_window = [&, producer] {
    long end = std::min(count, sent + ack_every);
    for (; sent < end; ++sent) {
      if (size == 0) {
        n.snd(sink, "n", sent, producer);
      } else {
        n.snd(sink, "b", sent, producer, blob);
      }
    }
    if (sent == count) n.snd(sink, "fin", count - 1, producer);  // acked after the last one
  };
  bool finished = false;
  n.rcv(producer, "ack", [&](long acked) {
    if (finished) return;
    if (acked + 1 >= count) {
      finished = true;  // the last window's ack and the "fin" ack may both say so
      done.set_value();
      return;
    }
    if (sent < count) send_window();
  });
  auto start = std::chrono::steady_clock::now();
  n.peval(producer, [&] {
    send_window();
    send_window();
  });
  auto f = done.get_future();
  while (f.wait_for(std::chrono::seconds{5}) != std::future_status::ready) {
    std::fprintf(stderr, "# stream stalled? sent %ld of %ld\n", sent, count);
    std::fprintf(stderr, "# %zu bytes wait for the peer\n", t.queued(sink.node()));
  }
  n.kil(producer);
  return static_cast<double>(count) / bench::seconds_since(start);
}

std::pair<double, double> cal_us(node& n, const port_id& pong, long count) {
  std::vector<double> times;
  times.reserve(static_cast<std::size_t>(count));
  for (long i = 0; i < count; ++i) {
    std::promise<void> done;
    auto start = std::chrono::steady_clock::now();
    n.cal(pong, "echo", i, [&](reply) { done.set_value(); });
    done.get_future().wait();
    times.push_back(bench::seconds_since(start) * 1e6);
  }
  std::sort(times.begin(), times.end());
  return {times[times.size() / 2], times[times.size() * 99 / 100]};
}

/// CPU time of this process, in seconds.
double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

/// This node's CPU while its links are idle (heartbeats only), over 5 s; in % of a core.
double idle_cpu_percent() {
  std::this_thread::sleep_for(std::chrono::milliseconds{500});
  double cpu0 = cpu_seconds();
  auto start = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::seconds{5});
  return (cpu_seconds() - cpu0) / bench::seconds_since(start) * 100;
}

/// Ten more nodes (processes), one connection each: this node's resident bytes per
/// connection, then its CPU while all are idle (heartbeats only) for 5 s; then as many more
/// as make `links` (if more than ten), and the same again.
void idle_connections(const bench::args& a, node& local, tp::tcp& t, long links) {
  constexpr int count = 10;
  std::vector<std::unique_ptr<bench::other_process>> peers;
  std::vector<std::string> ids;
  std::vector<port_id> pongs;
  auto start_peers = [&](long upto) {
    for (long i = static_cast<long>(peers.size()); i < upto; ++i) {
      peers.push_back(std::make_unique<bench::other_process>("remote_peer", std::to_string(i)));
      std::string address = peers.back()->word();
      pongs.push_back(*port_id::parse(peers.back()->word()));
      peers.back()->word();
      ids.push_back("bench-remote-b" + std::to_string(i));
      t.add_peer(ids.back(), {address});
    }
  };
  start_peers(count);
  auto connect = [&](const std::string& id) {
    std::promise<void> up;
    local.cal(*port_id::parse(id), "ping", [&](reply) { up.set_value(); });
    up.get_future().wait();
  };
  // The first connection also pays once for the process (code paged in, OpenSSL's tables,
  // the I/O thread's first buffers): reported apart from what each further one costs.
  long rss0 = bench::resident_bytes();
  connect(ids.front());
  long rss1 = bench::resident_bytes();
  for (std::size_t i = 1; i < ids.size(); ++i) connect(ids[i]);
  long rss2 = bench::resident_bytes();
  a.report("coport", "remote.first_connection_bytes", static_cast<double>(rss1 - rss0), "bytes",
           "connections=1");
  a.report("coport", "remote.connection_bytes", static_cast<double>(rss2 - rss1) / (count - 1),
           "bytes", "connections=9");
  // A whole node that is idle but for one link (the first peer's process: its runtime, its
  // transport's I/O thread, the link): all it has resident, and what of it is its own.
  auto ask_long = [&](const char* what) {
    std::promise<long> answer;
    local.cal(pongs.front(), what,
              [&](reply r) { answer.set_value(r ? std::get<0>(r->as<long>()) : 0); });
    return static_cast<double>(answer.get_future().get()) / 1048576.0;
  };
  a.report("coport", "remote.idle_node_bytes", ask_long("rss"), "MiB", "connections=1");
  a.report("coport", "remote.idle_node_bytes", ask_long("rss_anon"), "MiB",
           "connections=1,anonymous");
  a.report("coport", "remote.idle_cpu", idle_cpu_percent(), "%core", "connections=11");
  if (links <= count) return;
  start_peers(links);
  long rss3 = bench::resident_bytes();
  for (std::size_t i = count; i < ids.size(); ++i) connect(ids[i]);
  long rss4 = bench::resident_bytes();
  a.report("coport", "remote.connection_bytes", static_cast<double>(rss4 - rss3) / (links - count),
           "bytes", "connections=" + std::to_string(links - count));
  a.report("coport", "remote.idle_cpu", idle_cpu_percent(), "%core",
           "connections=" + std::to_string(links + 1));
}

/// Remote monitors: resident bytes per monitor here, and per watch on the monitored node.
void monitor_bytes(const bench::args& a, node& local, const port_id& pong, long count) {
  auto ask = [&](auto&&... args) {
    std::promise<message> answer;
    local.cal(pong, std::forward<decltype(args)>(args)...,
              [&](reply r) { answer.set_value(r ? std::move(*r) : message{}); });
    return answer.get_future().get();
  };
  auto ids = std::get<0>(ask("make", count).as<std::vector<port_id>>());
  long remote0 = std::get<0>(ask("rss").as<long>());
  long local0 = bench::resident_bytes();
  std::vector<monitor> guards;  // counted too: a user keeps each guard somewhere
  guards.reserve(ids.size());
  for (const auto& id : ids) guards.push_back(local.mon(id, [](const reason&) {}));
  long remote1 = std::get<0>(ask("rss").as<long>());  // after the watches (same connection)
  long local1 = bench::resident_bytes();
  std::string params = "monitors=" + std::to_string(count);
  a.report("coport", "remote.monitor_bytes.local",
           static_cast<double>(local1 - local0) / static_cast<double>(count), "bytes", params);
  a.report("coport", "remote.monitor_bytes.remote",
           static_cast<double>(remote1 - remote0) / static_cast<double>(count), "bytes", params);
}

/// A peer frozen with SIGSTOP: how long until its monitors fire (default timing: heartbeat
/// 1 s, node timeout 3 s; the bound is the timeout plus one interval).
void detect_frozen(const bench::args& a, node& local, tp::tcp& t) {
  bench::other_process frozen{"remote_peer", "-frozen"};
  std::string address = frozen.word();
  auto pong = port_id::parse(frozen.word());
  frozen.word();
  t.add_peer("bench-remote-b-frozen", {address});
  std::promise<void> up, down;
  local.cal(*pong, "echo", 1L, [&](reply) { up.set_value(); });
  up.get_future().wait();
  auto guard = local.mon(*pong, [&](const reason&) { down.set_value(); });
  auto start = std::chrono::steady_clock::now();
  kill(frozen.pid, SIGSTOP);
  down.get_future().wait();
  a.report("coport", "remote.detect_frozen", bench::seconds_since(start) * 1e3, "ms",
           "heartbeat=1s,timeout=3s");
  kill(frozen.pid, SIGCONT);
}

}  // namespace

void remote_peer(int argc, char** argv) {
  // The node ID: bench-remote-b, or bench-remote-b<N> for the idle-connection measurement;
  // "-tls:CERT:KEY:CA" makes it bench-remote-b-tls, with TLS; "-auth" and "-aead" with the
  // secret (records authenticated; encrypted).
  std::string arg = argc > 2 ? argv[2] : "";
  tp::tcp_options o;
  o.binds = {"127.0.0.1:0"};
  if (arg == "-auth" || arg == "-aead") {
    o.secret = bench_secret;
    o.protocol.encrypt = arg == "-aead";
  }
  if (arg.rfind("-tls:", 0) == 0) {
    auto first = arg.find(':'), second = arg.find(':', first + 1),
         third = arg.find(':', second + 1);
    o.tls = {arg.substr(first + 1, second - first - 1), arg.substr(second + 1, third - second - 1),
             arg.substr(third + 1)};
    arg = "-tls";
  }
  std::string id = std::string{"bench-remote-b"} + arg;
  node n{one_thread(id.c_str())};
  tp::tcp t{n, o};
  auto pong = n.port();
  n.rcv(pong, "ping", [&](long i, port_id back) { n.snd(back, "pong", i); });
  n.rcv(pong, "pingb", [&](long i, port_id back, const std::vector<std::byte>& b) {
    n.snd(back, "pong", i + static_cast<long>(b.size() - b.size()));
  });
  n.rcv(pong, "echo", [&](long i, port_id back) { n.snd(back, "echo", i); });
  // For the monitor cost: makes ports (answers their IDs) and tells its resident bytes.
  std::vector<port_id> made;
  n.rcv(pong, "make", [&](long count, port_id back) {
    std::vector<port_id> ids;
    for (long i = 0; i < count; ++i) {
      ids.push_back(n.port([](message&) {}));
    }
    made.insert(made.end(), ids.begin(), ids.end());
    n.snd(back, "made", ids);
  });
  n.rcv(pong, "rss", [&](port_id back) { n.snd(back, "rss", bench::resident_bytes()); });
  n.rcv(pong, "rss_anon",
        [&](port_id back) { n.snd(back, "rss", bench::anonymous_resident_bytes()); });
  auto sink = n.port();
  n.rcv(sink, "n", [&](long i, port_id back) {
    if ((i + 1) % ack_every == 0) n.snd(back, "ack", i);
  });
  n.rcv(sink, "b", [&](long i, port_id back, const std::vector<std::byte>&) {
    if ((i + 1) % ack_every == 0) n.snd(back, "ack", i);
  });
  n.rcv(sink, "fin", [&](long last, port_id back) { n.snd(back, "ack", last); });
  std::cout << t.addresses().at(0) << " " << pong.to_string() << " " << sink.to_string()
            << std::endl;
  bench::wait_stdin();
}

void remote_floor_peer(int, char**) {
  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(lfd, 8) != 0)
    std::abort();
  socklen_t len = sizeof addr;
  getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len);
  std::cout << ntohs(addr.sin_port) << std::endl;
  std::thread server{[lfd] {
    for (;;) {
      int fd = accept(lfd, nullptr, nullptr);
      if (fd < 0) return;
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      std::thread{[fd] {
        floor_serve(fd);
        close(fd);
      }}.detach();
    }
  }};
  server.detach();
  bench::wait_stdin();
}

/// The same ping-pong and streams over TLS 1.3 (certificates made now, as the tests do).
/// The other node (`remote_peer` with `arg`), and what it printed: its address, its ping-pong
/// and sink ports.
struct peer_node {
  bench::other_process proc;
  std::string address;
  port_id pong, sink;
  explicit peer_node(std::string arg = {}) : proc{"remote_peer", std::move(arg)} {
    address = proc.word();
    auto p = port_id::parse(proc.word());
    auto s = port_id::parse(proc.word());
    if (!p || !s) std::abort();
    pong = *p;
    sink = *s;
  }
};

/// The ping-pongs, streams and cal again on links protected as `kind` says: "tls" (TLS 1.3,
/// certificates made now, as the tests do), "auth" (the secret: records authenticated) or
/// "aead" (the secret and encrypt: records encrypted).
void secured(const bench::args& a, const std::string& kind, long n, long stream, long big,
             long cals) {
  std::string label = "coport-" + kind, local_id = "bench-remote-a-" + kind;
  tp::tcp_options o;
  std::optional<coport::test::pki> ca;
  std::string peer_arg = "-" + kind;
  if (kind == "tls") {
    ca.emplace();
    auto mine = ca->issue(local_id), theirs = ca->issue("bench-remote-b-tls");
    peer_arg = "-tls:" + theirs.cert + ":" + theirs.key + ":" + ca->ca();
    o.tls = {mine.cert, mine.key, mine.ca};
  } else {
    o.secret = bench_secret;
    o.protocol.encrypt = kind == "aead";
  }
  peer_node peer{peer_arg};
  node local{one_thread(local_id.c_str())};
  o.peers["bench-remote-b-" + kind] = {peer.address};
  // The stream's two ack windows of 4 KiB messages (80 MB) exceed the default 64 MiB bound,
  // and TLS's one encrypting thread lets them queue: room for all, so that none is refused.
  o.protocol.max_queue = 256 << 20;
  tp::tcp t{local, o};
  a.report(label, "remote.pingpong", pingpong_us(local, peer.pong, 0, n), "us", "size=small");
  a.report(label, "remote.pingpong", pingpong_us(local, peer.pong, 4096, n), "us", "size=4KiB");
  a.report(label, "remote.stream", stream_rate(local, t, peer.sink, stream, 0), "msgs/s",
           "size=small");
  a.report(label, "remote.stream", stream_rate(local, t, peer.sink, big, 4096) * 4096 / 1e6, "MB/s",
           "size=4KiB");
  auto [p50, p99] = cal_us(local, peer.pong, cals);
  a.report(label, "remote.cal", p50, "us", "p50");
  a.report(label, "remote.cal", p99, "us", "p99");
  if (auto dropped = t.protocol().stats().messages_dropped) {
    std::fprintf(stderr, "# remote %s: %zu messages refused: the stream figures are void\n",
                 kind.c_str(), dropped);
  }
}

void plain(const bench::args& a, long n, long stream, long big, long cals);
void alternate(const bench::args& a, long n, long rounds);
void with_metrics(const bench::args& a, long rounds);

void remote(int argc, char** argv) {
  bench::args a{"remote",
                {{"n", 20'000},
                 {"stream", 2'000'000},
                 {"big", 50'000},
                 {"cal", 5'000},
                 {"plain", 1},      // 0: skip the floor and the links without a secret
                 {"extras", 1},     // 0: plain links without the floor, memory and freeze runs
                 {"links", 100},    // idle links for the memory and idle CPU runs (10 first)
                 {"alternate", 0},  // R > 0: only what the secret adds to a round trip (below)
                 {"metrics", 0},    // R > 0: only what an exporter being scraped costs (below)
                 {"metrics_stream", 2'000'000},  // its rounds' small and 4 KiB streams
                 {"metrics_big", 200'000},
                 {"secured", 7}},  // which protected links: 1 auth, 2 aead, 4 tls
                argc,
                argv,
                2};
  long n = a["n"], stream = a["stream"], big = a["big"], cals = a["cal"];
  std::string np = "n=" + std::to_string(n);
  if (a["metrics"]) {
    with_metrics(a, a["metrics"]);
    return;
  }
  if (a["alternate"]) {
    alternate(a, n, a["alternate"]);
    return;
  }
  if (a["plain"]) {
    plain(a, n, stream, big, cals);
  }
  const char* kinds[] = {"auth", "aead", "tls"};
  for (int i = 0; i < 3; ++i) {
    if (a["secured"] & (1 << i)) secured(a, kinds[i], n, stream, big, cals);
  }
}

/// The floor, then links without a secret: every measurement.
void plain(const bench::args& a, long n, long stream, long big, long cals) {
  if (a["extras"]) {
    bench::other_process floor_proc{"remote_floor_peer"};
    int port = std::stoi(floor_proc.word());
    a.report("tcp-floor", "remote.pingpong", floor_rtt_us(port, 8, n, false), "us", "size=small");
    a.report("tcp-floor", "remote.pingpong", floor_rtt_us(port, 4096, n, false), "us", "size=4KiB");
    a.report("tcp-floor-spin", "remote.pingpong", floor_rtt_us(port, 8, n, true), "us",
             "size=small");
    a.report("tcp-floor-spin", "remote.pingpong", floor_rtt_us(port, 4096, n, true), "us",
             "size=4KiB");
  }
  peer_node peer;
  node local{one_thread("bench-remote-a")};
  tp::tcp_options o;
  o.peers["bench-remote-b"] = {peer.address};
  // Room for the stream's two ack windows of 4 KiB messages (80 MB), as on the protected
  // links: with the default 64 MiB a loaded machine refused one and the stream waited for
  // its ack for ever.
  o.protocol.max_queue = 256 << 20;
  tp::tcp t{local, o};
  // Memory first: after the streams, freed buffers would be reused and hide what a
  // connection or a monitor costs.
  if (a["extras"]) {
    idle_connections(a, local, t, a["links"]);
    monitor_bytes(a, local, peer.pong, std::max(cals, 1000L) * 4);
  }
  a.report("coport", "remote.pingpong", pingpong_us(local, peer.pong, 0, n), "us", "size=small");
  a.report("coport", "remote.pingpong", pingpong_us(local, peer.pong, 4096, n), "us", "size=4KiB");
  a.report("coport", "remote.stream", stream_rate(local, t, peer.sink, stream, 0), "msgs/s",
           "size=small");
  a.report("coport", "remote.stream", stream_rate(local, t, peer.sink, big, 4096) * 4096 / 1e6,
           "MB/s", "size=4KiB");
  auto [p50, p99] = cal_us(local, peer.pong, cals);
  a.report("coport", "remote.cal", p50, "us", "p50");
  a.report("coport", "remote.cal", p99, "us", "p99");
  if (a["extras"]) detect_frozen(a, local, t);
  auto s = t.stats();
  std::fprintf(stderr, "# remote: %zu bytes sent, %zu received, %zu connections\n", s.bytes_sent,
               s.bytes_received, s.connections);
}

}  // namespace coport_bench

namespace coport_bench {

/// What the secret adds to a round trip, measured so that the machine's drift cancels: three
/// links from three nodes of this process (no secret, the secret, the secret and encrypt) to
/// three peer processes, and `rounds` rounds in which each link in turn makes n / rounds
/// ping-pongs (small, then 4 KiB). Reports each link's median over the rounds and the median of the
/// per-round differences to the link without a secret ("remote.pingpong.added"); then the
/// streams the same way ("remote.stream.kept": the median of the per-round throughput as a
/// share of plain's, in %).
void alternate(const bench::args& a, long n, long rounds) {
  struct link {
    std::string label;
    peer_node peer;
    node local;
    std::unique_ptr<tp::tcp> t;
    std::vector<double> us;
    link(std::string kind)
        : label(kind.empty() ? "coport" : "coport-" + kind),
          peer(kind.empty() ? std::string{} : "-" + kind),
          local(one_thread(("bench-remote-a" + (kind.empty() ? "" : "-" + kind)).c_str())) {
      tp::tcp_options o;
      o.protocol.max_queue = 256 << 20;  // the stream's two windows, as in the other runs
      if (!kind.empty()) {
        o.secret = bench_secret;
        o.protocol.encrypt = kind == "aead";
      }
      o.peers["bench-remote-b" + (kind.empty() ? "" : "-" + kind)] = {peer.address};
      t = std::make_unique<tp::tcp>(local, o);
    }
  };
  std::vector<std::unique_ptr<link>> links;
  for (const char* kind : {"", "auth", "aead"}) links.push_back(std::make_unique<link>(kind));
  long per_round = std::max(n / rounds, 100L);
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
  };
  for (std::size_t size : {std::size_t{0}, std::size_t{4096}}) {
    for (auto& l : links) {
      l->us.clear();
      pingpong_us(l->local, l->peer.pong, size, per_round);  // connects, warms
    }
    for (long r = 0; r < rounds; ++r) {
      for (auto& l : links) l->us.push_back(pingpong_us(l->local, l->peer.pong, size, per_round));
    }
    std::string params = std::string{size ? "size=4KiB" : "size=small"} +
                         ",alternating,rounds=" + std::to_string(rounds);
    for (auto& l : links) a.report(l->label, "remote.pingpong", median(l->us), "us", params);
    for (std::size_t i = 1; i < links.size(); ++i) {
      std::vector<double> added;
      for (long r = 0; r < rounds; ++r) added.push_back(links[i]->us[r] - links[0]->us[r]);
      a.report(links[i]->label, "remote.pingpong.added", median(added), "us", params);
    }
  }
  // The streams the same way: rounds of each link's stream in turn (two ack windows and
  // more per round), each link's median and the median of its per-round ratio to plain.
  for (std::size_t size : {std::size_t{0}, std::size_t{4096}}) {
    long count = size ? 4 * ack_every : 20 * ack_every;
    for (auto& l : links) l->us.clear();
    for (long r = 0; r < rounds; ++r) {
      for (auto& l : links) {
        double rate = stream_rate(l->local, *l->t, l->peer.sink, count, size);
        l->us.push_back(size ? rate * static_cast<double>(size) / 1e6 : rate);
      }
    }
    std::string params = std::string{size ? "size=4KiB" : "size=small"} +
                         ",alternating,rounds=" + std::to_string(rounds);
    const char* unit = size ? "MB/s" : "msgs/s";
    for (auto& l : links) a.report(l->label, "remote.stream", median(l->us), unit, params);
    for (std::size_t i = 1; i < links.size(); ++i) {
      std::vector<double> kept;
      for (long r = 0; r < rounds; ++r) kept.push_back(links[i]->us[r] / links[0]->us[r] * 100);
      a.report(links[i]->label, "remote.stream.kept", median(kept), "%", params);
    }
  }
}

/// What exposing the sending node (and its links) to Prometheus costs the streams: `rounds`
/// rounds, each a stream without and one with its exporter scraped every 100 ms,
/// alternating; each side's median and the median of the per-round ratio.
void with_metrics(const bench::args& a, long rounds) {
  peer_node peer;
  node local{one_thread("bench-remote-a")};
  tp::tcp_options o;
  o.peers["bench-remote-b"] = {peer.address};
  o.protocol.max_queue = 256 << 20;  // the stream's two windows, as in the other runs
  tp::tcp t{local, o};
  bench::scraped web{local, &t, std::chrono::milliseconds{100}};
  for (std::size_t size : {std::size_t{0}, std::size_t{4096}}) {
    const long count = size ? a["metrics_big"] : a["metrics_stream"];
    stream_rate(local, t, peer.sink, count, size);  // connects, warms
    std::vector<double> off, on, ratio;
    const long scrapes_before = web.scrapes();
    for (long r = 0; r < rounds; ++r) {
      const double scale = size ? static_cast<double>(size) / 1e6 : 1.0;
      off.push_back(stream_rate(local, t, peer.sink, count, size) * scale);
      web.active(true);
      on.push_back(stream_rate(local, t, peer.sink, count, size) * scale);
      web.active(false);
      ratio.push_back(on.back() / off.back() * 100);
    }
    const long scrapes = web.scrapes() - scrapes_before;
    std::string params = std::string{size ? "size=4KiB" : "size=small"} +
                         ",alternating,rounds=" + std::to_string(rounds);
    const char* unit = size ? "MB/s" : "msgs/s";
    a.report("coport", "remote.stream", bench::median(off), unit, params);
    a.report("coport-metrics", "remote.stream", bench::median(on), unit,
             params + ",scrapes=" + std::to_string(scrapes));
    a.report("coport-metrics", "remote.stream.kept", bench::median(ratio), "%", params);
  }
}

}  // namespace coport_bench
