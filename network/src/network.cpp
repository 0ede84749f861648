// coport::network::membership — a node's links, mesh, registry and services from its settings.
#include "coport/network/network.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "coport/log.hpp"
#include "coport/network/schema.hpp"

namespace coport::network {

node_options node_options_for(const node_config& config, node_options base) {
  base.id = config.nodeid;
  base.measure.insert(base.measure.end(), config.measure.begin(), config.measure.end());
  return base;
}

transport::tcp_options tcp_options_for(const node_config& config) {
  transport::tcp_options o;
  if (!config.client) {  // a client listens nowhere
    o.binds = config.binds;
    o.advertise = config.advertise;
  }
  o.secret = config.secret;
  o.protocol.insecure = config.insecure;  // a short secret, accepted by the profile
  o.protocol.encrypt = config.encrypt;
  o.tls = config.tls;
  o.heartbeat_interval = config.heartbeat_interval;
  o.node_timeout = config.node_timeout;
  o.connect_timeout = config.connect_timeout;
  o.protocol.max_frame = config.max_frame;
  o.protocol.max_queue = config.max_queue;
  return o;
}

membership::membership(node& n, const node_config& config) : config_{config} {
  auto level = parse_log_level(config.log_level);
  if (!level) {
    throw std::invalid_argument{
        fmt::format("coport: log level '{}' is not one of off, error, "
                    "warn, info, debug, trace",
                    config.log_level)};
  }
  // The environment beats the file: COPORT_LOG, when set, keeps the level it named.
  if (!log_level_from_environment()) set_log_level(*level);
  for (const auto& s : config.services) {
    if (!n.has_init(s)) {
      throw std::invalid_argument{fmt::format(
          "coport: service '{}' is not an init registered on node {} (register_init first)", s,
          n.id())};
    }
  }
  // The metrics address first: one that is taken fails before anything has started.
  if (!config.metrics.empty()) metrics_ = std::make_unique<metrics::exporter>(config.metrics);
  auto links = tcp_options_for(config);
  // A build that gives a registered type another structure is refused at the handshake.
  check_schemas_in_handshake(links.protocol);
  links_ = std::make_unique<transport::tcp>(n, links);
  names_ = std::make_unique<registry>(n);
  logs_ = std::make_unique<log_service>(n);
  traces_ = std::make_unique<trace_service>(n);
  mesh_options m;
  m.seeds = config.seeds;
  m.client = config.client;
  mesh_ = std::make_unique<coport::network::mesh>(n, *links_, std::move(m));
  for (const auto& s : config.services) services_.push_back(n.spawn(n.id(), s));
  if (metrics_) {
    // Exposed once the services are spawned: "services started" holds from then on.
    exposed_ = metrics_->expose(
        {.node = n, .links = links_.get(), .names = names_.get(), .not_ready = [this] {
           return not_ready();
         }});
  }
}

membership::~membership() {
  exposed_.cancel();
  metrics_.reset();
  mesh_.reset();
  traces_.reset();
  logs_.reset();
  names_.reset();
  links_.reset();
}

const node_config& membership::config() const noexcept {
  return config_;
}
transport::tcp& membership::links() noexcept {
  return *links_;
}
coport::network::mesh& membership::mesh() noexcept {
  return *mesh_;
}
registry& membership::names() noexcept {
  return *names_;
}
const std::vector<port_id>& membership::services() const noexcept {
  return services_;
}
metrics::exporter* membership::metrics() noexcept {
  return metrics_.get();
}

std::string membership::not_ready() const {
  if (links_->addresses().empty() && !config_.client) return "not listening";
  if (config_.seeds.empty()) return {};
  for (const auto& s : mesh_->seeds()) {
    if (s.up || s.self) return {};
  }
  return fmt::format("no seed reached yet ({})", fmt::join(config_.seeds, ", "));
}

}  // namespace coport::network
