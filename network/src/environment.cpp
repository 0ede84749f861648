// The node settings of the process's environment (environment.hpp).
#include "environment.hpp"

#include <cctype>
#include <cstdlib>

namespace coport::network::detail {

std::vector<environment_setting> environment_settings() {
  std::vector<environment_setting> out;
  for (const config_key& k : config_keys()) {
    std::string variable = "COPORT_";
    for (const char* c = k.name; *c; ++c) {
      variable += static_cast<char>(std::toupper(static_cast<unsigned char>(*c)));
    }
    if (const char* value = std::getenv(variable.c_str())) {
      out.push_back({k.name, std::move(variable), value});
    }
  }
  return out;
}

}  // namespace coport::network::detail
