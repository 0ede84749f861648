// TLS 1.3 with mutual authentication over memory BIOs (see tls.hpp).
#include "tls.hpp"

#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <stdexcept>

namespace coport::transport {

namespace {

/// OpenSSL's queued errors as one line (and the queue emptied).
std::string openssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    // "error:0A000086:SSL routines::certificate verify failed" -> after the last "::" or ":".
    std::string text = buf;
    auto at = text.rfind(':');
    out += at == std::string::npos ? text : text.substr(at + 1);
  }
  return out.empty() ? std::string{"unknown TLS error"} : out;
}

}  // namespace

tls_context::tls_context(const tls_options& o) {
  auto fail = [&](const std::string& what) {
    std::string why = openssl_errors();
    if (ctx_) SSL_CTX_free(ctx_);
    ctx_ = nullptr;
    return std::invalid_argument{fmt::format("coport: TLS: {}: {}", what, why)};
  };
  if (o.cert.empty() || o.key.empty() || o.ca.empty()) {
    throw std::invalid_argument{"coport: TLS needs cert, key and ca (PEM files)"};
  }
  ERR_clear_error();
  ctx_ = SSL_CTX_new(TLS_method());
  if (!ctx_) throw fail("cannot make a context");
  SSL_CTX_set_min_proto_version(ctx_, TLS1_3_VERSION);
  if (SSL_CTX_use_certificate_chain_file(ctx_, o.cert.c_str()) != 1) {
    throw fail(fmt::format("certificate '{}'", o.cert));
  }
  if (SSL_CTX_use_PrivateKey_file(ctx_, o.key.c_str(), SSL_FILETYPE_PEM) != 1) {
    throw fail(fmt::format("key '{}'", o.key));
  }
  if (SSL_CTX_check_private_key(ctx_) != 1) {
    throw fail(fmt::format("key '{}' does not belong to certificate '{}'", o.key, o.cert));
  }
  if (SSL_CTX_load_verify_locations(ctx_, o.ca.c_str(), nullptr) != 1) {
    throw fail(fmt::format("CA '{}'", o.ca));
  }
  // Both ends must show a certificate that chains to the CA.
  SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  SSL_CTX_set_session_cache_mode(ctx_, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(ctx_, 0);
  SSL_CTX_set_mode(ctx_, SSL_MODE_ENABLE_PARTIAL_WRITE);
}

tls_context::~tls_context() {
  if (ctx_) SSL_CTX_free(ctx_);
}

tls_session::tls_session(std::shared_ptr<const tls_context> context, bool client)
    : context_{std::move(context)} {
  ssl_ = SSL_new(context_->get());
  if (!ssl_) throw std::runtime_error{"coport: TLS: cannot make a session: " + openssl_errors()};
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl_, in, out);
  if (client) {
    SSL_set_connect_state(ssl_);
  } else {
    SSL_set_accept_state(ssl_);
  }
}

tls_session::~tls_session() {
  if (ssl_) SSL_free(ssl_);
}

std::string tls_session::failure(int code, const char* what) {
  int e = SSL_get_error(ssl_, code);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return {};
  std::string why = openssl_errors();
  long verify = SSL_get_verify_result(ssl_);
  if (verify != X509_V_OK) {
    why += fmt::format(" ({})", X509_verify_cert_error_string(verify));
  }
  if (e == SSL_ERROR_ZERO_RETURN) why = "the peer ended TLS";
  return fmt::format("TLS {} failed: {}", what, why);
}

std::string tls_session::handshake() {
  if (ready_) return {};
  ERR_clear_error();
  int r = SSL_do_handshake(ssl_);
  if (r == 1) {
    ready_ = true;
    return {};
  }
  std::string why = failure(r, "handshake");
  return why;
}

std::string tls_session::receive(std::span<const std::byte> bytes, std::vector<std::byte>& plain) {
  if (!bytes.empty()) {
    BIO_write(SSL_get_rbio(ssl_), bytes.data(), static_cast<int>(bytes.size()));
  }
  if (!ready_) {
    if (auto why = handshake(); !why.empty()) return why;
    if (!ready_) return {};
  }
  for (;;) {
    std::size_t at = plain.size();
    plain.resize(at + 16384);
    ERR_clear_error();
    int n = SSL_read(ssl_, plain.data() + at, 16384);
    if (n > 0) {
      plain.resize(at + static_cast<std::size_t>(n));
      continue;
    }
    plain.resize(at);
    return failure(n, "receiving");
  }
}

std::string tls_session::send(std::span<const std::byte> plain) {
  std::size_t done = 0;
  while (done < plain.size()) {
    ERR_clear_error();
    int n = SSL_write(ssl_, plain.data() + done, static_cast<int>(plain.size() - done));
    if (n <= 0) {
      auto why = failure(n, "sending");
      return why.empty() ? std::string{"TLS sending failed: the session is not ready"} : why;
    }
    done += static_cast<std::size_t>(n);
  }
  return {};
}

void tls_session::take_output(std::vector<std::byte>& out) {
  BIO* b = SSL_get_wbio(ssl_);
  std::size_t pending = BIO_ctrl_pending(b);
  if (pending == 0) return;
  std::size_t at = out.size();
  out.resize(at + pending);
  int n = BIO_read(b, out.data() + at, static_cast<int>(pending));
  out.resize(at + static_cast<std::size_t>(n > 0 ? n : 0));
}

std::string tls_session::peer_subject() const {
  X509* cert = SSL_get0_peer_certificate(ssl_);
  if (!cert) return {};
  char buf[256] = {};
  X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof buf - 1);
  return buf;
}

std::vector<std::string> tls_session::certificate_node_ids() const {
  if (!ready_ || SSL_get_verify_result(ssl_) != X509_V_OK) return {};
  X509* cert = SSL_get0_peer_certificate(ssl_);
  return cert ? node_ids_in_certificate(cert) : std::vector<std::string>{};
}

bool tls_session::certificate_names(std::string_view node_id) const {
  if (node_id.empty()) return false;
  for (const auto& id : certificate_node_ids()) {
    if (id == node_id) return true;
  }
  return false;
}

std::vector<std::string> node_ids_in_certificate(X509* cert) {
  std::vector<std::string> ids;
  constexpr std::string_view scheme = "coport:";
  int critical = 0;
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, &critical, nullptr));
  if (!names && critical != -1) return {};  // several subjectAltName extensions, or a bad one
  bool any_uri = false;
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type != GEN_URI) continue;
    const ASN1_IA5STRING* uri = name->d.uniformResourceIdentifier;
    std::string_view text{reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                          static_cast<std::size_t>(ASN1_STRING_length(uri))};
    if (text.substr(0, scheme.size()) != scheme) continue;
    any_uri = true;
    ids.emplace_back(text.substr(scheme.size()));
  }
  GENERAL_NAMES_free(names);
  if (any_uri) return ids;
  // No coport: URI: the CN, when there is exactly one.
  X509_NAME* subject = X509_get_subject_name(cert);
  int at = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (at < 0 || X509_NAME_get_index_by_NID(subject, NID_commonName, at) >= 0) return {};
  unsigned char* utf8 = nullptr;
  int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at)));
  if (n < 0) return {};
  ids.emplace_back(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(n));
  OPENSSL_free(utf8);
  return ids;
}

}  // namespace coport::transport
