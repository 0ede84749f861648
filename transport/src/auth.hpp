#pragma once
/// \file
/// The handshake's cryptography (OpenSSL): hello nonces and the HMAC-SHA256 each side sends
/// over both hellos, so that only holders of the shared secret finish a handshake and a
/// recorded handshake cannot be replayed (the other side's nonce is new every time).
///
/// Threading: plain functions, safe from any thread.

#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

namespace coport::transport::detail {

/// `n` bytes from OpenSSL's CSPRNG.
std::vector<std::byte> random_bytes(std::size_t n);

/// What the sender of `first` proves to the sender of `second`:
/// HMAC-SHA256(secret, "coport-auth-v2" | len | first | len | second). Empty without a secret.
std::vector<std::byte> handshake_mac(std::string_view secret, std::span<const std::byte> first,
                                     std::span<const std::byte> second);

/// Compares two MACs in constant time.
bool same_mac(std::span<const std::byte> a, std::span<const std::byte> b) noexcept;

}  // namespace coport::transport::detail
