// libFuzzer target: what a peer can send to a node's groups: the payloads of the groups
// protocol decoded from bytes (items, causal stamps, envelopes) and then handed to a live
// groups agent and group master on a deterministic node, which must neither crash nor hang.
// The first byte picks the message (low bits) and who sends it (high bit: this node, or the
// link of a peer that is neither the master's node nor a member's); the rest are its values'
// wire bytes.
#include <coport/coport.hpp>
#include <coport/detail/payload_codec.hpp>
#include <coport/groups/groups.hpp>
#include <coport/registry.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "protocol.hpp"

using namespace coport;
namespace pgd = coport::groups::detail;

namespace {

struct kind {
  const char* tag;
  std::vector<std::string> types;
  int to;  ///< 0: the agent, 1: the master, 2: a quorum group's master
};

struct world {
  node n{[] {
    node_options o;
    o.id = "fuzz-groups";
    o.mode = run_mode::deterministic;
    return o;
  }()};
  registry names{n};
  groups::service pg{n, names};
  static constexpr const char* peer = "fuzz-peer";
  port_id master, quorum_master, member;
  std::vector<kind> kinds;

  world() {
    // Name the protocol's payload types so that this program has their factories.
    (void)message{}.is<std::string, std::uint64_t, port_id, std::uint8_t, pgd::item>();
    (void)message{}.is<std::string, std::uint64_t, port_id, std::uint8_t, std::uint64_t>();
    (void)message{}.is<std::string, std::uint64_t, std::uint64_t>();
    (void)message{}.is<std::string, std::uint64_t, pgd::stamp, port_id, bool, envelope>();
    (void)message{}.is<port_id, bool, envelope, port_id, std::uint64_t, std::uint64_t>();
    (void)message{}.is<std::string, std::uint64_t>();
    (void)message{}
        .is<std::uint64_t, std::vector<port_id>, std::vector<std::uint64_t>, std::vector<port_id>,
            std::vector<std::uint64_t>>();
    (void)message{}.is<std::uint64_t, pgd::item>();
    (void)message{}.is<std::uint64_t, std::uint64_t, std::vector<port_id>, std::uint64_t>();
    (void)message{}.is<std::uint64_t, std::uint64_t, port_id>();
    (void)message{}.is<std::uint64_t, std::uint64_t, std::string>();
    (void)message{}.is<port_id, bool, port_id>();
    (void)message{}.is<port_id>();
    (void)message{}.is<std::uint64_t>();
    (void)message{}.is<std::uint64_t, port_id>();
    (void)message{}.is<std::uint64_t, std::uint64_t, std::uint64_t, port_id>();
    (void)message{}.is<std::string, std::uint64_t, std::uint64_t, std::uint64_t, port_id>();
    (void)message{}.is<std::uint64_t, bool, port_id>();
    (void)message{}.is<std::string, port_id>();
    kinds = {
        {"pg.deliver", {"string", "u64", "port", "u8", "coport.pg.item"}, 0},
        {"pg.sync", {"string", "u64", "port", "u8", "u64"}, 0},
        {"pg.lost", {"string", "u64", "u64"}, 0},
        {"pg.cdeliver", {"string", "u64", "map<port,u64>", "port", "bool", "envelope"}, 0},
        {"pg.send", {"port", "bool", "envelope", "port", "u64", "u64"}, 1},
        {"pg.replicate", {"u64", "coport.pg.item"}, 1},
        {"pg.ack", {"u64", "u64", "port"}, 1},
        {"pg.resend", {"u64", "u64", "string"}, 1},
        {"pg.synced", {"u64", "u64", "string"}, 1},
        {"pg.join", {"port", "bool", "port"}, 1},
        {"pg.leave", {"port"}, 1},
        {"pg.fenced", {"u64"}, 1},
        {"pg.epoch", {"u64", "port"}, 1},
        {"pg.ordered", {"string", "u64"}, 0},
        {"pg.senders", {"u64", "vector<port>", "vector<u64>", "vector<port>", "vector<u64>"}, 1},
        {"pg.vote", {"string", "u64", "u64", "u64", "port"}, 0},
        {"pg.voted", {"u64", "bool", "port"}, 1},
        {"pg.epoch_ask", {"string", "port"}, 0},
        {"pg.epoch_told", {"string", "u64"}, 1},
        {"pg.local_vote", {"u64", "u64", "u64", "port"}, 2},
        {"pg.voted", {"u64", "bool", "port"}, 2},
        {"pg.epoch_told", {"string", "u64"}, 2},
        {"pg.replicate", {"u64", "coport.pg.item"}, 2},
        {"pg.ack", {"u64", "u64", "port"}, 2},
        {"pg.stepped_down", {"u64"}, 2},
        {"pg.snapshot", {"u64", "u64", "vector<port>", "u64"}, 2},
    };
    (void)port_id{peer, 0};  // interned, as the transport does for a linked peer
    master = pg.create("g").master;
    // (Its standbys' nodes never come: it releases nothing, and hears votes and answers.)
    quorum_master = pg.create("q", {.standbys = {"fuzz-q1", "fuzz-q2"}, .quorum = true}).master;
    n.run_until_idle();
    member = n.port([](message&) {});
    (void)pg.join("g", member);
    n.run_until_idle();
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static world w;
  if (size == 0) return 0;
  const kind& k = w.kinds[(data[0] & 0x7f) % w.kinds.size()];
  const bool from_peer = data[0] & 0x80;
  auto dec = detail::resolve_payload(k.types);
  if (!dec->error.empty()) __builtin_trap();  // the names above must resolve
  wire::reader r{
      std::span<const std::byte>{reinterpret_cast<const std::byte*>(data) + 1, size - 1}};
  message m;
  try {
    m = message{detail::decode_values(tag{k.tag}, r, *dec)};
  } catch (const wire::decode_error&) {
    return 0;
  }
  port_id to = k.to == 0 ? w.pg.agent() : k.to == 1 ? w.master : w.quorum_master;
  if (from_peer) {
    w.n.plug(nullptr).deliver(to, std::move(m), world::peer);  // as a link hands it over
  } else {
    w.n.snd(to, std::move(m));
  }
  // Bounded: the node may not loop on what one message made it do.
  for (int i = 0; i < 100000 && w.n.step(); ++i) {
  }
  return 0;
}
