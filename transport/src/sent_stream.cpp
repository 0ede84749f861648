// What a link keeps of its stream until the peer has taken it (see sent_stream.hpp).
#include "sent_stream.hpp"

#include <algorithm>

namespace coport::transport::detail {

void sent_stream::append(std::span<const std::byte> bytes) {
  end_ += bytes.size();
  if (!whole_) return;
  if (end_ - base_ > limit_) {
    // Too far ahead of the peer's acknowledgements: this stream cannot be resumed.
    whole_ = false;
    blocks_.clear();
    spare_.clear();
    skip_ = 0;
    return;
  }
  while (!bytes.empty()) {
    if (blocks_.empty() || blocks_.back().size() == block) {
      if (spare_.empty()) {
        // A new link's first block starts small and grows (by the vector's doubling) to a
        // block: an idle link keeps a few KiB, a busy one soon has whole blocks.
        blocks_.emplace_back().reserve(end_ - base_ < block ? first_block : block);
      } else {
        blocks_.push_back(std::move(spare_.back()));
        spare_.pop_back();
        blocks_.back().clear();
      }
    }
    auto& b = blocks_.back();
    std::size_t n = std::min(bytes.size(), block - b.size());
    b.insert(b.end(), bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
    bytes = bytes.subspan(n);
  }
}

bool sent_stream::acknowledge(std::uint64_t n) {
  if (n > end_) return false;
  if (n <= base_) return true;
  if (whole_) {
    std::uint64_t at = base_ - skip_;  // the stream offset of the front block's first byte
    while (!blocks_.empty() && at + blocks_.front().size() <= n) {
      at += blocks_.front().size();
      if (spare_.size() < max_spare) spare_.push_back(std::move(blocks_.front()));
      blocks_.pop_front();
    }
    skip_ = static_cast<std::size_t>(n - at);
    // Spare blocks are kept for as much as waits for the peer now (a fast stream's acks
    // apart), and one more: what a burst left on a link that went quiet is given back.
    while (spare_.size() > 1 && (spare_.size() - 1) * block > end_ - n) spare_.pop_back();
  }
  base_ = n;
  return true;
}

void sent_stream::copy_from(std::uint64_t from, std::vector<std::byte>& out) const {
  std::uint64_t at = base_ - skip_;  // the stream offset of the front block's first byte
  for (const auto& b : blocks_) {
    std::uint64_t b_end = at + b.size();
    if (b_end > from) {
      std::size_t start = from > at ? static_cast<std::size_t>(from - at) : 0;
      out.insert(out.end(), b.begin() + static_cast<std::ptrdiff_t>(start), b.end());
    }
    at = b_end;
  }
}

}  // namespace coport::transport::detail
