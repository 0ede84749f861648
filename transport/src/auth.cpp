// The handshake's cryptography, on OpenSSL (see auth.hpp).
#include "auth.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstdint>
#include <stdexcept>

namespace coport::transport::detail {

std::vector<std::byte> random_bytes(std::size_t n) {
  std::vector<std::byte> out(n);
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    throw std::runtime_error{"coport: OpenSSL could not make random bytes"};
  }
  return out;
}

std::vector<std::byte> handshake_mac(std::string_view secret, std::span<const std::byte> first,
                                     std::span<const std::byte> second) {
  if (secret.empty()) return {};
  // Each part is length-prefixed, so that no two different pairs give the same input.
  std::vector<unsigned char> input;
  constexpr std::string_view label = "coport-auth-v2";
  input.insert(input.end(), label.begin(), label.end());
  for (auto part : {first, second}) {
    auto n = static_cast<std::uint32_t>(part.size());
    for (int i = 0; i < 4; ++i) input.push_back(static_cast<unsigned char>(n >> (8 * i)));
    auto* p = reinterpret_cast<const unsigned char*>(part.data());
    input.insert(input.end(), p, p + part.size());
  }
  std::vector<std::byte> mac(EVP_MAX_MD_SIZE);
  unsigned int length = 0;
  if (!HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), input.data(),
            input.size(), reinterpret_cast<unsigned char*>(mac.data()), &length)) {
    throw std::runtime_error{"coport: OpenSSL could not compute an HMAC"};
  }
  mac.resize(length);
  return mac;
}

bool same_mac(std::span<const std::byte> a, std::span<const std::byte> b) noexcept {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace coport::transport::detail
