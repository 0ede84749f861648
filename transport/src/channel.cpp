// coport::transport::channel — what every channel shares: large records as fragments.
#include "coport/transport/channel.hpp"

#include "frame.hpp"

namespace coport::transport {

bool channel::write_large(std::vector<std::byte> record) {
  std::vector<std::byte> frames;
  frames.reserve(record.size() + record.size() / detail::fragment_size * 16 + 32);
  for (std::size_t offset = 0; offset < record.size();) {
    offset = detail::fragment_frame::encode(frames, record, offset, 1);
  }
  return write(frames);
}

}  // namespace coport::transport
