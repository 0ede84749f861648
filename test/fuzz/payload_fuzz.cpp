// libFuzzer target: the payload decoder alone (values of the built-in types and their
// compositions, and a registered Cereal type: its length, its class version, the fields a
// newer build appended skipped), with the reader's bounds. The first byte picks the
// payload's type list.
#include <coport/detail/payload_codec.hpp>
#include <coport/message.hpp>
#include <coport/serialize.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

using namespace coport;

namespace {

struct fuzz_point {
  std::int32_t x = 0;
  std::string label;
  std::vector<double> samples;
  std::optional<port_id> owner;
  template <class A>
  void serialize(A& a, std::uint32_t version) {
    a(x, label);
    if (version >= 2) a(samples, owner);
  }
};

}  // namespace

CEREAL_CLASS_VERSION(fuzz_point, 2)

namespace {

const std::vector<std::vector<std::string>>& type_lists() {
  static const bool registered = [] {
    register_type<fuzz_point>("fuzz.point");
    return true;
  }();
  (void)registered;
  // Name the payload types so that this program has their factories.
  (void)message::make("t", 1, std::string{}).is<int, std::string>();
  (void)message{}.is<std::vector<std::map<std::string, std::optional<double>>>>();
  (void)message{}.is<std::vector<port_id>, reason, std::vector<std::byte>>();
  (void)message{}
      .is<std::tuple<std::int8_t, std::uint64_t, bool, float>, std::pair<char, double>>();
  static const std::vector<std::vector<std::string>> lists{
      {"i32", "string"},
      {"vector<map<string,optional<f64>>>"},
      {"vector<port>", "reason", "bytes"},
      {"tuple<i8,u64,bool,f32>", "pair<char,f64>"},
      {"u16", "f64", "bool", "i64"},  // no factory in this program: values held one by one
      {"fuzz.point", "i32"},          // a registered value, and one after it
  };
  return lists;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const auto& lists = type_lists();
  auto dec = detail::resolve_payload(lists[data[0] % lists.size()]);
  if (!dec->error.empty()) __builtin_trap();  // the names above must resolve
  wire::reader r{
      std::span<const std::byte>{reinterpret_cast<const std::byte*>(data) + 1, size - 1}};
  try {
    message m{detail::decode_values(tag{"fuzz"}, r, *dec)};
    (void)m.describe();
  } catch (const wire::decode_error&) {
  }
  return 0;
}
