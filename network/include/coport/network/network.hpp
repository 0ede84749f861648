#pragma once
/// \file
/// coport::network::membership — a node's place in a network, started from its settings
/// (AEMP's `configure`): TCP links (with TLS when configured), the mesh from its seeds, the
/// name registry, its log lines and spans served to catchers (coport/log_catcher.hpp,
/// coport/trace_catcher.hpp), the configured
/// services, and (with the `metrics` key) its figures, health and readiness over HTTP
/// (coport/metrics/exporter.hpp; ready: listening, a seed reached when it has seeds, and
/// its services started).
///
/// ```cpp
/// auto config = coport::network::config_file::load().resolve("seed");
/// coport::node n{coport::network::node_options_for(config)};
/// n.register_init("echo", ...);                  // before the network starts its services
/// coport::network::membership net{n, config};
/// auto guard = net.names().reg("echo", some_port);
/// ```
/// Threading: thread-safe. Lifetime: create after the node, destroy before it.

#include <memory>

#include "coport/log_catcher.hpp"
#include "coport/metrics/exporter.hpp"
#include "coport/network/config.hpp"
#include "coport/network/mesh.hpp"
#include "coport/node.hpp"
#include "coport/registry.hpp"
#include "coport/trace_catcher.hpp"
#include "coport/transport/tcp.hpp"

namespace coport::network {

/// The node options a configuration asks for (its node ID).
node_options node_options_for(const node_config& config, node_options base = {});
/// The TCP options a configuration asks for.
transport::tcp_options tcp_options_for(const node_config& config);

/// A node's place in the network.
class membership {
 public:
  /// Sets the log level, starts listening and seeding, the registry, then spawns each
  /// service on the node (an init registered beforehand). Throws std::invalid_argument
  /// (bad settings, a service that is no registered init) or std::system_error (a bind).
  membership(node& n, const node_config& config);
  ~membership();
  membership(const membership&) = delete;
  membership& operator=(const membership&) = delete;

  /// The settings it started from.
  const node_config& config() const noexcept;
  /// The TCP links.
  transport::tcp& links() noexcept;
  /// Seeds and discovery.
  coport::network::mesh& mesh() noexcept;
  /// The name registry.
  registry& names() noexcept;
  /// The ports of the services it spawned, in the configured order.
  const std::vector<port_id>& services() const noexcept;
  /// The HTTP endpoint of its figures (null without the `metrics` key): an application adds
  /// its groups (`expose` of the node is taken: use a second exporter, or none here) or its
  /// own prometheus-cpp figures to it.
  metrics::exporter* metrics() noexcept;
  /// "" when ready (listening, a seed reached if it has seeds, services started), else why
  /// not: what /readyz shows.
  std::string not_ready() const;

 private:
  node_config config_;
  std::unique_ptr<transport::tcp> links_;
  std::unique_ptr<coport::network::mesh> mesh_;
  std::unique_ptr<registry> names_;
  std::unique_ptr<log_service> logs_;
  std::unique_ptr<trace_service> traces_;
  std::vector<port_id> services_;
  std::unique_ptr<metrics::exporter> metrics_;
  subscription exposed_;
};

}  // namespace coport::network
