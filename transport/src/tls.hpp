#pragma once
/// \file
/// transport::tls_context / tls_session — TLS 1.3 with mutual authentication over a byte
/// stream, with OpenSSL's memory BIOs: the channel hands received bytes in and takes bytes
/// to send out, so TLS adds no thread, socket or buffer policy of its own (this is what
/// Asio's ssl::stream does inside, minus its one-operation-at-a-time rule, which the
/// channel's batched writes from many threads would have to work around). The session
/// tells which node IDs the peer's certificate names, for the protocol to check against
/// the ID the peer's hello claims.
/// Threading: a context is shared and immutable after construction; a session is used by
/// one channel's strand only. Lifetime: a session holds its context.
/// May include: coport/transport/tcp.hpp and the standard library (Asio and OpenSSL stay in
/// tls.cpp).

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "coport/transport/tcp.hpp"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;
typedef struct x509_st X509;

namespace coport::transport {

/// The certificates of one node: its own chain and key, and the CA peers must chain to.
class tls_context {
 public:
  /// Loads the files; throws std::invalid_argument naming the file and OpenSSL's reason.
  explicit tls_context(const tls_options& options);
  ~tls_context();
  tls_context(const tls_context&) = delete;
  tls_context& operator=(const tls_context&) = delete;
  SSL_CTX* get() const noexcept { return ctx_; }

 private:
  SSL_CTX* ctx_ = nullptr;
};

/// The node IDs a certificate names: each subjectAltName URI `coport:<nodeid>` (the
/// preferred form, several allowed), or, only when there is no such URI, the subject's CN
/// when it has exactly one. Other alternative names (DNS, other URI schemes) name no node.
/// Empty: it names none (no coport: URI and no single CN, or a malformed or repeated
/// subjectAltName extension).
std::vector<std::string> node_ids_in_certificate(X509* cert);

/// One connection's TLS state.
class tls_session {
 public:
  /// `client`: this end opened the connection (and speaks first).
  tls_session(std::shared_ptr<const tls_context> context, bool client);
  ~tls_session();
  tls_session(const tls_session&) = delete;
  tls_session& operator=(const tls_session&) = delete;

  /// True once both ends proved their certificates.
  bool ready() const noexcept { return ready_; }
  /// Starts (client) or continues the handshake; "" or why it failed.
  std::string handshake();
  /// Takes received bytes; appends the plaintext they complete to `plain`. Returns "" or
  /// why the connection cannot go on (a bad certificate, a corrupt record).
  std::string receive(std::span<const std::byte> bytes, std::vector<std::byte>& plain);
  /// Encrypts `plain` (after the handshake); "" or why not.
  std::string send(std::span<const std::byte> plain);
  /// Moves the bytes waiting to go to the peer (records, alerts) to the end of `out`.
  void take_output(std::vector<std::byte>& out);
  /// What the peer's certificate says (subject), once ready.
  std::string peer_subject() const;
  /// The node IDs the peer's certificate names (see node_ids_in_certificate); none before
  /// the handshake ended with a certificate that chains to the CA.
  std::vector<std::string> certificate_node_ids() const;
  /// True when the peer's certificate names node `node_id` (exactly, case and all): what
  /// the protocol checks against the ID the peer claims in its hello, so that a certificate
  /// the CA signed for one node is no use for another. False before the handshake's end
  /// and for "".
  bool certificate_names(std::string_view node_id) const;

 private:
  std::string failure(int code, const char* what);

  std::shared_ptr<const tls_context> context_;
  SSL* ssl_ = nullptr;
  bool ready_ = false;
};

}  // namespace coport::transport
