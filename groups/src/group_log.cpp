// coport::groups::detail::group_log — see group_log.hpp.
#include "group_log.hpp"

#include <algorithm>

namespace coport::groups::detail {

const group_log::entry& group_log::number(item it, std::size_t weight) {
  it.seq = next_seq_++;
  if (!it.stream.is_null()) senders_.numbered(it.stream, it.stream_seq);
  auto before = members_.nodes();
  const std::size_t at = members_.apply(it);
  // A leave goes to the nodes that had members (the leaving member's too).
  auto targets = it.kind == item_kind::leave ? before : members_.nodes();
  return history_.push(entry{std::move(it), std::move(targets), weight, at});
}

std::uint64_t group_log::snapshot_from(bool with_kept) const {
  std::uint64_t from = released_;
  if (with_kept && history_.first() != 0) from = std::min(from, history_.first() - 1);
  return from;
}

std::uint64_t group_log::accept(item it) {
  ++next_seq_;
  auto before = members_.nodes();
  const std::size_t at = members_.apply(it);
  std::uint64_t seq = it.seq;
  const std::size_t weight = item_weight(it);
  // A leave goes to the nodes that had members, as the master sends it.
  auto targets = it.kind == item_kind::leave ? std::move(before) : members_.nodes();
  if (!it.stream.is_null()) {
    senders_.waits_from(it.stream, it.stream_low);  // (what the sender gave up leaves no gap)
    senders_.numbered(it.stream, it.stream_seq);
    senders_.released(it.stream, it.stream_seq, false);
  }
  history_.push(entry{std::move(it), std::move(targets), weight, at});
  released_ = seq;  // (a standby's trim bound)
  history_.trim(released_);
  return seq;
}

void group_log::reset(std::uint64_t epoch, std::uint64_t last, std::vector<port_id> members) {
  epoch_ = epoch;
  next_seq_ = last + 1;
  released_ = last;
  history_.clear();
  senders_.clear();
  members_.assign(std::move(members));
}

void group_log::roll_back(std::uint64_t last) {
  for (std::uint64_t q = last + 1; q < next_seq_; ++q) {
    const entry* e = history_.find(q);
    if (e && !e->it.stream.is_null()) senders_.unnumber(e->it.stream, e->it.stream_seq);
  }
  std::vector<port_id> members = members_.list();
  history_.drop_after(last, members);
  next_seq_ = std::min(next_seq_, last + 1);
  members_.assign(std::move(members));
}

}  // namespace coport::groups::detail
