// coport::transport::channel — what every channel shares: large records as fragments, and
// no stream kept for a resumption unless the channel keeps one.
#include "coport/transport/channel.hpp"

#include "frame.hpp"
#include "sent_stream.hpp"

namespace coport::transport {

bool channel::write_large(std::vector<std::byte> record) {
  std::vector<std::byte> frames;
  frames.reserve(record.size() + record.size() / detail::fragment_size * 16 + 32);
  for (std::size_t offset = 0; offset < record.size();) {
    offset = detail::fragment_frame::encode(frames, record, offset, 1);
  }
  return write(frames);
}

bool channel::keep_stream(std::unique_ptr<detail::sent_stream>& stream, std::uint64_t from) {
  (void)stream;
  (void)from;
  return false;
}

std::unique_ptr<detail::sent_stream> channel::take_stream() {
  return nullptr;
}

}  // namespace coport::transport
