// The node settings of the process's environment (environment.hpp).
#include "environment.hpp"

#include <unistd.h>

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

std::string expand_node_id(const std::string& id, std::string* why) {
  std::string out;
  for (std::size_t i = 0; i < id.size(); ++i) {
    if (id[i] != '%') {
      out += id[i];
      continue;
    }
    const char c = i + 1 < id.size() ? id[++i] : '\0';
    if (c == 'h') {
      out += host_name();
    } else if (c == 'p') {
      out += std::to_string(::getpid());
    } else if (c == 'r') {
      out += generate_secret().substr(0, 8);
    } else {
      *why = c ? std::string{"'%"} + c + "' is no template (%h host, %p process, %r random)"
               : std::string{"a '%' ends it (%h host, %p process, %r random)"};
      return {};
    }
  }
  return out;
}

}  // namespace coport::network::detail
