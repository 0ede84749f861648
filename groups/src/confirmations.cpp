// coport::groups::detail::confirmations — see confirmations.hpp.
#include "confirmations.hpp"

namespace coport::groups::detail {

void confirmations::later() {
  if (++waiting_ >= confirm_batch) {
    if (!sent_) n_.snd(self_, confirm_msg, std::uint64_t{1});
    sent_ = true;
  } else if (!timed_) {
    n_.after(confirm_delay, self_, confirm_msg, std::uint64_t{0});
    timed_ = true;
  }
}

}  // namespace coport::groups::detail
