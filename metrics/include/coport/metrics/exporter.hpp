#pragma once
/// \file
/// coport::metrics::exporter — a node's figures for Prometheus, with health and readiness
/// (CAF's metrics exporter, Akka's management endpoints), over HTTP:
///
/// - `GET /metrics`: every exposed node's figures (read when scraped: nothing is counted for
///   the exporter on a message's path), labelled `node="ID"`, beside any prometheus-cpp
///   collectable the application adds, in Prometheus' text format (written by
///   prometheus-cpp's serializer);
/// - `GET /healthz`: 200 when every exposed node runs a probe handler within a second (its
///   threads are not all stuck), else 503 naming the node;
/// - `GET /readyz`: 200 when it is healthy and every node's readiness check says ready (for
///   a network member: listening, a seed reached, services started), else 503 with why.
///
/// ```cpp
/// coport::metrics::exporter web{"127.0.0.1:9464"};
/// auto exposed = web.expose({.node = n, .links = &links, .names = &names});
/// auto mine = std::make_shared<prometheus::Registry>();   // the application's own figures
/// web.expose(mine);
/// ```
/// Figures (each with `node`; link figures also with `peer`): ports alive and spawned,
/// messages handled and dropped (by reason: no port, link), nodes up; the transport's
/// messages, refused handshakes, bad frames; TCP connections, bytes, timeouts, dial
/// failures, read pauses; per link: up, connections, messages and bytes each way, bytes
/// queued; the registry's names, entries and updates; the groups' roles, epochs, items
/// delivered and held back (README "Metrics for Prometheus, health and readiness" has the
/// list).
/// Threading: thread-safe; scrapes run on the HTTP server's threads (two). Lifetime: what an
/// `expose` names must outlive the guard it returns (destroy the guard first); the exporter
/// may outlive the guards, and its destructor waits for scrapes in progress and for the
/// server's listening thread (up to 2 s: civetweb polls its sockets in 2 s quanta).

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "coport/node.hpp"
#include "coport/subscription.hpp"

namespace prometheus {
class Collectable;
}
namespace coport {
class registry;
namespace transport {
class tcp;
}
namespace groups {
class service;
}
}  // namespace coport

namespace coport::metrics {

/// What one node's figures are read from; each but the node may be null.
struct node_sources {
  coport::node& node;
  transport::tcp* links = nullptr;
  registry* names = nullptr;
  groups::service* groups = nullptr;
  /// Readiness: "" when ready, else why not (shown by /readyz); empty: ready when healthy.
  std::function<std::string()> not_ready = {};
};

/// Throws std::invalid_argument unless `bind` is an address `exporter` can listen on
/// ("host:port" with an IPv4 address, "[v6]:port", "*:port"; the port from 0 to 65535).
void check_address(std::string_view bind);

/// An HTTP endpoint serving /metrics, /healthz and /readyz.
class exporter {
 public:
  /// Listens on `bind` ("host:port", "[v6]:port", "*:port"; port 0 picks a free one).
  /// Throws std::invalid_argument for a malformed address and std::system_error when it
  /// cannot listen there.
  explicit exporter(std::string_view bind);
  ~exporter();
  exporter(const exporter&) = delete;
  exporter& operator=(const exporter&) = delete;

  /// Where it listens, with the port actually bound ("127.0.0.1:41234").
  std::string address() const;
  /// Exposes a node's figures (and makes it part of health and readiness) until the guard
  /// ends. A node exposed twice is refused (std::invalid_argument).
  subscription expose(node_sources sources);
  /// Adds the application's figures (a prometheus::Registry, or any collectable) to
  /// /metrics until the guard ends (or the collectable is destroyed).
  subscription expose(std::weak_ptr<prometheus::Collectable> figures);

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace coport::metrics
