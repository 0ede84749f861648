#pragma once
/// \file
/// detail::seed_resolver — seed names looked up in DNS, off the node's workers and the
/// transport's I/O thread (a lookup blocks for as long as the system's resolver takes).
///
/// A seed "host:port" whose host is a name becomes every address the name has ("ip:port",
/// "[v6]:port"), each dialed as a seed of its own, so that a name behind which this node
/// itself is (a Kubernetes headless service, DNS round robin) marks only its own address as
/// itself. A seed "srv:_service._tcp.name" is looked up as DNS SRV records, and each target
/// with its port the same way. The mesh asks again every resolve interval, so that a
/// scaled-up service is found without a restart.
/// Threading: `resolve` from any thread; `done` runs on the resolver's thread, never after
/// the destructor has returned. Lifetime: the destructor does not wait for a lookup in
/// progress (its thread finishes it and then ends without calling anyone).
/// May include: the standard library.

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace coport::network::detail {

/// True when `seed` is "srv:" and a DNS name (letters, digits, '-', '.', '_'; at most 253).
bool valid_srv_seed(std::string_view seed);

/// True when `seed` ("host:port", "[v6]:port" or "srv:...") needs a lookup: its host is a name.
bool needs_lookup(const std::string& seed);

/// Looks `seed` up now (blocking): its addresses as "ip:port" / "[v6]:port", in the order the
/// resolver gave them, without repeats; empty with *error set when there are none.
std::vector<std::string> look_up(const std::string& seed, std::string* error);

class seed_resolver {
 public:
  /// What a lookup found for `seed` (addresses empty: `error` says why).
  using done_callback =
      std::function<void(const std::string& seed, const std::vector<std::string>& addresses,
                         const std::string& error)>;
  explicit seed_resolver(done_callback done);
  ~seed_resolver();
  seed_resolver(const seed_resolver&) = delete;
  seed_resolver& operator=(const seed_resolver&) = delete;

  /// Looks `seeds` up, one after the other; each result goes to `done`. A request made
  /// while one is in progress replaces any that waits.
  void resolve(std::vector<std::string> seeds);

  struct shared;

 private:
  std::shared_ptr<shared> shared_;
};

}  // namespace coport::network::detail
