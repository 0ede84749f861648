// The handshake of protocol version 5: frames, proofs and keys on OpenSSL (see handshake.hpp).
#include "handshake.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <stdexcept>

#include "coport/transport/transport.hpp"

#include "coport/port_id.hpp"
#include "coport/wire/writer.hpp"

namespace coport::transport::detail {

namespace {

constexpr std::uint8_t flag_opened = 1, flag_encrypt = 2;

void append_u32(std::vector<unsigned char>& out, std::size_t n) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<unsigned char>(n >> (8 * i)));
}

void append(std::vector<unsigned char>& out, std::span<const std::byte> part) {
  append_u32(out, part.size());
  auto* p = reinterpret_cast<const unsigned char*>(part.data());
  out.insert(out.end(), p, p + part.size());
}

/// HKDF-SHA256 (extract and expand) of `secret` with `salt` and `info`: `n` bytes.
std::vector<unsigned char> hkdf(std::string_view secret, std::span<const unsigned char> salt,
                                std::string_view info, std::size_t n) {
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  EVP_KDF_CTX* ctx = kdf ? EVP_KDF_CTX_new(kdf) : nullptr;
  EVP_KDF_free(kdf);
  if (!ctx) throw std::runtime_error{"coport: OpenSSL has no HKDF"};
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<char*>(secret.data()),
                                        secret.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
                                        const_cast<unsigned char*>(salt.data()), salt.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<char*>(info.data()),
                                        info.size()),
      OSSL_PARAM_construct_end()};
  std::vector<unsigned char> out(n);
  int ok = EVP_KDF_derive(ctx, out.data(), out.size(), params);
  EVP_KDF_CTX_free(ctx);
  if (ok != 1) throw std::runtime_error{"coport: OpenSSL could not derive a key (HKDF)"};
  return out;
}

}  // namespace

std::vector<std::byte> random_bytes(std::size_t n) {
  std::vector<std::byte> out(n);
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    throw std::runtime_error{"coport: OpenSSL could not make random bytes"};
  }
  return out;
}

bool same_mac(std::span<const std::byte> a, std::span<const std::byte> b) noexcept {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

handshake::handshake(std::string secret, bool opened, bool encrypt)
    : secret_{std::move(secret)}, opened_{opened}, want_encrypt_{encrypt} {}

// -- hello: versions, node ID, incarnation, nonce, addresses, flags, capabilities, application --

// The largest hello: a 10-byte version, the longest ID, a 5-byte incarnation, the nonce,
// 16 addresses of 256 bytes, the flags, two 10-byte varints and the application.
static_assert(frame_header + 10 + (2 + max_name) + 5 + (1 + nonce_size) +
                      (1 + max_addresses * (2 + max_address)) + 1 + 10 + 10 +
                      (2 + coport::transport::max_application) <=
                  max_handshake_frame,
              "a hello must fit a handshake frame");

std::vector<std::byte> handshake::hello_frame(std::string_view id, std::uint32_t incarnation,
                                              const std::vector<std::string>& addresses,
                                              std::span<const std::byte> application) {
  std::vector<std::byte> out;
  std::size_t start = begin_frame(out, frame_kind::hello);
  wire::writer w{out};
  w.varint(protocol_version);
  w.string(id);
  w.varint(incarnation);
  auto nonce = random_bytes(nonce_size);
  w.varint(nonce.size());
  w.raw(nonce.data(), nonce.size());
  w.varint(addresses.size());
  for (const auto& a : addresses) w.string(a);
  w.byte(
      static_cast<std::uint8_t>((opened_ ? flag_opened : 0) | (want_encrypt_ ? flag_encrypt : 0)));
  w.varint(oldest_protocol_version);
  w.varint(own_capabilities);
  w.varint(application.size());
  w.raw(application.data(), application.size());
  end_frame(out, start);
  own_hello_.assign(out.begin() + static_cast<std::ptrdiff_t>(start + frame_header), out.end());
  return out;
}

hello handshake::take_hello(std::span<const std::byte> body, std::string_view own_id) {
  peer_hello_.assign(body.begin(), body.end());
  wire::reader r{body};
  hello h;
  h.max_version = r.varint();
  // Before version 5 a hello named one version and then had another layout: not read on.
  if (h.max_version < oldest_protocol_version) {
    h.min_version = h.max_version;
    return h;  // the caller refuses it, saying why
  }
  std::string_view id = r.string_view();
  if (id.size() > max_name || !valid_node_id(id)) {
    wire::reader::fail("the hello's node ID is malformed");
  }
  h.id = std::string{id};
  std::uint64_t inc = r.varint();
  if (inc == 0 || inc > 0xffffffffu) wire::reader::fail("the hello's incarnation is invalid");
  h.incarnation = static_cast<std::uint32_t>(inc);
  if (r.count(1) != nonce_size) wire::reader::fail("the hello's nonce has the wrong size");
  r.raw(nonce_size);
  std::size_t count = r.count(1);
  if (count > max_addresses) wire::reader::fail("the hello names too many addresses");
  for (std::size_t i = 0; i < count; ++i) {
    std::string_view a = r.string_view();
    if (a.size() > max_address) wire::reader::fail("an address in the hello is too long");
    h.addresses.emplace_back(a);
  }
  std::uint8_t flags = r.byte();
  if (flags & ~(flag_opened | flag_encrypt)) wire::reader::fail("the hello's flags are unknown");
  h.min_version = r.varint();
  if (h.min_version == 0 || h.min_version > h.max_version) {
    wire::reader::fail("the hello's versions are not a range");
  }
  h.capabilities = r.varint();
  std::size_t said = r.count(1);
  if (said > coport::transport::max_application)
    wire::reader::fail("the hello says too much of its application");
  auto application = r.raw(said);
  h.application.assign(application.begin(), application.end());
  // A newer build may say more after its capabilities (a later version's fields); this one
  // reads what it knows. A hello of no newer version has nothing after them.
  if (!r.done() && h.max_version <= protocol_version) {
    wire::reader::fail("a frame has bytes after its end");
  }
  h.opened = flags & flag_opened;
  h.encrypt = flags & flag_encrypt;
  if (!opened_ && !h.opened) wire::reader::fail("neither end says it opened the channel");
  // Both opened it (an in-memory link): the smaller ID dials.
  dialer_ = opened_ && (!h.opened || own_id < h.id);
  encrypt_ = want_encrypt_ || h.encrypt;
  return h;
}

std::uint64_t common_version(const hello& peer) noexcept {
  std::uint64_t highest = std::min<std::uint64_t>(protocol_version, peer.max_version);
  std::uint64_t lowest = std::max<std::uint64_t>(oldest_protocol_version, peer.min_version);
  return highest >= lowest ? highest : 0;
}

// -- proofs and keys -------------------------------------------------------------------------

std::vector<unsigned char> handshake::transcript() const {
  constexpr std::string_view label = "coport-v3";  // the labels of version 3 still hold
  std::vector<unsigned char> t(label.begin(), label.end());
  t.reserve(label.size() + 8 + own_hello_.size() + peer_hello_.size());
  append(t, dialer_ ? own_hello_ : peer_hello_);
  append(t, dialer_ ? peer_hello_ : own_hello_);
  return t;
}

std::uint64_t handshake::session() const {
  auto t = transcript();
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(t.data(), t.size(), digest);
  std::uint64_t s = 0;
  for (int i = 0; i < 8; ++i) s = s << 8 | digest[i];
  return s != 0 ? s : 1;
}

std::vector<unsigned char> handshake::proof(std::string_view label,
                                            std::span<const unsigned char> extra) const {
  auto t = transcript();
  unsigned char salt[SHA256_DIGEST_LENGTH];
  SHA256(t.data(), t.size(), salt);
  auto key = hkdf(secret_, salt, label, 32);
  t.insert(t.end(), extra.begin(), extra.end());
  std::vector<unsigned char> mac(EVP_MAX_MD_SIZE);
  unsigned int length = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), t.data(), t.size(), mac.data(),
            &length)) {
    throw std::runtime_error{"coport: OpenSSL could not compute an HMAC"};
  }
  mac.resize(length);
  return mac;
}

namespace {

/// What the acceptor's proof covers beyond the transcript: the verdict and why.
std::vector<unsigned char> verdict_bytes(verdict v, std::string_view why) {
  std::vector<unsigned char> out{static_cast<unsigned char>(v)};
  append_u32(out, why.size());
  out.insert(out.end(), why.begin(), why.end());
  return out;
}

/// An auth frame: u8 status, string why, varint length, proof.
std::vector<std::byte> auth_frame(verdict v, std::string_view why,
                                  std::span<const unsigned char> mac) {
  std::vector<std::byte> out;
  std::size_t start = begin_frame(out, frame_kind::auth);
  wire::writer w{out};
  w.byte(static_cast<std::uint8_t>(v));
  w.string(why);
  w.varint(mac.size());
  w.raw(reinterpret_cast<const std::byte*>(mac.data()), mac.size());
  end_frame(out, start);
  return out;
}

constexpr std::size_t max_proof = 64;
constexpr std::size_t max_why = 512;

}  // namespace

std::vector<std::byte> handshake::proof_frame() const {
  if (secret_.empty()) return auth_frame(verdict::accept, {}, {});
  return auth_frame(verdict::accept, {}, proof("coport-v3 dialer proof", {}));
}

std::string handshake::check_proof(wire::reader& r) const {
  if (r.byte() != 0) wire::reader::fail("a dialer's auth frame carries a verdict");
  if (!r.string_view().empty()) wire::reader::fail("a dialer's auth frame carries a reason");
  std::size_t size = r.count(1);
  if (size > max_proof) wire::reader::fail("an auth frame's proof is too long");
  auto got = r.raw(size);
  if (!r.done()) wire::reader::fail("a frame has bytes after its end");
  if (secret_.empty() != (size == 0)) {
    return secret_.empty() ? "the peer has a secret and this node has none"
                           : "the peer has no secret and this node has one";
  }
  if (secret_.empty()) return {};
  auto expected = proof("coport-v3 dialer proof", {});
  if (!same_mac(got, std::as_bytes(std::span{expected}))) {
    return "its proof does not match (the secrets differ, or the handshake was replayed or "
           "relayed)";
  }
  return {};
}

std::vector<std::byte> handshake::verdict_frame(verdict v, std::string_view why) const {
  if (why.size() > max_why) why = why.substr(0, max_why);
  if (secret_.empty() || v == verdict::bad_proof) return auth_frame(v, why, {});
  return auth_frame(v, why, proof("coport-v3 acceptor proof", verdict_bytes(v, why)));
}

peer_verdict handshake::check_verdict(wire::reader& r, std::string& error) const {
  peer_verdict out;
  std::uint8_t status = r.byte();
  if (status > static_cast<std::uint8_t>(verdict::bad_proof)) {
    wire::reader::fail("an auth frame of unknown status");
  }
  out.what = static_cast<verdict>(status);
  std::string_view why = r.string_view();
  if (why.size() > max_why) wire::reader::fail("a verdict's reason is too long");
  out.why = std::string{why};
  std::size_t size = r.count(1);
  if (size > max_proof) wire::reader::fail("an auth frame's proof is too long");
  auto got = r.raw(size);
  if (!r.done()) wire::reader::fail("a frame has bytes after its end");
  if (out.what == verdict::bad_proof) return out;  // unproven: the caller believes no more
  if (secret_.empty() != (size == 0)) {
    error = secret_.empty() ? "the peer has a secret and this node has none"
                            : "the peer has no secret and this node has one";
    return out;
  }
  if (secret_.empty()) return out;
  auto expected = proof("coport-v3 acceptor proof", verdict_bytes(out.what, why));
  if (!same_mac(got, std::as_bytes(std::span{expected}))) {
    error =
        "its proof does not match (the secrets differ, or the handshake was replayed or "
        "relayed)";
  }
  return out;
}

std::optional<channel_keys> handshake::keys() const {
  if (secret_.empty()) return std::nullopt;
  auto t = transcript();
  unsigned char salt[SHA256_DIGEST_LENGTH];
  SHA256(t.data(), t.size(), salt);
  auto make = [&](std::string_view label) {
    auto bytes = hkdf(secret_, salt, label, 32 + 12);
    record_keys k;
    std::copy(bytes.begin(), bytes.begin() + 32, k.key.begin());
    std::copy(bytes.begin() + 32, bytes.end(), k.iv.begin());
    OPENSSL_cleanse(bytes.data(), bytes.size());
    return k;
  };
  record_keys d2a = make("coport-v3 dialer->acceptor"), a2d = make("coport-v3 acceptor->dialer");
  channel_keys keys;
  keys.send = dialer_ ? d2a : a2d;
  keys.receive = dialer_ ? a2d : d2a;
  keys.encrypt = encrypt_;
  return keys;
}

}  // namespace coport::transport::detail
