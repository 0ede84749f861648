// metrics::figures — one scrape's families, and what one node adds to them.
#include "figures.hpp"

#include <chrono>

#include <algorithm>
#include <limits>

#include "coport/groups/groups.hpp"
#include "coport/registry.hpp"
#include "coport/transport/tcp.hpp"

namespace coport::metrics::detail {

using prometheus::MetricType;

prometheus::MetricFamily& figures::family(const std::string& name, const char* help,
                                          MetricType type) {
  auto it = index_.find(name);
  if (it != index_.end()) return families_[it->second];
  index_.emplace(name, families_.size());
  families_.push_back(prometheus::MetricFamily{name, help, type, {}});
  return families_.back();
}

namespace {

/// `text` as a label value Prometheus takes: invalid UTF-8 and control characters become
/// U+FFFD (one bad value from a peer, a group name, must not fail the whole scrape).
std::string label_text(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  for (std::size_t i = 0; i < n;) {
    const unsigned char c = s[i];
    const std::size_t len = c < 0x80           ? 1
                            : (c >> 5) == 0x6  ? 2
                            : (c >> 4) == 0xE  ? 3
                            : (c >> 3) == 0x1E ? 4
                                               : 0;
    bool ok = len != 0 && i + len <= n;
    for (std::size_t k = 1; ok && k < len; ++k) ok = (s[i + k] & 0xC0) == 0x80;
    if (ok && len == 1) ok = c >= 0x20 && c != 0x7F;
    if (ok && len == 2) ok = c >= 0xC2;  // not overlong
    if (ok && len == 3) {
      ok = !(c == 0xE0 && s[i + 1] < 0xA0) && !(c == 0xED && s[i + 1] >= 0xA0);  // no surrogates
    }
    if (ok && len == 4)
      ok = c <= 0xF4 && !(c == 0xF0 && s[i + 1] < 0x90) && !(c == 0xF4 && s[i + 1] >= 0x90);
    if (ok) {
      out.append(text, i, len);
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      i += 1;
    }
  }
  return out;
}

}  // namespace

void figures::add(const std::string& name, const char* help, MetricType type, double value,
                  labels l) {
  prometheus::ClientMetric m;
  for (auto& label : l) label.value = label_text(label.value);
  m.label = std::move(l);
  if (type == MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  family(name, help, type).metric.push_back(std::move(m));
}

void figures::add(const std::string& name, const char* help, const time_histogram& h, labels l) {
  prometheus::ClientMetric m;
  for (auto& label : l) label.value = label_text(label.value);
  m.label = std::move(l);
  m.histogram.sample_count = h.count;
  m.histogram.sample_sum = h.sum;
  std::uint64_t cumulative = 0;
  for (std::size_t b = 0; b < time_histogram::buckets; ++b) {
    cumulative += h.counts[b];
    prometheus::ClientMetric::Bucket bucket;
    bucket.cumulative_count = cumulative;
    bucket.upper_bound = b + 1 < time_histogram::buckets ? time_histogram::bounds[b]
                                                         : std::numeric_limits<double>::infinity();
    m.histogram.bucket.push_back(bucket);
  }
  family(name, help, MetricType::Histogram).metric.push_back(std::move(m));
}

void figures::add(std::vector<prometheus::MetricFamily> families) {
  for (auto& f : families) {
    auto it = index_.find(f.name);
    if (it == index_.end()) {
      index_.emplace(f.name, families_.size());
      families_.push_back(std::move(f));
    } else {
      auto& into = families_[it->second].metric;
      into.insert(into.end(), std::make_move_iterator(f.metric.begin()),
                  std::make_move_iterator(f.metric.end()));
    }
  }
}

void figures::add_node(const node_sources& s) {
  const std::string& id = s.node.id();
  const labels node{{"node", id}};
  auto with = [&](std::string name, std::string value) {
    labels l = node;
    l.push_back({std::move(name), std::move(value)});
    return l;
  };
  constexpr auto counter = MetricType::Counter;
  constexpr auto gauge = MetricType::Gauge;

  // The runtime.
  const node_stats n = s.node.stats();
  add("coport_ports_alive", "Ports of the node that are alive", gauge,
      static_cast<double>(n.ports_alive), node);
  add("coport_ports_spawned_total", "Ports the node has made", counter,
      static_cast<double>(n.ports_created), node);
  add("coport_messages_handled_total", "Messages the node's ports took from their mailboxes",
      counter, static_cast<double>(n.messages_handled), node);
  add("coport_messages_dropped_total",
      "Messages dropped (reason: no_port, to a dead or unknown port or a full mailbox; link, "
      "not sent to or not delivered from another node)",
      counter, static_cast<double>(n.messages_dropped), with("reason", "no_port"));
  add("coport_nodes_up", "Other nodes this node is linked to", gauge,
      static_cast<double>(s.node.up_nodes().size()), node);
  add("coport_handler_seconds",
      "How long handlers ran (sampled: one port run in 64 adds its handler runs' mean)",
      n.handler_time, node);
  // Measured ports (node::measure, node_options::measure): CAF's per-actor figures.
  std::size_t deepest = 0;
  for (const port_figures& p : s.node.measured()) {
    labels port = node;
    port.push_back({"port", p.port});
    port.push_back({"name", p.name});
    deepest = std::max(deepest, p.mailbox);
    add("coport_port_mailbox", "Messages waiting in a measured port's mailbox", gauge,
        static_cast<double>(p.mailbox), port);
    add("coport_port_handled_total", "Messages a measured port handled", counter,
        static_cast<double>(p.handled), port);
    add("coport_port_handler_seconds", "How long a measured port's handler runs took",
        p.handler_time, std::move(port));
  }
  add("coport_mailbox_deepest", "The deepest mailbox of the node's measured ports", gauge,
      static_cast<double>(deepest), node);
  add("coport_mailbox_deepest_sampled",
      "The deepest mailbox of any port seen in the last 10 s (one port run in 64 counts its "
      "queue as it starts, up to 1000)",
      gauge, static_cast<double>(n.deepest_mailbox), node);

  if (s.links) {
    const transport::transport_stats t = s.links->protocol().stats();
    add("coport_messages_dropped_total", "", counter, static_cast<double>(t.messages_dropped),
        with("reason", "link"));
    add("coport_transport_messages_sent_total", "Messages encoded for other nodes", counter,
        static_cast<double>(t.messages_sent), node);
    add("coport_transport_messages_received_total",
        "Messages from other nodes delivered to local ports", counter,
        static_cast<double>(t.messages_received), node);
    add("coport_transport_bad_frames_total", "Connections ended for a malformed frame", counter,
        static_cast<double>(t.bad_frames), node);
    for (std::size_t i = 0; i < transport::refusal_kinds; ++i) {
      add("coport_transport_handshakes_refused_total",
          "Handshakes refused, by reason (version, self, wrong_node, certificate, secret, "
          "too_many_nodes, duplicate, by_peer, application)",
          counter, static_cast<double>(t.refused_by[i]),
          with("reason", transport::to_string(static_cast<transport::refusal>(i))));
    }
    const transport::tcp_stats c = s.links->stats();
    add("coport_tcp_connections_accepted_total", "Connections accepted", counter,
        static_cast<double>(c.accepted), node);
    add("coport_tcp_connections_dialed_total", "Connections this node opened", counter,
        static_cast<double>(c.dialed), node);
    add("coport_tcp_connections", "Connections open now", gauge, static_cast<double>(c.connections),
        node);
    add("coport_tcp_timeouts_total", "Peers declared down for silence", counter,
        static_cast<double>(c.timeouts), node);
    add("coport_tcp_dial_failures_total", "Connections that could not be opened", counter,
        static_cast<double>(c.dial_failures), node);
    add("coport_tcp_sent_bytes_total", "Bytes written to connections", counter,
        static_cast<double>(c.bytes_sent), node);
    add("coport_tcp_received_bytes_total", "Bytes read from connections", counter,
        static_cast<double>(c.bytes_received), node);
    add("coport_tcp_read_pauses_total",
        "Times a link stopped being read because its node's messages waited unprocessed", counter,
        static_cast<double>(c.inbound_pauses), node);
    for (const transport::link_stats& l : s.links->protocol().links()) {
      const labels peer = with("peer", l.node);
      add("coport_link_up", "1 while the link to the peer is up", gauge, l.up ? 1.0 : 0.0, peer);
      add("coport_link_connections_total", "Connections to the peer that came up", counter,
          static_cast<double>(l.connections), peer);
      add("coport_link_sent_messages_total", "Messages encoded for the peer", counter,
          static_cast<double>(l.messages_sent), peer);
      add("coport_link_received_messages_total", "Messages from the peer delivered here", counter,
          static_cast<double>(l.messages_received), peer);
      add("coport_link_sent_bytes_total", "Protocol bytes for the peer", counter,
          static_cast<double>(l.bytes_sent), peer);
      add("coport_link_received_bytes_total", "Protocol bytes from the peer", counter,
          static_cast<double>(l.bytes_received), peer);
      add("coport_link_queued_bytes", "Bytes waiting to go to the peer", gauge,
          static_cast<double>(l.queued_bytes), peer);
      if (l.round_trip) {
        add("coport_link_round_trip_seconds",
            "The round trip of the last heartbeat probe the peer answered", gauge,
            std::chrono::duration<double>(*l.round_trip).count(), peer);
      }
    }
  }

  if (s.names) {
    const registry_stats r = s.names->stats();
    add("coport_registry_names", "Names in the node's replica of the registry", gauge,
        static_cast<double>(r.names), node);
    add("coport_registry_entries", "(name, port) entries in the node's replica", gauge,
        static_cast<double>(r.entries), node);
    add("coport_registry_updates_total", "Changes applied to the node's replica", counter,
        static_cast<double>(r.updates), node);
  }

  if (s.groups) {
    const groups::service_stats g = s.groups->stats();
    add("coport_group_roles", "Group roles (master or standby) the node holds", gauge,
        static_cast<double>(g.epochs.size()), node);
    for (const auto& [name, epoch] : g.epochs) {
      add("coport_group_epoch", "The epoch of a group role the node holds", gauge,
          static_cast<double>(epoch), with("group", name));
    }
    add("coport_group_delivered_total", "Group messages handed to local members", counter,
        static_cast<double>(g.delivered), node);
    add("coport_group_held_back_total", "Group items that waited for a gap to fill", counter,
        static_cast<double>(g.held_back), node);
    add("coport_group_takeovers_total", "Standbys of the node that became the master", counter,
        static_cast<double>(g.takeovers), node);
  }
}

}  // namespace coport::metrics::detail
