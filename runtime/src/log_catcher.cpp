// AEMP's LogCatcher (coport/log_catcher.hpp): a node serves its log lines to the catchers
// that ask, through the node-port service `coport.logs`.
//
// The protocol, all of it:
//   catcher -> node port (coport.logs):   catch_msg   (catcher port, level)
//   service -> catcher:                    line_msg    (level, component, node, port, text,
//                                                       time in ns since the epoch, suppressed)
//   the service's own monitor (local only): gone_msg  (catcher port, reason)
// A catch ends when the catcher's port dies (its guard kills it): the monitor forgets it.
// A catcher is a port of the node that asks (its link says which), never a node port: a
// peer cannot aim this node's lines at a third node or back at this one. Each asking node
// has at most max_catchers_per_node of the max_catchers places; a line's text is cut at
// max_line bytes; a catcher takes lines only from the node it caught, named by the link.
//
// How a line gets out: the log pipeline calls the service's tap (log.cpp, under its lock, one
// line at a time), which copies the line into `waiting` (bounded) and, when it was empty,
// wakes the service's port; the port sends what waits to its catchers. The tap takes no
// other lock and sends nothing itself, so logging never waits for a link.
#include "coport/log_catcher.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "coport/dispatch_table.hpp"
#include "coport/internal/catching.hpp"
#include "coport/internal/log.hpp"
#include "coport/internal/refusals.hpp"
#include "coport/internal/service.hpp"
#include "coport/message_type.hpp"

namespace coport {

namespace {

const message_type<port_id, std::uint8_t> catch_msg{"coport.logs"};
const message_type<std::uint8_t, std::string, std::string, port_id, std::string, std::int64_t,
                   std::uint64_t>
    line_msg{"coport.logs.line"};
const message_type<port_id, reason> gone_msg{"coport.logs.gone", local_only};

/// A line copied out of the log pipeline, waiting for the service's port.
struct waiting_line {
  log_level level;
  std::string component, text;
  port_id port;
  std::int64_t time_ns;
  std::uint64_t suppressed;
};

}  // namespace

struct log_service::state : std::enable_shared_from_this<state> {
  explicit state(node& n) : owner{n}, own_id{n.id()} {}

  node& owner;
  const std::string own_id;
  port_id self_port;     // set by open_service
  subscription service;  // the node-port tag
  std::uint64_t tap = 0;

  // Shared between the tap and the port.
  detail::waiting_list<waiting_line> waiting{max_waiting};
  std::atomic<bool> caught{false};  ///< some catcher is there (the tap copies nothing else)

  // The port's context only.
  std::map<port_id, std::pair<log_level, monitor>> catchers;
  detail::catcher_places places{max_catchers, max_catchers_per_node};
  detail::refusals refused{"runtime", own_id, "the log service", "the log protocol"};
  dispatch_table table = make_table();

  dispatch_table make_table() {
    dispatch_table t;
    t.on(catch_msg, [this](message& m, port_id& catcher, std::uint8_t& level) {
      if (level > static_cast<std::uint8_t>(log_level::trace)) {
        return refused.note(m, "its level is none");
      }
      auto it = catchers.find(catcher);
      if (const char* why = places.admit(m, catcher, self_port, owner, it != catchers.end())) {
        return refused.note(m, why);
      }
      if (it != catchers.end()) {
        it->second.first = static_cast<log_level>(level);
        return;
      }
      catchers.emplace(catcher, std::make_pair(static_cast<log_level>(level),
                                               owner.mon(catcher, self_port, gone_msg, catcher)));
      caught.store(true, std::memory_order_relaxed);
    });
    t.on(gone_msg, [this](message&, port_id& catcher, reason&) {
      if (catchers.erase(catcher)) places.release(catcher);
      caught.store(!catchers.empty(), std::memory_order_relaxed);
    });
    return t;
  }

  void start() {}
  void on_message(message& m) { refused.take(table, m); }

  /// The tap: under the log pipeline's lock; copies, and wakes the port when it was idle.
  void take(const log_record& r) {
    if (!caught.load(std::memory_order_relaxed)) return;
    const bool wake = waiting.add([&] {
      return waiting_line{
          r.level,
          std::string{r.component},
          std::string{r.text.substr(0, max_line)},
          r.port,
          std::chrono::duration_cast<std::chrono::nanoseconds>(r.time.time_since_epoch()).count(),
          r.suppressed};
    });
    if (wake) {
      owner.peval(self_port, [weak = weak_from_this()] {
        if (auto self = weak.lock()) self->send_waiting();
      });
    }
  }

  /// In the port's context: what waits goes to the catchers that want it.
  void send_waiting() {
    auto [lines, dropped] = waiting.take();
    for (auto& l : lines) {
      l.suppressed += std::exchange(dropped, 0);
      for (const auto& [catcher, entry] : catchers) {
        if (l.level > entry.first) continue;
        owner.snd(catcher, line_msg, static_cast<std::uint8_t>(l.level), l.component, own_id,
                  l.port, l.text, l.time_ns, l.suppressed);
      }
    }
  }
};

log_service::log_service(node& n) : node_{n}, state_{std::make_shared<state>(n)} {
  detail::open_service(n, catch_msg.tag(), state_);
  state_->tap =
      detail::add_log_tap(n.id(), [weak = std::weak_ptr<state>{state_}](const log_record& r) {
        if (auto self = weak.lock()) self->take(r);
      });
}

log_service::~log_service() {
  detail::remove_log_tap(state_->tap);
  detail::close_service(node_, state_);
}

subscription catch_logs(node& n, std::string_view node_id, log_level level,
                        std::function<void(const log_record&)> on_line) {
  if (!valid_node_id(node_id)) {
    throw std::invalid_argument{"coport: catch_logs: '" + std::string{node_id} +
                                "' is not a node ID"};
  }
  if (!on_line) throw std::invalid_argument{"coport: catch_logs: no callback"};
  // Lines count only from the node caught, as its link names it (this node: a local send).
  port_id catcher = detail::catcher_port(
      n, node_id, [fn = std::move(on_line), caught = std::string{node_id}](message& m) {
        if (!line_msg.matches(m)) return;  // nothing else is sent here
        auto& [lv, component, named_node, port, text, ns, suppressed] = line_msg.values(m);
        if (lv > static_cast<std::uint8_t>(log_level::trace)) return;
        log_record r;
        r.level = static_cast<log_level>(lv);
        r.component = component;
        r.node = caught;  // the link's word, not the message's (named_node)
        r.port = port;
        r.text = text;
        r.time = std::chrono::system_clock::time_point{
            std::chrono::duration_cast<std::chrono::system_clock::duration>(
                std::chrono::nanoseconds{ns})};
        r.suppressed = suppressed;
        fn(r);
      });
  n.snd(port_id{node_id, 0}, catch_msg, catcher, static_cast<std::uint8_t>(level));
  return subscription{[&n, catcher] { n.kil(catcher); }};
}

}  // namespace coport
