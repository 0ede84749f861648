// coport::node_link — the node's end of its links: what a transport reports (messages that
// arrived, remote deaths, nodes up and lost, spawns from other nodes). See coport/remote.hpp.
#include <fmt/format.h>

#include "coport/detail/interner.hpp"
#include "coport/internal/log.hpp"
#include "coport/remote.hpp"
#include "node_core.hpp"

namespace coport {

using detail::port_impl;

bool node_link::deliver(const port_id& to, message msg) const {
  if (!msg) return true;
  if (!core_->is_local(to)) {
    detail::log(detail::log_level::debug, {"runtime", core_->id()},
                "a link delivered a message for {}, not here", to.to_string());
    core_->sends().count_drop();
    return false;
  }
  // A served tag of the node port goes straight to its service: one dispatch, not two.
  port_id target = to;
  if (to.is_node_port()) {
    if (port_id service = core_->own_port().service_for(msg.tag())) target = service;
  }
  if (core_->tracer().filtering()) [[unlikely]] {  // a trace may start where it arrives
    detail::message_block* n = msg.get_block();
    if (n->kind == detail::message_kind::user) {
      const port_id from = msg.origin();
      core_->tracer().start(target, n, &from);
    }
  }
  if (port_impl* p = core_->acquire(target)) {
    core_->sends().push_then_release(p, msg.release());
    return true;
  }
  core_->sends().count_drop();
  return false;
}

bool node_link::deliver(const port_id& to, message msg, std::string_view origin) const {
  return deliver_from(to, std::move(msg), detail::node_names().find(origin));
}

bool node_link::deliver_from(const port_id& to, message msg, std::uint32_t origin) const {
  if (!msg) return true;
  if (origin == 0 || origin > detail::max_origin) {
    detail::log(detail::log_level::debug, {"runtime", core_->id()},
                "a link delivered a message for {} from a node it cannot name", to.to_string());
    core_->sends().count_drop();
    return false;
  }
  msg.get_block()->origin = origin;
  if (origin < detail::inbound_slots) {
    detail::inbound_counts[origin].fetch_add(1, std::memory_order_relaxed);  // until destroyed
  }
  return deliver(to, std::move(msg));
}

bool node_link::remote_port_died(const port_id& port, const reason& why,
                                 detail::unique_function<void()> after) const {
  return core_->remote().port_died(port, why, std::move(after));
}

void node_link::remote_node_up(std::string_view node_id) const {
  if (!valid_node_id(node_id)) return;
  core_->events().up(node_id);
}

void node_link::remote_node_lost(std::string_view node_id, const reason& why,
                                 detail::unique_function<void()> after) const {
  if (!valid_node_id(node_id)) {
    if (after) core_->post_job(std::move(after));  // no monitor can be on its ports
    return;
  }
  core_->remote().node_lost(detail::node_names().intern(node_id), why, std::move(after));
  core_->events().down(node_id, why);
}

port_id node_link::accept_spawn(std::uint64_t local, std::string_view init, message args,
                                detail::unique_function<void(const reason&)> on_death,
                                std::string_view origin, reason* refused) const {
  auto refuse = [&](reason why) {
    if (refused) *refused = std::move(why);
    return port_id{};
  };
  auto in_use = [] { return reason{"spawn_failed", "the port number is in use or invalid"}; };
  if (!(local & detail::port_table::minted_bit) || init.empty()) return refuse(in_use());
  port_id named = detail::make_port_id(core_->node_number(), local, core_->incarnation());
  if (!core_->inits().has(init)) {
    // No port is made for a name nobody registered; a monitor made later on that port (the
    // spawning node's, through its link) still learns why, unless the number is in use.
    if (detail::port_impl* alive = core_->acquire(named, /*accept_killed=*/true)) {
      core_->release(alive);
      return refuse(in_use());
    }
    reason why{"no_such_init", fmt::format("no init function named '{}'", init.substr(0, 256))};
    core_->inits().record_death(local, why);
    return refuse(std::move(why));
  }
  if (!origin.empty()) {
    if (std::string full = core_->inits().take_place(origin, init); !full.empty()) {
      return refuse(reason{"spawn_failed", std::move(full)});
    }
  }
  detail::port_impl* p = core_->create_minted_port(local);
  if (!p) {
    if (!origin.empty()) core_->inits().give_back(origin, init);
    return refuse(in_use());
  }
  port_id id = core_->id_of(p);
  if (!origin.empty()) {
    // The origin's place comes back when the port dies.
    auto give_back = [core = core_->weak_from_this(), from = std::string{origin},
                      name = std::string{init}](const reason&) {
      if (auto c = core.lock()) c->inits().give_back(from, name);
    };
    core_->monitors().add(id, std::move(give_back)).release();
  }
  if (on_death) core_->monitors().add(id, std::move(on_death)).release();
  core_->start_init(p, init, std::move(args));
  return id;
}

port_id node_link::refuse_spawn(std::uint64_t local, reason why,
                                detail::unique_function<void(const reason&)> on_death) const {
  if (!(local & detail::port_table::minted_bit)) return {};
  detail::port_impl* p = core_->create_minted_port(local);
  if (!p) return {};
  port_id id = core_->id_of(p);
  if (on_death) core_->monitors().add(id, std::move(on_death)).release();
  core_->inits().record_death(local, why);
  core_->kill(p, std::move(why));  // consumes the caller's reference
  return id;
}

}  // namespace coport
