#pragma once
/// \file
/// transport::link_handshake — a receiver's side of the handshake (handshake.hpp is the
/// protocol itself, without sockets or peers): what this node does with the peer's hello and
/// auth frames. It checks the hello against this node (protocol version, its own ID, the node
/// the channel was opened to, the channel's certificate), believes the ID only once it is
/// proved, then claims that node's peer slot and offers it the receiver (acceptor) or reads
/// the acceptor's verdict (dialer). It writes the handshake's frames to the channel; what the
/// receiver does next (wait for more, take the node as up, refuse the channel) it returns.
///
/// Threading: none of its own; called from its receiver, under its lock.
/// Lifetime: a member of its receiver; the transport and the channel it refers to outlive
/// it (the receiver holds them).
/// May include: handshake, the transport's public headers, coport/wire.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "coport/transport/transport.hpp"
#include "coport/wire/reader.hpp"
#include "handshake.hpp"

namespace coport::transport {

class receiver;
class peer;

class link_handshake {
 public:
  /// What the receiver does after a handshake frame.
  struct step {
    enum class next : std::uint8_t {
      wait,    ///< the handshake goes on
      up,      ///< it succeeded: the node is up on this channel
      refuse,  ///< it failed: the channel ends (`why`)
    };
    next what = next::wait;
    std::string why;                  ///< refuse: the log line
    bool quiet = false;               ///< refuse: no blame on the peer (an info line, not counted)
    bool for_good = false;            ///< refuse: then the peer's node is unreachable, for `why`
    refusal kind = refusal::by_peer;  ///< refuse: why, for the counters
  };

  /// `opened`: this node opened the channel.
  link_handshake(endpoint::impl& at, channel& ch, bool opened);

  /// Our hello frame: first on the channel, once.
  std::vector<std::byte> hello_frame();
  /// The peer's hello arrived (every other frame waits for it).
  bool greeted() const noexcept { return hello_; }
  /// This node dials (sends the first proof, reads the verdict). Valid once greeted.
  bool dialer() const noexcept { return handshake_.dialer(); }

  /// Reads the peer's hello body; `expected`: the node the channel was opened to, or null.
  /// Throws wire::decode_error when it is malformed.
  step on_hello(std::span<const std::byte> body, const peer* expected);
  /// The acceptor reads the dialer's proof, and only then believes the ID it said: `p` (the
  /// receiver's peer, null when not yet known) is claimed for it, and `c` is offered to it.
  step on_proof(wire::reader& r, receiver& c, peer*& p);
  /// The dialer reads the acceptor's verdict; `p` and `c` as for on_proof.
  step on_verdict(wire::reader& r, receiver& c, peer*& p);

  /// What the proved hello said (valid once up).
  std::uint32_t peer_incarnation() const noexcept { return peer_incarnation_; }
  const std::vector<std::string>& peer_addresses() const noexcept { return peer_addresses_; }
  /// The protocol version the two use (the highest both speak) and the peer's capabilities.
  std::uint64_t version() const noexcept { return version_; }
  std::uint64_t peer_capabilities() const noexcept { return peer_capabilities_; }
  /// The record keys (once up), or none without a secret.
  std::optional<detail::channel_keys> keys() const { return handshake_.keys(); }
  /// The channel's name at both ends (handshake::session; once up).
  std::uint64_t session() const { return handshake_.session(); }

 private:
  static step up() { return {step::next::up, {}, false, false}; }
  static step refuse(refusal kind, std::string why, bool quiet) {
    return {step::next::refuse, std::move(why), quiet, false, kind};
  }
  /// Believes the ID the peer proved: interns it (bounded) and returns its peer slot, or
  /// null when none can be had.
  peer* claim_peer();

  endpoint::impl& endpoint_;
  channel& channel_;
  detail::handshake handshake_;
  bool hello_ = false;   ///< the peer's hello arrived
  std::string peer_id_;  ///< the ID the hello claims (believed after the proof)
  std::uint32_t peer_incarnation_ = 0;
  std::vector<std::string> peer_addresses_;
  std::uint64_t version_ = 0;
  std::uint64_t peer_capabilities_ = 0;
  std::vector<std::byte> peer_application_;  ///< what its hello said (believed after its proof)
};

}  // namespace coport::transport
