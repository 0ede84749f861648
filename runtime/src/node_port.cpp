// The node port's handler: ping, info and the services (see node_port.hpp).
#include "node_port.hpp"

#include <chrono>

#include "coport/internal/log.hpp"
#include "node_core.hpp"

namespace coport::detail {

bool node_port::add_service(tag t, const port_id& port) {
  std::lock_guard lock{mutex_};
  return services_.emplace(t, port).second;
}

void node_port::remove_service(tag t, const port_id& port) noexcept {
  std::lock_guard lock{mutex_};
  if (auto it = services_.find(t); it != services_.end() && it->second == port) services_.erase(it);
}

port_id node_port::service_for(tag t) const {
  std::lock_guard lock{mutex_};
  auto it = services_.find(t);
  return it == services_.end() ? port_id{} : it->second;
}

void node_port::on_message(message& m) {
  static const tag ping{"ping"}, info{"info"}, badrpc{"badrpc"};
  // A request made with `cal` ends with its reply port. Answers go only to a port of the node
  // the request came from (this node's, for a local one): a peer cannot aim them at a third.
  port_id reply;
  if (m.size() >= 1 && m.holds<port_id>(m.size() - 1)) {
    reply = m.get<port_id>(m.size() - 1);
    const port_id origin = m.origin();
    if (origin ? reply.node_number() != origin.node_number() : !core_.is_local(reply)) {
      reply = port_id{};
    }
  }
  if ((m.tag() == ping || m.tag() == info) && reply) {
    if (m.tag() == ping) {
      auto uptime =
          std::chrono::duration_cast<std::chrono::milliseconds>(core_.now() - core_.started());
      core_.sends().send(reply, make_payload(ping, core_.id(), core_.incarnation(),
                                             static_cast<std::int64_t>(uptime.count())));
    } else {
      node_stats st = core_.stats();
      core_.sends().send(reply, make_payload(info, static_cast<std::uint64_t>(st.ports_alive),
                                             static_cast<std::uint64_t>(st.messages_dropped),
                                             core_.events().up_nodes()));
    }
    return;
  }
  if (port_id service = service_for(m.tag())) {
    core_.sends().send(service, m.release());
    return;
  }
  log(log_level::info, {"runtime", core_.id()}, "ignoring node-port request {}", m.describe());
  // A `cal` gets an answer that says so, not silence and a timeout (Erlang's badrpc).
  if (reply) {
    core_.sends().send(reply, make_payload(badrpc, reason{"no_such_service", m.describe()}));
  }
}

}  // namespace coport::detail
