#pragma once
/// \file
/// Test support: numbers from the environment (seeds, counts, durations a run may change).

#include <cstdint>
#include <cstdlib>

namespace coport::test {

/// The environment variable `name` as a number, or `fallback` when it is unset or empty.
inline std::uint64_t env_number(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 10) : fallback;
}

}  // namespace coport::test
