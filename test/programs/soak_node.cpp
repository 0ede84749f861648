// A node of the chaos soak (test/network/chaos_soak_test.cpp): TCP on loopback, the mesh and
// the registry, and traffic that the soak's checkers read back from the node's log:
//   - a sink port, registered under "soak/sink": "R <stream> <seq>" for each message;
//   - a talker that every 2 ms sends the next number of its stream to some other node's sink,
//     under a monitor on that sink made before the send (again once it ran, unless the sink
//     ended): "S <stream> <seq>" before each send, "M <stream>" when the monitor ran;
//   - every 10th tick a cal to another node's "soak.echo" service with a 1 s timeout:
//     "C <id>" before, "A <id> ok|none" when answered (once, the checker says);
//   - with --next NODE, a supervisor whose worker prefers NODE (else this node): "W <worker>
//     <node>" each time the worker starts;
//   - a member of the ordered group "soak" (made by the node started with --create, its
//     standbys on the --standby nodes, a quorum group with --quorum 1): "J <member>" once its join
//     was ordered, "G <member> <msg>" for each group message, "L <member> <reason>" when it was
//     removed (a new member joins then), "N <member> <error>" when a join failed (another is tried
//     100 ms later); and every 5th tick the talker sends the group its next message: "P <msg>"
//     before, "Q <msg> <error>" when send refused it, "F <msg> <reason>" when it was
//     reported failed.
// stdin: "quiet" stops the group sends; "unconfirmed" prints "unconfirmed N" (the group
// sends not confirmed yet).
// Each line starts with CLOCK_MONOTONIC nanoseconds (one clock for every process on the
// host) and is written with one write(2), so a kill -9 leaves at most a torn last line.
//
// Usage: coport_soak_node --id ID --bind ADDR --log FILE [--seed ADDR]... [--next NODE]
//        [--create 1] [--standby NODE]... [--quorum 1] [--heartbeat MS] [--timeout MS]
// Prints "ready ADDR"; exits when stdin closes (writing "E" first).
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <coport/coport.hpp>
#include <coport/groups/groups.hpp>
#include <coport/network/mesh.hpp>
#include <coport/registry.hpp>
#include <coport/transport/tcp.hpp>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <future>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

using namespace coport;

namespace {

int log_fd = -1;
std::mutex log_mutex;

void log_line(const std::string& text) {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  std::string line =
      std::to_string(static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec) + " " +
      text + "\n";
  std::lock_guard lock{log_mutex};
  if (::write(log_fd, line.data(), line.size()) < 0) std::abort();
}

struct target {
  std::uint64_t next = 1;
  monitor watch;
  bool ended = false;
};

}  // namespace

int main(int argc, char** argv) {
  std::string id, bind, log_path, next_node;
  bool create = false, quorum = false;
  std::vector<std::string> standbys;
  transport::tcp_options options;
  options.heartbeat_interval = std::chrono::milliseconds{100};
  options.node_timeout = std::chrono::milliseconds{1000};
  network::mesh_options mo;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string key = argv[i], value = argv[i + 1];
    if (key == "--id") {
      id = value;
    } else if (key == "--bind") {
      bind = value;
    } else if (key == "--log") {
      log_path = value;
    } else if (key == "--seed") {
      mo.seeds.push_back(value);
    } else if (key == "--heartbeat") {
      options.heartbeat_interval = std::chrono::milliseconds{std::stoi(value)};
    } else if (key == "--next") {
      next_node = value;
    } else if (key == "--create") {
      create = value == "1";
    } else if (key == "--quorum") {
      quorum = value == "1";
    } else if (key == "--standby") {
      standbys.push_back(value);
    } else if (key == "--timeout") {
      options.node_timeout = std::chrono::milliseconds{std::stoi(value)};
    } else {
      std::cerr << "coport_soak_node: unknown option " << key << "\n";
      return 2;
    }
  }
  if (id.empty() || bind.empty() || log_path.empty()) {
    std::cerr << "usage: coport_soak_node --id ID --bind ADDR --log FILE [--seed ADDR]...\n";
    return 2;
  }
  log_fd = ::open(log_path.c_str(), O_WRONLY | O_APPEND | O_CREAT, 0666);
  if (log_fd < 0) {
    std::cerr << "coport_soak_node: cannot open " << log_path << "\n";
    return 1;
  }
  // coport's own lines go into the same log ("Z", which the checkers skip), at info unless
  // COPORT_LOG says otherwise, and to stderr at warn as before: what a failed run is read by.
  if (!std::getenv("COPORT_LOG")) set_log_level(log_level::info);
  set_log_sink([](const log_record& r) {
    log_line("Z " + format_log_line(r));
    if (r.level <= log_level::warn) std::cerr << format_log_line(r) << "\n";
  });
  options.binds = {bind};
  node_options no;
  no.id = id;
  no.threads = 2;
  node n{no};
  transport::tcp links{n, options};
  registry names{n};
  network::mesh peers{n, links, mo};
  groups::service_options go;
  go.on_send_failed = [](const groups::send_failure& f) {
    const auto* msg = f.payload.size() > 2 && f.payload.holds<std::string>(2)
                          ? &f.payload.get<std::string>(2)
                          : nullptr;
    log_line("F " + (msg ? *msg : std::string{"?"}) + " " + std::string{f.why.kind()});
  };
  groups::service pg{n, names, go};

  auto sink = n.port();
  n.rcv(sink, "seq", [](std::string stream, std::uint64_t seq) {
    log_line("R " + stream + " " + std::to_string(seq));
  });
  auto keep_sink = names.reg("soak/sink", sink);
  auto echo = n.port();
  n.rcv(echo, "soak.echo", [&n](port_id reply) { n.snd(reply, "ok"); });
  auto serving = n.serve("soak.echo", echo);

  // A supervised worker: node i's supervisor keeps one worker, on the next node if it is up,
  // else here; each start is logged "W <worker> <node>" (the soak's failover times).
  n.register_init("soak.worker", [&n](std::string worker) {
    log_line("W " + worker + " " + n.id());
    n.rcv(self(), "ping", [] {});
  });
  port_id sup;
  if (!next_node.empty()) {
    supervisor_spec spec;
    spec.max_restarts = 1000;
    spec.period = std::chrono::seconds{1};
    spec.backoff_initial = std::chrono::milliseconds{50};
    spec.backoff_max = std::chrono::milliseconds{500};
    const std::string worker = "w-" + id;
    spec.children.push_back(child_spec::of(worker, "soak.worker", worker).on({next_node, id}));
    sup = start_supervisor(n, std::move(spec));
  }

  // The group; its member (one removed, its node cut off too long, ..., is followed by a new
  // one).
  if (create) {
    const auto made = pg.create("soak", {.standbys = standbys, .quorum = quorum});
    if (!made) log_line("X create " + std::string{groups::describe(made.error)});
  }
  // One port makes the members and joins them (so that it ends, with their callbacks, before
  // the groups service does).
  auto joiner = n.port();
  n.rcv(joiner, "join", [&n, &pg, joiner] {
    auto member = n.port();
    const std::string me = member.to_string();
    n.rcv(member, groups::message_tag(),
          [me](port_id, std::string, std::string msg) { log_line("G " + me + " " + msg); });
    n.rcv(member, groups::member_left_tag(),
          [&n, joiner, me, member](std::string, port_id who, reason left_why) {
            if (who != member) return;
            log_line("L " + me + " " + std::string{left_why.kind()});
            n.kil(member);
            n.snd(joiner, "join");
          });
    const auto e = pg.join("soak", member, [&n, joiner, me, member](groups::join_result r) {
      if (r.error == groups::errc::ok) {
        log_line("J " + me);
        return;
      }
      log_line("N " + me + " " + std::string{groups::describe(r.error)});
      n.kil(member);
      n.after(std::chrono::milliseconds{100}, joiner, "join");
    });
    if (e != groups::errc::ok) {
      log_line("N " + me + " " + std::string{groups::describe(e)});
      n.kil(member);
      n.after(std::chrono::milliseconds{100}, joiner, "join");
    }
  });
  n.snd(joiner, "join");

  auto talker = n.port();
  auto targets = std::make_shared<std::map<port_id, target>>();
  auto rng = std::make_shared<std::mt19937_64>(std::random_device{}());
  auto ticks = std::make_shared<std::uint64_t>(0);
  auto beats = std::make_shared<std::uint64_t>(0);
  std::atomic<bool> quiet{false};
  n.rcv(talker, groups::send_failed_tag(), [](std::string, reason) {});  // (F: on_send_failed)
  n.rcv(talker, "tick", [&n, &names, &pg, &quiet, talker, targets, rng, ticks, beats] {
    n.after(std::chrono::milliseconds{2}, talker, "tick");
    if (++*beats % 5 == 0 && !quiet.load()) {
      const std::string msg = talker.to_string() + "/g" + std::to_string(*beats / 5);
      log_line("P " + msg);
      if (auto e = pg.send("soak", msg); e != groups::errc::ok) {
        log_line("Q " + msg + " " + groups::describe(e));
      }
    }
    std::vector<port_id> others;
    for (const auto& p : names.get("soak/sink")) {
      if (!n.is_local(p)) others.push_back(p);
    }
    if (others.empty()) return;
    const port_id to = others[(*rng)() % others.size()];
    auto& t = (*targets)[to];
    if (t.ended) return;
    const std::string stream = talker.to_string() + ">" + to.to_string();
    if (!t.watch) {
      t.watch = n.mon(to, [stream, &t](const reason& why) {
        log_line("M " + stream);
        t.watch.release();
        t.ended = why.kind() != "transport_error";
      });
    }
    log_line("S " + stream + " " + std::to_string(t.next));
    n.snd(to, "seq", stream, t.next++);
    if (++*ticks % 10 == 0) {
      const std::string call = talker.to_string() + "/" + std::to_string(*ticks);
      auto node_port = port_id::parse(to.node());
      if (!node_port) return;
      log_line("C " + call);
      n.cal(
          *node_port, "soak.echo",
          [call](reply r) {
            log_line("A " + call + (r && r->tag() == tag{"ok"} ? " ok" : " none"));
          },
          std::chrono::seconds{1});
    }
  });
  std::cout << "ready " << links.addresses().at(0) << std::endl;
  n.snd(talker, "tick");

  std::string line;
  while (std::getline(std::cin, line)) {
    if (line == "quiet") quiet = true;
    if (line == "unconfirmed") std::cout << "unconfirmed " << pg.stats().unconfirmed << std::endl;
  }
  // The talker and the joiner use the registry and the groups: they end (after a handler that
  // runs now) before those do.
  for (const auto& p : {talker, joiner}) {
    std::promise<void> ended;
    auto watch = n.mon(p, [&ended](const reason&) { ended.set_value(); });
    n.kil(p);
    ended.get_future().wait_for(std::chrono::seconds{5});  // its teardown, after its handler
  }
  if (sup) n.snd(sup, "stop");
  log_line("E");
  return 0;
}
