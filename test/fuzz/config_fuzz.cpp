// libFuzzer target: configuration files. Whatever the bytes, parsing (and resolving every
// profile it names) either works or throws config_error: no other exception, no crash, no
// hang. (A configuration file is not from a peer, but it is input a user can get wrong.)
#include <coport/network/config.hpp>
#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  try {
    auto file = coport::network::config_file::parse(text, "fuzz.json");
    for (const auto& name : file.profiles()) {
      try {
        (void)file.resolve(name, {}, {{"log_level", "debug"}});
        (void)file.show_resolved(name);
      } catch (const coport::network::config_error&) {
      }
    }
    (void)file.show();
  } catch (const coport::network::config_error&) {
  }
  return 0;
}
