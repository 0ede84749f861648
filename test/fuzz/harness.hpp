#pragma once
/// \file
/// What the fuzz targets' harnesses share: a channel that sinks what a node writes to it,
/// the seed-writing switch, and (from test/support) the stepped node they all fuzz.
///
/// Threading: libFuzzer's one thread; nothing here is thread-safe. Lifetime: a sink_channel
/// is held by the connection a transport made over it (and by the harness, which reads it).
#include <coport/transport/transport.hpp>
#include <cstddef>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include "../support/nodes.hpp"

namespace coport::fuzz {

using test::stepped;

/// A channel that keeps the first MiB a node writes to it (a recording's traffic, for seeds)
/// and drops the rest; it never closes.
struct sink_channel : transport::channel {
  std::vector<std::byte> written;
  bool write(std::span<const std::byte> b) override {
    if (written.size() < (1 << 20)) written.insert(written.end(), b.begin(), b.end());
    return true;
  }
  void close(const std::string&) override {}
};

/// With COPORT_FUZZ_WRITE_SEEDS=DIR a target writes its seed corpus into DIR and the process
/// exits (from LLVMFuzzerInitialize, before any input); otherwise this does nothing.
template <class Write>
void write_seeds_if_asked(Write&& write_seeds) {
  if (const char* dir = std::getenv("COPORT_FUZZ_WRITE_SEEDS")) {
    write_seeds(std::string{dir});
    std::exit(0);
  }
}

}  // namespace coport::fuzz
