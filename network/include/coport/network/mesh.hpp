#pragma once
/// \file
/// coport::network::mesh — seeds and discovery: every node finds every other (a full mesh);
/// a client node (mesh_options::client) only where it talks.
///
/// A node keeps a connection to each of its seeds (any node can be one): a seed that cannot
/// be reached, or goes away, is tried again with backoff, and one that restarts is joined
/// again. A seed named by a host name is every address the name has, each a seed of its own
/// (one of them may be this node: only that one is skipped); `srv:` seeds are DNS SRV
/// records; names are looked up again every `resolve_interval`, so that nodes added behind
/// a name are found without a restart (a failed lookup keeps the addresses known). Whenever a link
/// comes up, both ends send each other the nodes they are linked to and where those listen; a node
/// links to every node it learns of, and every few seconds tells one linked node its list again, so
/// that the network re-merges after a partition. A list only teaches nodes this node has no address
/// for: addresses configured (tcp_options `peers`, `add_peer`), learned from a node's own handshake
/// or from an earlier list are never replaced by one; nodes taught by lists that do not come up
/// count to a bound (4096, each for a minute), and their IDs to the process-wide bound on IDs from
/// peers. The mesh is a service port on the node (tag `coport.mesh` of the node port); it uses the
/// node's events and the TCP layer's `connect`, nothing else. Node up/down events and
/// `node::up_nodes()` show the mesh as it forms.
/// Threading: thread-safe. Lifetime: create after the node and its `tcp`; destroy before
/// them.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "coport/node.hpp"
#include "coport/transport/tcp.hpp"

namespace coport::network {

/// How a node joins the network.
struct mesh_options {
  /// The seeds: "host:port", "[v6]:port", or "srv:_service._tcp.name" (the targets and ports
  /// of its SRV records). A name stands for all its addresses (getaddrinfo: /etc/hosts, DNS);
  /// an address that is this node itself is skipped.
  std::vector<std::string> seeds;
  /// Seed names are looked up again this often (on a thread of the mesh's own).
  std::chrono::milliseconds resolve_interval{30000};
  /// A seed that could not be reached is tried again after this, doubling up to
  /// `retry_max` (each with up to a quarter more at random, so restarted networks do not
  /// dial in step).
  std::chrono::milliseconds retry_min{250}, retry_max{8000};
  /// Every this long, one linked node (at random) gets this node's list of nodes.
  std::chrono::milliseconds gossip_interval{2000};
  /// A client node (Erlang's hidden node, AEMP's non-listening node): it links to its seeds
  /// and learns from them where every node listens, but links to another node only when it
  /// sends to it, and tells no one its list. Meant for a node that listens nowhere: the
  /// others then never link to it, and it is in no one's list of where nodes listen.
  bool client = false;
};

/// One seed as the mesh sees it.
struct seed_status {
  std::string seed;     ///< as configured ("host:port", "srv:...")
  std::string address;  ///< one address of it ("ip:port"; the seed itself while none is known)
  std::string node_id;  ///< who answered there last (empty: nobody yet)
  bool up = false;      ///< linked to it now
  bool self = false;    ///< it is this node
  std::string last_error;
};

/// A node's place in the mesh.
class mesh {
 public:
  /// Starts seeding. Throws std::invalid_argument for a malformed seed address.
  mesh(node& n, transport::tcp& links, mesh_options options = {});
  ~mesh();
  mesh(const mesh&) = delete;
  mesh& operator=(const mesh&) = delete;

  /// The seeds and their state.
  std::vector<seed_status> seeds() const;
  /// The mesh's service port.
  port_id port() const noexcept;

  struct state;

 private:
  std::shared_ptr<state> state_;
};

}  // namespace coport::network
