// A connection's side of the handshake: nothing the peer says is believed before its proof
// (see link_handshake.hpp; the protocol is handshake.hpp's).
#include "link_handshake.hpp"

#include <fmt/format.h>

#include "coport/internal/link_seam.hpp"
#include "endpoint_impl.hpp"
#include "peer.hpp"

namespace coport::transport {

namespace {
/// Why a proved ID got no peer slot.
std::string no_peer_slot(const std::string& id) {
  return fmt::format("refusing {}: this process knows too many node IDs", id);
}
}  // namespace

link_handshake::link_handshake(endpoint::impl& at, channel& ch, bool opened)
    : endpoint_{at}, channel_{ch}, handshake_{at.options.secret, opened, at.options.encrypt} {}

std::vector<std::byte> link_handshake::hello_frame() {
  return handshake_.hello_frame(endpoint_.owner.id(), endpoint_.owner.incarnation(),
                                endpoint_.own_addresses(), endpoint_.options.application);
}

link_handshake::step link_handshake::on_hello(std::span<const std::byte> body,
                                              const peer* expected) {
  node& n = endpoint_.owner;
  detail::hello h = handshake_.take_hello(body, n.id());
  version_ = detail::common_version(h);
  if (version_ == 0) {
    // Both ends find the same: each refuses, saying which versions it and the peer speak.
    return refuse(refusal::version,
                  fmt::format("refusing a peer that speaks protocol versions {} (this node "
                              "speaks {}..{}): no version in common",
                              h.min_version == h.max_version
                                  ? std::to_string(h.max_version)
                                  : fmt::format("{}..{}", h.min_version, h.max_version),
                              detail::oldest_protocol_version, detail::protocol_version),
                  false);
  }
  peer_capabilities_ = h.capabilities;
  peer_application_ = std::move(h.application);
  hello_ = true;
  channel_.greeted();
  peer_id_ = std::move(h.id);
  peer_incarnation_ = h.incarnation;
  peer_addresses_ = std::move(h.addresses);
  if (peer_id_ == n.id())
    return refuse(refusal::self, "refusing a connection to this node itself", false);
  if (expected && expected->id() != peer_id_) {
    return refuse(refusal::wrong_node,
                  fmt::format("expected node {}, but {} answered", expected->id(), peer_id_),
                  false);
  }
  if (auto why = channel_.check_certificate(peer_id_); !why.empty()) {
    return refuse(refusal::certificate, fmt::format("refusing node {}: {}", peer_id_, why), false);
  }
  endpoint_.notify(expected, [&] { return frame_event{"hello", {}, {}, {}, {}}; });
  if (handshake_.dialer()) channel_.write(handshake_.proof_frame());
  return {};
}

peer* link_handshake::claim_peer() {
  try {
    return endpoint_.find(coport::detail::intern_remote_node(peer_id_), true);
  } catch (const wire::decode_error&) {
    return nullptr;
  }
}

link_handshake::step link_handshake::on_proof(wire::reader& r, receiver& c, peer*& p) {
  node& n = endpoint_.owner;
  std::string wrong = handshake_.check_proof(r);
  if (!wrong.empty()) {
    // The dialer is told, unproven: a node proves nothing to whoever has not proved the secret.
    channel_.write(handshake_.verdict_frame(detail::verdict::bad_proof, {}));
    return refuse(
        refusal::secret,
        fmt::format("authentication of a node calling itself {} failed: {}", peer_id_, wrong),
        false);
  }
  // The dialer's application, believed now: a build this one cannot share a network with
  // is refused for good, and told why (a proven verdict).
  if (const auto& check = endpoint_.options.check_application) {
    if (auto why = check(peer_application_); !why.empty()) {
      channel_.write(handshake_.verdict_frame(detail::verdict::refused, why));
      return refuse(refusal::application, fmt::format("refusing node {}: {}", peer_id_, why),
                    false);
    }
  }
  if (!p && !(p = claim_peer()))
    return refuse(refusal::too_many_nodes, no_peer_slot(peer_id_), false);
  switch (p->offer(c.shared_from_this(), peer_incarnation_)) {
    case verdict::accept:
      break;
    case verdict::duplicate: {
      // The same incarnation: that node's own second channel, given up in a simultaneous
      // connect, or a restart racing its old channel (try again). Another incarnation while
      // the node is up: a second process with that ID (for good).
      std::uint32_t up = p->incarnation();
      bool final = up != 0 && up != peer_incarnation_;
      std::string why = final ? fmt::format(
                                    "node {} is already connected (as another process: incarnation "
                                    "{:x}, not {:x})",
                                    peer_id_, up, peer_incarnation_)
                              : fmt::format("node {} is already connected", peer_id_);
      channel_.write(
          handshake_.verdict_frame(final ? detail::verdict::refused : detail::verdict::busy, why));
      return refuse(refusal::duplicate,
                    fmt::format("refusing a second connection from {} (incarnation {:x}): {}",
                                peer_id_, peer_incarnation_, why),
                    !final);
    }
    case verdict::simultaneous:
      channel_.write(handshake_.verdict_frame(detail::verdict::simultaneous, {}));
      return refuse(refusal::duplicate,
                    fmt::format("{} and {} connected at once: keeping the connection {} opened",
                                n.id(), peer_id_, n.id()),
                    true);
  }
  channel_.write(handshake_.verdict_frame(detail::verdict::accept, {}));
  return up();
}

link_handshake::step link_handshake::on_verdict(wire::reader& r, receiver& c, peer*& p) {
  std::string wrong;
  detail::peer_verdict v = handshake_.check_verdict(r, wrong);
  if (!wrong.empty()) {
    return refuse(refusal::secret,
                  fmt::format("authentication with {} failed: {}", peer_id_, wrong), false);
  }
  if (v.what == detail::verdict::bad_proof) {
    // Unproven (anyone on the path could say it), so it ends this attempt only.
    if (p && endpoint_.dialer) p->yield(&c);
    return refuse(refusal::secret,
                  fmt::format("authentication with {} failed: {}", peer_id_,
                              endpoint_.options.secret.empty()
                                  ? "the peer has a secret and this node has none"
                                  : "it says our proof does not match (the secrets differ, or it "
                                    "has none)"),
                  false);
  }
  if (!p) {
    // A channel opened to an address (tcp::connect): the peer is known from its proof.
    if (!(p = claim_peer())) return refuse(refusal::too_many_nodes, no_peer_slot(peer_id_), false);
    if (v.what == detail::verdict::accept &&
        p->offer(c.shared_from_this(), peer_incarnation_) != verdict::accept) {
      return refuse(refusal::duplicate, fmt::format("node {} is connected already", peer_id_),
                    true);
    }
  }
  switch (v.what) {
    case detail::verdict::accept:
      // The acceptor's application, believed now (its verdict is proven): the dialer checks
      // it too, so that whichever of two builds is the newer one compares them.
      if (const auto& check = endpoint_.options.check_application) {
        if (auto why = check(peer_application_); !why.empty()) {
          p->yield(&c);
          step s = refuse(refusal::application, fmt::format("refusing node {}: {}", peer_id_, why),
                          false);
          s.for_good = true;
          return s;
        }
      }
      return up();
    case detail::verdict::simultaneous:
      // The peer keeps the channel it opened to us at the same time; this one goes quietly
      // and what waits goes out on that one.
      p->yield(&c);
      return refuse(refusal::duplicate,
                    fmt::format("{} and {} connected at once: keeping the connection {} opened",
                                endpoint_.owner.id(), p->id(), p->id()),
                    true);
    case detail::verdict::busy:
      // With a dialer, what waits stays for a retry (until the connect deadline).
      if (endpoint_.dialer) p->yield(&c);
      return refuse(refusal::by_peer,
                    fmt::format("node {} refused the connection: {}", p->id(), v.why), false);
    case detail::verdict::refused: {
      // Another process holds this node's ID there, or its build cannot share a network
      // with this one: retrying cannot help. The connection ends first, then the peer gives
      // up on its node.
      p->yield(&c);
      step s =
          refuse(refusal::by_peer,
                 fmt::format("node {} refused the connection for good: {}", p->id(), v.why), false);
      s.for_good = true;
      return s;
    }
    case detail::verdict::bad_proof:
      break;  // handled above
  }
  return {};
}

}  // namespace coport::transport
