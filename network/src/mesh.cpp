// coport::network::mesh — seeding, and the node lists that links exchange (see mesh.hpp).
#include "coport/network/mesh.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <utility>

#include "coport/dispatch_table.hpp"
#include "coport/wire/codec.hpp"

#include "coport/internal/address.hpp"
#include "coport/internal/refusals.hpp"
#include "coport/internal/service.hpp"
#include "network_log.hpp"
#include "seed_resolver.hpp"

namespace coport::network {

namespace {

using table = std::map<std::string, std::vector<std::string>>;
using clock = std::chrono::steady_clock;
// The mesh's protocol.
/// node -> node (through the node port's service coport.mesh): "nodes" and the sender's
/// table of nodes and their addresses (on each link's start, and every gossip interval).
const message_type<std::string, table> nodes_msg{"coport.mesh"};
/// node -> node: "link" (a dial said hello; no answer needed: node-up sends the table).
const message_type<std::string> link_msg{"coport.mesh"};
/// Local only: a seed name's lookup ended: the seed, its addresses (empty: error says why).
const message_type<std::string, std::vector<std::string>, std::string> seed_lookup_msg{
    "coport.mesh.lookup", local_only};
/// Local only: a seed's dial ended: the seed (as configured), the address dialed, the node it
/// reached (empty: none), error.
const message_type<std::string, std::string, std::string, std::string> seed_result_msg{
    "coport.mesh.seed", local_only};
/// A learned node that did not come up is asked for again after this (its dial has given
/// up by then: the default connect timeout).
constexpr std::chrono::seconds relink_after{5};
/// Bounds on what a peer's list can make this node do (memory, dials in progress, nodes whose
/// addresses came from lists and that did not come up).
constexpr std::size_t max_table = 4096, max_dialing = 256, max_addresses = 16, max_listed = 4096;
/// A node taught by a list that did not come up in this long no longer counts to max_listed.
constexpr std::chrono::seconds listed_for{60};

}  // namespace

struct mesh::state : std::enable_shared_from_this<mesh::state> {
  struct seed {
    seed_status status;
    bool dialing = false;
    bool resolved = true;  // false: a name none of whose addresses is known yet
    std::chrono::milliseconds backoff{0};
    clock::time_point next{};
  };

  state(node& n, transport::tcp& t, mesh_options o) : owner{n}, links{t}, options{std::move(o)} {}

  node& owner;
  transport::tcp& links;
  const mesh_options options;
  port_id self_port;

  // The mesh port's context only.
  subscription node_events, service;
  std::set<std::string> up;
  std::map<std::string, clock::time_point> dialing;  // learned nodes being linked, since
  std::map<std::string, clock::time_point> listed;   // addresses from a list, not up yet
  clock::time_point warned_at{};                     // the last refusal logged
  std::size_t refused = 0;                           // refusals since
  timer ticker;
  clock::time_point next_gossip{};
  std::minstd_rand random{std::random_device{}()};
  bool warned_table = false;

  mutable std::mutex mutex;  // seeds (read by mesh::seeds from any thread)
  std::vector<seed> seeds;
  // Seed names (looked up on the resolver's thread; its results come as seed_lookup_msg).
  std::vector<std::string> names;
  std::unique_ptr<detail::seed_resolver> resolver;
  clock::time_point next_lookup{};

  // Every job of the mesh port runs under run_mutex and only while !closed: ~mesh sets
  // closed under it, so no job touches `links` (which dies after the mesh) once ~mesh
  // has returned, even one that had already taken the state when ~mesh began.
  std::mutex run_mutex;
  bool closed = false;
  template <class F>
  void guarded(F&& f) {
    std::lock_guard lock{run_mutex};
    if (!closed) f();
  }

  /// This node and every node it is linked to, with where each listens.
  table known() const {
    table t;
    t[owner.id()] = links.advertised();
    for (const auto& id : up) t[id] = links.addresses_of(id);
    return t;
  }

  void send_table(const std::string& to) {
    owner.snd(port_id{to, 0}, nodes_msg, std::string{"nodes"}, known());
  }

  /// What the mesh's port takes; anything else is dropped and logged, rate-limited (a port
  /// that knows this port's ID could send anything: never fatal here).
  void on_message(message& m) {
    guarded([&] { bad_messages.take(protocol, m); });
  }
  coport::detail::refusals bad_messages{"network", owner.id(), "the mesh", "the mesh protocol"};

  dispatch_table protocol = make_protocol();
  dispatch_table make_protocol() {
    dispatch_table t;
    t.on(seed_result_msg, [this](message&, std::string& from, std::string& address, std::string& id,
                                 std::string& error) { seed_answered(from, address, id, error); });
    t.on(seed_lookup_msg, [this](message&, std::string& name, std::vector<std::string>& addresses,
                                 std::string& error) { seed_looked_up(name, addresses, error); });
    t.on(nodes_msg, [this](message& m, std::string& kind, table& nodes) {
      if (kind == "nodes" && m.origin()) learn(nodes);
    });
    // "link" needs no answer: the link's node-up event sends our table.
    t.on(link_msg, [](message&, std::string&) {});
    return t;
  }

  void learn(const table& t) {
    if (t.size() > max_table) {
      // More nodes than a full mesh can hold: a bad peer, not a network. Ignored, said once.
      if (!warned_table) {
        warned_table = true;
        detail::warn({"network", owner.id()}, "ignoring a list of {} nodes (at most {})", t.size(),
                     max_table);
      }
      return;
    }
    auto now = clock::now();
    for (const auto& [id, addresses] : t) {
      if (id == owner.id() || up.count(id) || addresses.empty() ||
          addresses.size() > max_addresses || !valid_node_id(id)) {
        continue;
      }
      auto it = dialing.find(id);
      if (it != dialing.end() && now - it->second < relink_after) continue;
      if (it == dialing.end() && dialing.size() >= max_dialing) {
        std::erase_if(dialing, [&](const auto& d) { return now - d.second >= relink_after; });
        if (dialing.size() >= max_dialing) continue;  // the next list names it again
      }
      // An ID from a peer is interned within the process-wide bound on such IDs.
      std::uint32_t number;
      try {
        number = coport::detail::intern_remote_node(id);
      } catch (const wire::decode_error& e) {
        refuse(fmt::format("node {}: {}", id, e.what()));
        return;  // the bound is reached: the rest would be refused too
      }
      // Addresses this node has for the node (configured, from its own handshake, or from
      // an earlier list) are never replaced by a list: a list only teaches unknown nodes.
      if (links.addresses_of(id).empty()) {
        if (listed.size() >= max_listed) {
          std::erase_if(listed, [&](const auto& l) { return now - l.second >= listed_for; });
          if (listed.size() >= max_listed) {
            refuse(fmt::format("more than {} nodes from lists are not up", max_listed));
            continue;
          }
        }
        try {
          links.add_peer(id, addresses);
        } catch (const std::exception&) {
          continue;  // a malformed address from a peer: not ours to fail on
        }
        listed[id] = now;
      }
      // A client links when it sends to the node (the TCP layer dials on demand).
      if (options.client) continue;
      dialing[id] = now;
      // Any message makes the TCP layer link to the node; this one is ignored there.
      owner.snd(coport::detail::make_port_id(number, 0, 0), link_msg, std::string{"link"});
    }
  }

  /// Logs a refused part of a list, at most once a second with a count.
  void refuse(const std::string& what) {
    ++refused;
    auto now = clock::now();
    if (now - warned_at < std::chrono::seconds{1}) return;
    warned_at = now;
    detail::warn({"network", owner.id()},
                 "a node list's entry is ignored: {} ({} since the last such line)", what,
                 std::exchange(refused, 0));
  }

  void node_event(const std::string& id, bool is_up) {
    std::lock_guard lock{mutex};
    if (is_up) {
      up.insert(id);
      dialing.erase(id);
      listed.erase(id);
    } else {
      up.erase(id);
    }
    for (auto& s : seeds) {
      if (s.status.node_id != id) continue;
      s.status.up = is_up;
      if (!is_up) {  // a seed went away: try it again soon
        s.backoff = options.retry_min;
        s.next = clock::now() + options.retry_min;
      }
    }
  }

  void seed_answered(const std::string& from, const std::string& address, const std::string& id,
                     const std::string& error) {
    std::lock_guard lock{mutex};
    for (auto& s : seeds) {
      if (s.status.seed != from || s.status.address != address) continue;
      s.dialing = false;
      if (!id.empty()) {
        s.status.node_id = id;
        s.status.up = up.count(id) > 0;  // or its node-up event comes next
        s.status.last_error.clear();
        s.backoff = options.retry_min;
        continue;
      }
      s.status.last_error = error;
      if (error.find("itself") != std::string::npos) {
        s.status.self = true;
        continue;
      }
      s.backoff = std::min(options.retry_max,
                           s.backoff == s.backoff.zero() ? options.retry_min : 2 * s.backoff);
      auto jitter = std::uniform_int_distribution<long>{0, s.backoff.count() / 4}(random);
      s.next = clock::now() + s.backoff + std::chrono::milliseconds{jitter};
    }
  }

  /// A seed name's addresses: each one not known yet becomes a seed, and those it no longer
  /// has go (unless linked or being dialed). A failed lookup changes nothing but the error.
  void seed_looked_up(const std::string& name, const std::vector<std::string>& addresses,
                      const std::string& error) {
    std::lock_guard lock{mutex};
    if (addresses.empty()) {
      for (auto& s : seeds) {
        if (s.status.seed == name && !s.resolved) s.status.last_error = error;
      }
      coport::detail::log(log_level::debug, {"network", owner.id()}, "seed {}: {}", name, error);
      return;
    }
    std::erase_if(seeds, [&](const seed& s) {
      if (s.status.seed != name) return false;
      if (!s.resolved) return true;
      bool still =
          std::find(addresses.begin(), addresses.end(), s.status.address) != addresses.end();
      return !still && !s.status.up && !s.dialing;
    });
    for (const auto& address : addresses) {
      bool known = std::any_of(seeds.begin(), seeds.end(), [&](const seed& s) {
        return s.status.seed == name && s.status.address == address;
      });
      if (known) continue;
      seed added;
      added.status.seed = name;
      added.status.address = address;
      seeds.push_back(std::move(added));
    }
  }

  /// Runs every tick in the mesh port: seed names to look up, seeds to dial, the gossip.
  void tick() {
    auto now = clock::now();
    if (resolver && now >= next_lookup) {
      next_lookup = now + options.resolve_interval;
      resolver->resolve(names);
    }
    {
      std::lock_guard lock{mutex};
      auto own = links.addresses();
      for (auto& a : links.advertised()) own.push_back(a);
      for (auto& s : seeds) {
        if (s.status.self || s.dialing || !s.resolved || now < s.next) continue;
        if (std::find(own.begin(), own.end(), s.status.address) != own.end()) {
          s.status.self = true;
          continue;
        }
        if (!s.status.node_id.empty() && up.count(s.status.node_id)) continue;
        // A linked node listening there is the seed (it may have dialed us first).
        bool linked = false;
        for (const auto& id : up) {
          auto where = links.addresses_of(id);
          if (std::find(where.begin(), where.end(), s.status.address) != where.end()) {
            s.status.node_id = id;
            s.status.up = true;
            linked = true;
            break;
          }
        }
        if (linked) continue;
        s.dialing = true;
        links.connect(s.status.address,
                      [n = &owner, p = self_port, seed = s.status.seed, address = s.status.address](
                          const std::string& id, const std::string& error) {
                        n->snd(p, seed_result_msg, seed, address, id, error);
                      });
      }
    }
    if (now >= next_gossip && !up.empty() && !options.client) {
      next_gossip = now + options.gossip_interval;
      // To a full node: one with an address (a client node passes no list on).
      std::vector<std::string> full;
      for (const auto& id : up) {
        if (!links.addresses_of(id).empty()) full.push_back(id);
      }
      if (!full.empty()) {
        send_table(full[std::uniform_int_distribution<std::size_t>{0, full.size() - 1}(random)]);
      }
    }
    schedule();
  }

  void schedule() {
    auto period =
        std::min<std::chrono::milliseconds>(options.retry_min, std::chrono::milliseconds{250});
    ticker = owner.after(period, [weak = weak_from_this()] {
      if (auto self = weak.lock()) self->guarded([&] { self->tick(); });
    });
  }

  /// In the mesh port: subscribe (callbacks then run here) and start ticking.
  void start() {
    guarded([&] { subscribe_and_tick(); });
  }
  void subscribe_and_tick() {
    node_events = owner.mon_nodes(
        [weak = weak_from_this()](const std::string& id, bool is_up, const reason&) {
          auto self = weak.lock();
          if (!self) return;
          self->guarded([&] {
            self->node_event(id, is_up);
            if (is_up && !self->options.client) self->send_table(id);
          });
        });
    for (const auto& id : owner.up_nodes()) {
      node_event(id, true);
      if (!options.client) send_table(id);
    }
    next_gossip = clock::now() + options.gossip_interval;
    tick();
  }
};

mesh::mesh(node& n, transport::tcp& links, mesh_options options) {
  for (const auto& s : options.seeds) {
    if (s.starts_with("srv:")) {
      if (detail::valid_srv_seed(s)) continue;
      throw std::invalid_argument{
          fmt::format("coport: seed '{}': expected srv: and a DNS name (_service._tcp.name)", s)};
    }
    try {
      coport::detail::parse_address(s);
    } catch (const std::invalid_argument&) {
      throw std::invalid_argument{fmt::format(
          "coport: seed '{}': expected host:port, [v6]:port or srv:_service._tcp.name", s)};
    }
  }
  if (options.retry_min.count() <= 0 || options.retry_max < options.retry_min ||
      options.gossip_interval.count() <= 0 || options.resolve_interval.count() <= 0) {
    throw std::invalid_argument{
        "coport: mesh_options: retry, gossip and resolve times must be positive"};
  }
  state_ = std::make_shared<state>(n, links, std::move(options));
  for (const auto& address : state_->options.seeds) {
    state::seed s;
    s.status.seed = address;
    s.status.address = address;
    if (detail::needs_lookup(address)) {
      s.resolved = false;
      s.status.last_error = "not looked up yet";
      if (std::find(state_->names.begin(), state_->names.end(), address) == state_->names.end()) {
        state_->names.push_back(address);
      }
    }
    state_->seeds.push_back(std::move(s));
  }
  if (!state_->names.empty()) {
    state_->resolver = std::make_unique<detail::seed_resolver>(
        [n = &n, weak = std::weak_ptr<state>{state_}](const std::string& name,
                                                      const std::vector<std::string>& addresses,
                                                      const std::string& error) {
          // Under the resolver's lock: ~mesh ends the resolver before the node can go.
          if (auto self = weak.lock()) {
            n->snd(self->self_port, seed_lookup_msg, name, addresses, error);
          }
        });
  }
  coport::detail::open_service(n, nodes_msg.tag(), state_);
}

mesh::~mesh() {
  {
    // Waits for a job of the mesh port that is running now; later ones do nothing.
    std::lock_guard lock{state_->run_mutex};
    state_->closed = true;
  }
  state_->resolver.reset();  // no lookup result after this
  coport::detail::close_service(state_->owner, state_);
}

std::vector<seed_status> mesh::seeds() const {
  std::lock_guard lock{state_->mutex};
  std::vector<seed_status> out;
  for (const auto& s : state_->seeds) out.push_back(s.status);
  return out;
}

port_id mesh::port() const noexcept {
  return state_->self_port;
}

}  // namespace coport::network
