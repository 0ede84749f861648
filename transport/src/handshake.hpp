#pragma once
/// \file
/// transport::handshake — how two nodes open a channel (protocol version 5): the frames, the
/// order, the proofs and the keys, with no sockets and no peers (the receiver acts on what
/// it says). One object per channel.
///
/// The protocol, as `link_handshake` (a receiver's side of it) follows it:
///
///     dialer (opened the channel)              acceptor
///     hello ------------------------------->   <------------------------------ hello
///       (both at once: highest version, node ID, incarnation, 16-byte nonce, addresses,
///        flags, lowest version, capabilities, what it says of its application; a newer
///        peer's hello may go on after them)
///     both use the highest version both speak, or both refuse (saying which they speak)
///     auth(0, "", proof_d) ---------------->   checks proof_d; only now is the ID believed
///                                              (interned, a peer slot asked for)
///                                          <-- auth(verdict, why, proof_a)
///     checks proof_a (a refusal is proven too)
///     from here each side's bytes after its own auth frame are records (record.hpp)
///
/// With a secret, the proofs and the record keys come from the secret and the transcript
/// (both hellos, so both nonces), through HKDF-SHA256 with a label per use and direction:
///
///     transcript = "coport-v3" | u32 len | dialer's hello body | u32 len | acceptor's hello body
///     prk      = HKDF-Extract(salt = SHA-256(transcript), secret)
///     proof_d  = HMAC-SHA256(HKDF-Expand(prk, "coport-v3 dialer proof"), transcript)
///     proof_a  = HMAC-SHA256(HKDF-Expand(prk, "coport-v3 acceptor proof"),
///                            transcript | verdict | u32 len | why)
///     records  = HKDF-Expand(prk, "coport-v3 dialer->acceptor" / "acceptor->dialer"): key, IV
///
/// A relay that forwards the real hellos and proofs between two nodes learns no key, so
/// everything it writes after them fails its record's tag. The acceptor proves nothing to a
/// dialer that has not proved the secret first (no oracle for guessing it offline from a
/// connection). Without a secret there are no proofs and no records (loopback, tests).
///
/// Before a proof checks out a channel is an attacker's: the receiver reads only hello
/// and auth frames of at most `max_handshake_frame` bytes, and this object keeps only the
/// two hellos.
///
/// Roles: the hello's `opened` flag says who opened the channel. On a channel both ends
/// opened (an in-memory link) the node with the smaller ID dials.
///
/// Threading: none (the receiver's). Lifetime: the receiver's.
/// May include: frame, record, coport/wire, the standard library (no I/O, no OpenSSL in the
/// header).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "coport/wire/reader.hpp"
#include "frame.hpp"
#include "record.hpp"

namespace coport::transport::detail {

/// A frame before the proof (hello, auth) is at most this long: a hello is at most ~7.2 KB.
inline constexpr std::size_t max_handshake_frame = 8 << 10;
/// Secrets shorter than this many bytes are refused unless the options say `insecure`
/// (128 bits as base62: 22 characters; `coport gensecret` makes 32).
inline constexpr std::size_t min_secret = 22;

/// What an acceptor answers a dialer's proof with.
enum class verdict : std::uint8_t {
  accept = 0,        ///< the channel is kept
  simultaneous = 1,  ///< both connected at once; the acceptor's own channel is kept
  busy = 2,          ///< that node is connected or connecting already: try again later
  refused = 3,       ///< a node with that ID and another incarnation is up: give up
  bad_proof = 4,     ///< the dialer's proof failed: sent unproven (no oracle), informative only
};

/// A peer's hello.
struct hello {
  /// The versions it speaks (a hello older than version 5 names only `max_version`: then
  /// nothing else is read).
  std::uint64_t min_version = 0, max_version = 0;
  std::uint64_t capabilities = 0;  ///< capability_* bits (unknown ones kept, ignored)
  std::string id;
  std::uint32_t incarnation = 0;
  std::vector<std::string> addresses;
  bool opened = false;   ///< the sender opened the channel
  bool encrypt = false;  ///< the sender asks for encrypted records
  /// What it says of its application (transport_options::application); believed only once
  /// its proof checked out.
  std::vector<std::byte> application;
};

/// A verdict as the dialer read it.
struct peer_verdict {
  verdict what = verdict::accept;
  std::string why;
};

/// Keys for both directions of a channel, from this node's point of view.
struct channel_keys {
  record_keys send, receive;
  bool encrypt = false;
};

class handshake {
 public:
  /// `secret` empty: no proofs, no records. `opened`: this node opened the channel.
  handshake(std::string secret, bool opened, bool encrypt);

  /// Our hello frame: first on the channel, once.
  std::vector<std::byte> hello_frame(std::string_view id, std::uint32_t incarnation,
                                     const std::vector<std::string>& addresses,
                                     std::span<const std::byte> application = {});

  /// Reads the peer's hello body (throws wire::decode_error when malformed; a hello older
  /// than oldest_protocol_version is returned with only its version, for the caller to
  /// refuse) and settles the roles.
  hello take_hello(std::span<const std::byte> body, std::string_view own_id);
  /// This node dials (sends the first proof). Valid after take_hello.
  bool dialer() const noexcept { return dialer_; }

  /// The dialer's proof frame.
  std::vector<std::byte> proof_frame() const;
  /// The acceptor reads the dialer's proof (an auth frame's body): "" or why it fails.
  std::string check_proof(wire::reader& r) const;
  /// The acceptor's verdict frame, proven (except `bad_proof`, which proves nothing).
  std::vector<std::byte> verdict_frame(verdict v, std::string_view why) const;
  /// The dialer reads the acceptor's verdict: the verdict, or an error (a forged one).
  peer_verdict check_verdict(wire::reader& r, std::string& error) const;

  /// The record keys (after the proofs), or none without a secret.
  std::optional<channel_keys> keys() const;
  /// This channel's name, the same at both ends and never 0 (the first 8 bytes of the
  /// transcript's SHA-256: both hellos, both nonces): a link that starts fresh on it names
  /// its streams so (frame.hpp, resume). Valid once both hellos are known.
  std::uint64_t session() const;

 private:
  /// The transcript (valid once both hellos are known).
  std::vector<unsigned char> transcript() const;
  std::vector<unsigned char> proof(std::string_view label,
                                   std::span<const unsigned char> extra) const;

  const std::string secret_;
  const bool opened_;
  const bool want_encrypt_;
  bool dialer_ = false;
  bool encrypt_ = false;
  std::vector<std::byte> own_hello_, peer_hello_;
};

/// The version two nodes use: the highest both speak, or 0 when they share none.
std::uint64_t common_version(const hello& peer) noexcept;

/// Compares two MACs in constant time.
bool same_mac(std::span<const std::byte> a, std::span<const std::byte> b) noexcept;
/// `n` bytes from OpenSSL's CSPRNG.
std::vector<std::byte> random_bytes(std::size_t n);

}  // namespace coport::transport::detail
