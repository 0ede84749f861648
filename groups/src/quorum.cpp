// coport::groups::detail::quorum — see quorum.hpp.
#include "quorum.hpp"

#include <algorithm>
#include <functional>

namespace coport::groups::detail {

std::uint64_t quorum::held_by_majority(std::uint64_t last,
                                       std::vector<std::uint64_t>& acked) const {
  acked.push_back(last);
  const std::size_t q = majority();
  if (acked.size() < q) return 0;
  // The q-th highest: q holders have at least it.
  std::nth_element(acked.begin(), acked.begin() + static_cast<std::ptrdiff_t>(q - 1), acked.end(),
                   std::greater<>{});
  return acked[q - 1];
}

bool quorum::vote(std::uint64_t epoch, const std::string& node) {
  if (candidacy_ == 0 || epoch != candidacy_) return false;
  voters_.insert(node);
  return voters_.size() + 1 >= majority();
}

bool quorum::told(const std::string& node, std::uint64_t epoch) {
  told_.insert(node);
  newest_told_ = std::max(newest_told_, epoch);
  return told_.size() >= homes_ - majority() + 1;
}

}  // namespace coport::groups::detail
