// coport::envelope: a message as a value; its wire form is the message's own bytes.
#include "coport/envelope.hpp"

#include <stdexcept>

#include "coport/detail/payload_codec.hpp"

namespace coport {

namespace {

/// The wire form of `m` on its own (no link's node cache: port IDs go inline, so the bytes
/// may cross any link): tag name, type names, values.
std::vector<std::byte> encode_message(const message& m) {
  std::vector<std::byte> out;
  wire::writer w{out};
  detail::message_block* n = m.get_block();
  w.string(m.tag().name());
  const auto& enc = detail::payload_codec_for(*n->ops->sig);
  if (!enc.error.empty()) throw wire::encode_error{enc.error};
  w.varint(enc.names.size());
  for (const auto& name : enc.names) w.string(name);
  detail::encode_values(w, n, enc);
  return out;
}

message decode_message(const std::vector<std::byte>& bytes) {
  wire::reader r{bytes};
  std::string_view name = r.string_view();
  tag t = detail::intern_remote_tag(name);
  if (t.empty() && !name.empty()) {
    throw wire::decode_error{"an envelope's tag cannot be interned (too many new tags)"};
  }
  std::size_t count = r.count(1);
  std::vector<std::string> names;
  names.reserve(r.reservable(count, sizeof(std::string)));
  for (std::size_t i = 0; i < count; ++i) names.emplace_back(r.string_view());
  auto dec = detail::resolve_payload(names);
  message m{detail::decode_values(t, r, *dec)};
  if (!r.done()) throw wire::decode_error{"an envelope has bytes after its message"};
  return m;
}

}  // namespace

envelope::envelope(const envelope& other) : bytes_{other.bytes_} {
  if (!bytes_ && other.live_) live_ = other.live_.copy();
}

envelope& envelope::operator=(const envelope& other) {
  if (this != &other) {
    envelope copy{other};
    *this = std::move(copy);
  }
  return *this;
}

envelope::~envelope() = default;

void envelope::pack() {
  if (bytes_ || !live_) return;
  bytes_ = std::make_shared<const std::vector<std::byte>>(encode_message(live_));
  live_ = message{};
}

message envelope::open() && {
  if (live_) return std::move(live_);
  if (!bytes_) return {};
  message m = decode_message(*bytes_);
  bytes_.reset();
  return m;
}

message envelope::open_copy() const {
  if (live_) return live_.copy();
  if (!bytes_) return {};
  return decode_message(*bytes_);
}

void envelope::encode(wire::writer& w) const {
  if (bytes_) {
    w.varint(bytes_->size());
    w.raw(bytes_->data(), bytes_->size());
  } else if (live_) {
    auto bytes = encode_message(live_);
    w.varint(bytes.size());
    w.raw(bytes.data(), bytes.size());
  } else {
    w.varint(0);
  }
}

void envelope::decode(wire::reader& r) {
  auto s = r.raw(r.count(1));
  live_ = message{};
  if (s.empty()) {
    bytes_.reset();
    return;
  }
  bytes_ = std::make_shared<const std::vector<std::byte>>(s.begin(), s.end());
}

}  // namespace coport
