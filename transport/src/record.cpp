// The record layer after the handshake: AES-256-GCM records on OpenSSL (see record.hpp).
#include "record.hpp"

#include <fmt/format.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <cstring>
#include <stdexcept>

namespace coport::transport::detail {

namespace {

EVP_CIPHER_CTX* new_ctx(const record_keys& keys, int encrypt) {
  EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
  if (!c ||
      EVP_CipherInit_ex(c, EVP_aes_256_gcm(), nullptr, keys.key.data(), nullptr, encrypt) != 1) {
    EVP_CIPHER_CTX_free(c);
    throw std::runtime_error{"coport: OpenSSL could not set up AES-256-GCM"};
  }
  return c;
}

/// The nonce of record `n`: the IV with the record number XORed into its last 8 bytes.
std::array<unsigned char, 12> nonce_of(const record_keys& keys, std::uint64_t n) {
  std::array<unsigned char, 12> nonce = keys.iv;
  for (int i = 0; i < 8; ++i) nonce[11 - i] ^= static_cast<unsigned char>(n >> (8 * i));
  return nonce;
}

unsigned char* u8(std::byte* p) {
  return reinterpret_cast<unsigned char*>(p);
}

}  // namespace

void record_sealer::ctx_deleter::operator()(void* p) const noexcept {
  EVP_CIPHER_CTX_free(static_cast<EVP_CIPHER_CTX*>(p));
}
void record_opener::ctx_deleter::operator()(void* p) const noexcept {
  EVP_CIPHER_CTX_free(static_cast<EVP_CIPHER_CTX*>(p));
}

record_sealer::record_sealer(const record_keys& keys, bool encrypt)
    : ctx_{new_ctx(keys, 1)}, keys_{keys}, encrypt_{encrypt} {}

record_sealer::~record_sealer() = default;

void record_sealer::seal(std::span<const std::byte> plain, std::vector<std::byte>& out) {
  while (!plain.empty()) {
    std::size_t n = std::min(plain.size(), max_record);
    // Room for the header, then the plaintext, sealed where it lies (appended, not resized:
    // a resize would zero every byte before it is overwritten).
    std::size_t at = out.size();
    std::byte header[record_header]{};
    out.insert(out.end(), header, header + record_header);
    out.insert(out.end(), plain.begin(), plain.begin() + static_cast<std::ptrdiff_t>(n));
    seal_in_place(out, at);
    plain = plain.subspan(n);
  }
}

void record_sealer::seal_in_place(std::vector<std::byte>& buf, std::size_t at) {
  auto* c = static_cast<EVP_CIPHER_CTX*>(ctx_.get());
  std::size_t n = buf.size() - at - record_header;
  std::byte* rec = buf.data() + at;
  auto length = static_cast<std::uint32_t>(n);
  for (int i = 0; i < 4; ++i) rec[i] = static_cast<std::byte>(length >> (8 * i));
  auto nonce = nonce_of(keys_, next_++);
  int len = 0;
  bool ok = n > 0 && n <= max_record &&
            EVP_EncryptInit_ex(c, nullptr, nullptr, nullptr, nonce.data()) == 1;
  if (encrypt_) {
    ok = ok && EVP_EncryptUpdate(c, nullptr, &len, u8(rec), record_header) == 1;
    ok = ok && EVP_EncryptUpdate(c, u8(rec + record_header), &len, u8(rec + record_header),
                                 static_cast<int>(n)) == 1;
  } else {
    ok = ok &&
         EVP_EncryptUpdate(c, nullptr, &len, u8(rec), static_cast<int>(record_header + n)) == 1;
  }
  std::byte tag[record_tag];
  ok = ok && EVP_EncryptFinal_ex(c, u8(tag), &len) == 1;
  // The tag through the parameter itself, not the ctrl that OpenSSL 3 translates to one.
  OSSL_PARAM get_tag[] = {
      OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, record_tag),
      OSSL_PARAM_construct_end()};
  ok = ok && EVP_CIPHER_CTX_get_params(c, get_tag) == 1;
  if (!ok) throw std::runtime_error{"coport: OpenSSL could not seal a record"};
  buf.insert(buf.end(), tag, tag + record_tag);
}

record_opener::record_opener(const record_keys& keys, bool encrypt)
    : ctx_{new_ctx(keys, 0)}, keys_{keys}, encrypt_{encrypt} {}

record_opener::~record_opener() = default;

std::string record_opener::open(std::span<std::byte> bytes, sink& to) {
  if (failed_) return "the stream failed authentication before";
  auto length_of = [](const std::byte* p) {
    return std::uint32_t(std::to_integer<std::uint8_t>(p[0])) |
           std::uint32_t(std::to_integer<std::uint8_t>(p[1])) << 8 |
           std::uint32_t(std::to_integer<std::uint8_t>(p[2])) << 16 |
           std::uint32_t(std::to_integer<std::uint8_t>(p[3])) << 24;
  };
  auto check_length = [&](std::uint32_t n) -> std::string {
    if (n == 0 || n > max_record) {
      failed_ = true;
      return fmt::format("a record of {} bytes (1 to {} are valid)", n, max_record);
    }
    return {};
  };
  if (!partial_.empty()) {
    // Complete the record begun earlier: take only its bytes from `bytes`.
    if (partial_.size() < record_header) {
      std::size_t take = std::min(record_header - partial_.size(), bytes.size());
      partial_.insert(partial_.end(), bytes.begin(), bytes.begin() + static_cast<long>(take));
      bytes = bytes.subspan(take);
      if (partial_.size() < record_header) return {};
    }
    std::uint32_t n = length_of(partial_.data());
    if (auto why = check_length(n); !why.empty()) return why;
    std::size_t whole = record_header + n + record_tag;
    std::size_t take = std::min(whole - partial_.size(), bytes.size());
    partial_.insert(partial_.end(), bytes.begin(), bytes.begin() + static_cast<long>(take));
    bytes = bytes.subspan(take);
    if (partial_.size() < whole) return {};
    // Opened in place; the buffer keeps its capacity for the next record that spans reads
    // (a fresh 64 KiB+ buffer per record cost page faults on every one).
    std::string why = open_one(partial_, to);
    partial_.clear();
    if (!why.empty()) return why;
  }
  while (bytes.size() >= record_header) {
    std::uint32_t n = length_of(bytes.data());
    if (auto why = check_length(n); !why.empty()) return why;
    std::size_t whole = record_header + n + record_tag;
    if (bytes.size() < whole) break;
    if (auto why = open_one(bytes.first(whole), to); !why.empty()) return why;
    bytes = bytes.subspan(whole);
  }
  partial_.assign(bytes.begin(), bytes.end());
  return {};
}

std::string record_opener::open_one(std::span<std::byte> r, sink& to) {
  auto* c = static_cast<EVP_CIPHER_CTX*>(ctx_.get());
  std::size_t n = r.size() - record_header - record_tag;
  std::byte* body = r.data() + record_header;
  auto nonce = nonce_of(keys_, next_);
  int len = 0;
  bool ok = EVP_DecryptInit_ex(c, nullptr, nullptr, nullptr, nonce.data()) == 1;
  if (encrypt_) {
    ok = ok && EVP_DecryptUpdate(c, nullptr, &len, u8(r.data()), record_header) == 1;
    ok = ok && EVP_DecryptUpdate(c, u8(body), &len, u8(body), static_cast<int>(n)) == 1;
  } else {
    ok = ok && EVP_DecryptUpdate(c, nullptr, &len, u8(r.data()),
                                 static_cast<int>(record_header + n)) == 1;
  }
  OSSL_PARAM set_tag[] = {
      OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, body + n, record_tag),
      OSSL_PARAM_construct_end()};
  ok = ok && EVP_CIPHER_CTX_set_params(c, set_tag) == 1;
  ok = ok && EVP_DecryptFinal_ex(c, u8(body + n), &len) == 1;
  if (!ok) {
    failed_ = true;
    return fmt::format(
        "record {} failed authentication (forged, altered, replayed, reordered or lost)", next_);
  }
  ++next_;
  to.on_plain({body, n});
  return {};
}

}  // namespace coport::transport::detail
