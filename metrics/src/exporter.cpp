// metrics::exporter — /metrics, /healthz and /readyz over civetweb (Debian's libcivetweb-dev,
// the HTTP server prometheus-cpp's own exposer is built on); the text is prometheus-cpp's.
#include "coport/metrics/exporter.hpp"

#include <CivetServer.h>
#include <prometheus/collectable.h>
#include <prometheus/text_serializer.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <shared_mutex>
#include <stdexcept>
#include <system_error>
#include <vector>

#include "coport/internal/log.hpp"
#include "figures.hpp"

namespace coport::metrics {

namespace {

/// How long a node has to run the health probe.
constexpr auto probe_timeout = std::chrono::seconds{1};

/// civetweb's form of a bind ("127.0.0.1:9464", "[::1]:9464", "9464" for every IPv4
/// address), or throws std::invalid_argument.
std::string listening_port(std::string_view bind) {
  auto bad = [&](const char* why) {
    return std::invalid_argument{
        fmt::format("coport: metrics address '{}': {} (host:port, [v6]:port or *:port, with "
                    "an IP address)",
                    bind, why)};
  };
  const auto colon = bind.rfind(':');
  if (colon == std::string_view::npos || colon == 0) throw bad("no host:port");
  const std::string_view host = bind.substr(0, colon), port = bind.substr(colon + 1);
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || value > 65535) {
    throw bad("the port is not a number from 0 to 65535");
  }
  if (host == "*") return std::string{port};
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') throw bad("an unclosed [");
    if (host.find_first_not_of("0123456789abcdefABCDEF:.", 1) != host.size() - 1) {
      throw bad("not an IPv6 address");
    }
    return std::string{bind};
  }
  if (host.find_first_not_of("0123456789.") != std::string_view::npos) {
    throw bad("not an IPv4 address");
  }
  return std::string{bind};
}

/// One-shot flag a probe closure sets on the node.
struct probe {
  std::mutex mutex;
  std::condition_variable done;
  bool ran = false;
};

}  // namespace

void check_address(std::string_view bind) {
  (void)listening_port(bind);
}

struct exporter::impl {
  struct exposed {
    std::uint64_t id;
    node_sources sources;
    port_id probe_port;
  };

  /// Scrapes hold it shared while they read what is exposed; `expose`'s guards hold it
  /// alone to remove an entry (so its sources are not read after the guard ends).
  std::shared_mutex mutex;
  std::vector<std::unique_ptr<exposed>> nodes;  // node_sources holds a reference: not movable
  std::vector<std::pair<std::uint64_t, std::weak_ptr<prometheus::Collectable>>> collectables;
  std::uint64_t next_id = 0;

  std::string metrics_text() {
    detail::figures f;
    std::vector<std::shared_ptr<prometheus::Collectable>> extra;
    {
      std::shared_lock lock{mutex};
      for (const auto& e : nodes) f.add_node(e->sources);
      for (const auto& [id, weak] : collectables) {
        if (auto c = weak.lock()) extra.push_back(std::move(c));
      }
    }
    for (const auto& c : extra) f.add(c->Collect());
    return prometheus::TextSerializer{}.Serialize(f.take());
  }

  /// "" when every node ran a probe in time, else which did not. The probes are posted under
  /// the lock and awaited without it, all against one deadline (a node's own thread may be
  /// the one removing it meanwhile).
  std::string unhealthy() {
    std::vector<std::pair<std::string, std::shared_ptr<probe>>> sent;
    {
      std::shared_lock lock{mutex};
      for (const auto& e : nodes) {
        auto p = std::make_shared<probe>();
        e->sources.node.peval(e->probe_port, [p] {
          std::lock_guard l{p->mutex};
          p->ran = true;
          p->done.notify_all();
        });
        sent.emplace_back(e->sources.node.id(), std::move(p));
      }
    }
    const auto deadline = std::chrono::steady_clock::now() + probe_timeout;
    std::string out;
    for (auto& entry : sent) {
      const std::string& id = entry.first;
      const std::shared_ptr<probe>& p = entry.second;  // (clang 14: no binding in a lambda)
      std::unique_lock l{p->mutex};
      if (!p->done.wait_until(l, deadline, [&] { return p->ran; })) {
        out += fmt::format("node {}: no thread ran a probe within {} ms\n", id,
                           std::chrono::milliseconds{probe_timeout}.count());
      }
    }
    return out;
  }

  /// "" when healthy and every node says it is ready, else why not.
  std::string not_ready() {
    std::string out = unhealthy();
    std::shared_lock lock{mutex};
    for (const auto& e : nodes) {
      if (!e->sources.not_ready) continue;
      std::string why = e->sources.not_ready();
      if (!why.empty()) out += fmt::format("node {}: {}\n", e->sources.node.id(), why);
    }
    return out;
  }

  /// One GET path.
  class page final : public CivetHandler {
   public:
    page(impl& owner, std::string (impl::*text)(), bool status_page)
        : owner_{owner}, text_{text}, status_page_{status_page} {}
    bool handleGet(CivetServer*, mg_connection* conn) override {
      try {
        std::string body = (owner_.*text_)();
        if (status_page_ && !body.empty()) {
          mg_send_http_error(conn, 503, "%s", body.c_str());
          return true;
        }
        if (status_page_) body = "ok\n";
        const char* type =
            status_page_ ? "text/plain; charset=utf-8" : "text/plain; version=0.0.4; charset=utf-8";
        mg_send_http_ok(conn, type, static_cast<long long>(body.size()));
        mg_write(conn, body.data(), body.size());
      } catch (const std::exception& e) {
        mg_send_http_error(conn, 500, "%s\n", e.what());
      } catch (...) {
        // Nothing may leave through civetweb's C code (a readiness check's own exception).
        mg_send_http_error(conn, 500, "unknown exception\n");
      }
      return true;
    }

   private:
    impl& owner_;
    std::string (impl::*text_)();
    bool status_page_;
  };

  page metrics_page{*this, &impl::metrics_text, false};
  page health_page{*this, &impl::unhealthy, true};
  page ready_page{*this, &impl::not_ready, true};
  std::unique_ptr<CivetServer> server;
  std::string address;
};

exporter::exporter(std::string_view bind) : impl_{std::make_shared<impl>()} {
  const std::string port = listening_port(bind);
  CivetCallbacks callbacks{};
  callbacks.log_message = [](const mg_connection*, const char* text) {
    coport::detail::warn({"metrics", ""}, "HTTP server: {}", text);
    return 1;
  };
  // Four threads, each request bounded to 2 s and no idle keep-alive connections: a few
  // slow or idle clients cannot hold /healthz off for long (it is what restarts a pod).
  std::vector<std::string> options{"listening_ports",    port,   "num_threads",       "4",
                                   "request_timeout_ms", "2000", "enable_keep_alive", "no"};
  errno = 0;
  try {
    impl_->server = std::make_unique<CivetServer>(options, &callbacks);
  } catch (const CivetException& e) {
    throw std::system_error{
        errno ? errno : EADDRNOTAVAIL, std::generic_category(),
        fmt::format("coport: metrics: cannot listen on {}: {}", bind, e.what())};
  }
  impl_->server->addHandler("/metrics", impl_->metrics_page);
  impl_->server->addHandler("/healthz", impl_->health_page);
  impl_->server->addHandler("/readyz", impl_->ready_page);
  const auto ports = impl_->server->getListeningPorts();
  const std::string_view host = bind.substr(0, bind.rfind(':'));
  impl_->address =
      fmt::format("{}:{}", host == "*" ? "0.0.0.0" : host, ports.empty() ? 0 : ports.front());
}

exporter::~exporter() {
  // Stops the server's threads (waiting for requests in progress) before the pages go.
  impl_->server->close();
}

std::string exporter::address() const {
  return impl_->address;
}

subscription exporter::expose(node_sources sources) {
  std::unique_lock lock{impl_->mutex};
  for (const auto& e : impl_->nodes) {
    if (&e->sources.node == &sources.node) {
      throw std::invalid_argument{
          fmt::format("coport: metrics: node {} is exposed already", sources.node.id())};
    }
  }
  port_id probe_port = sources.node.port();
  const std::uint64_t id = ++impl_->next_id;
  impl_->nodes.push_back(
      std::unique_ptr<impl::exposed>{new impl::exposed{id, std::move(sources), probe_port}});
  return subscription{[weak = std::weak_ptr<impl>(impl_), id] {
    auto self = weak.lock();
    if (!self) return;
    std::unique_lock l{self->mutex};
    std::erase_if(self->nodes, [&](const std::unique_ptr<impl::exposed>& e) {
      if (e->id != id) return false;
      try {
        e->sources.node.kil(e->probe_port);
      } catch (...) {
        // Out of memory for the kill: the probe port lives on with its node (a guard's end
        // must not throw).
      }
      return true;
    });
  }};
}

subscription exporter::expose(std::weak_ptr<prometheus::Collectable> figures) {
  std::unique_lock lock{impl_->mutex};
  const std::uint64_t id = ++impl_->next_id;
  impl_->collectables.emplace_back(id, std::move(figures));
  return subscription{[weak = std::weak_ptr<impl>(impl_), id] {
    auto self = weak.lock();
    if (!self) return;
    std::unique_lock l{self->mutex};
    std::erase_if(self->collectables, [&](const auto& e) { return e.first == id; });
  }};
}

}  // namespace coport::metrics
