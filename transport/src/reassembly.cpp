// transport::reassembly — large records from their fragments, and the lines behind them.
#include "reassembly.hpp"

#include "coport/wire/reader.hpp"

namespace coport::transport {

std::optional<reassembly::whole> reassembly::add(const detail::fragment_frame& f) {
  auto it = records_.find(f.id);
  if (f.flags & detail::fragment_frame::first) {
    if (it != records_.end()) wire::reader::fail("a large message's ID is already open");
    if (records_.size() >= detail::max_open_records) {
      wire::reader::fail("too many large messages are open at once");
    }
    if (f.total > max_frame_) wire::reader::fail("a large message is over the maximum frame size");
    if (record_bytes_ + f.total > 2 * max_frame_) {
      wire::reader::fail("large messages open at once are over twice the maximum frame size");
    }
    record_bytes_ += static_cast<std::size_t>(f.total);
    wire::reader head{f.piece};
    std::uint64_t target = head.varint();  // what arrives for that port meanwhile waits
    it = records_.emplace(f.id, open_record{target, static_cast<std::size_t>(f.total), {}}).first;
    lines_[target].push_back({f.id, false, {}});
    ++waiting_count_;
  } else if (it == records_.end()) {
    wire::reader::fail("a fragment of a large message that is not open");
  }
  open_record& rec = it->second;
  if (rec.bytes.size() + f.piece.size() > rec.total) {
    wire::reader::fail("a large message is longer than it said");
  }
  rec.bytes.insert(rec.bytes.end(), f.piece.begin(), f.piece.end());  // grows with what arrives
  if (!(f.flags & detail::fragment_frame::last)) return std::nullopt;
  if (rec.bytes.size() != rec.total) wire::reader::fail("a large message is shorter than it said");
  whole w{f.id, rec.target, std::move(rec.bytes)};
  record_bytes_ -= rec.total;
  records_.erase(it);
  return w;
}

reassembly::held reassembly::hold(std::uint64_t local, entry& e) {
  auto it = lines_.find(local);
  if (it == lines_.end()) return held::no;
  // A large message for that port is still arriving: this one waits behind it (FIFO).
  if (waiting_count_ >= detail::max_held) return held::full;
  ++waiting_count_;
  it->second.push_back({0, true, std::move(e)});
  return held::yes;
}

void reassembly::fill(std::uint64_t target, std::uint64_t id, entry e, std::deque<entry>& ready) {
  auto it = lines_.find(target);
  if (it == lines_.end()) return;
  auto& line = it->second;
  for (auto& w : line) {
    if (w.record == id) {
      w = waiting{id, true, std::move(e)};
      break;
    }
  }
  while (!line.empty() && line.front().ready) {
    ready.push_back(std::move(line.front().e));
    line.pop_front();
    --waiting_count_;
  }
  if (line.empty()) lines_.erase(it);
}

}  // namespace coport::transport
