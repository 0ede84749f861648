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
  static const tag ping{"ping"}, info{"info"};
  if ((m.tag() == ping || m.tag() == info) && m.size() >= 1 && m.holds<port_id>(m.size() - 1)) {
    port_id reply = m.get<port_id>(m.size() - 1);
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
}

}  // namespace coport::detail
