// `coport schema dump` / `coport schema diff OLD NEW`: a build's wire schema, and whether a new
// build can share a network with an old one (README "Rolling upgrades").
#include "schema.hpp"

#include <coport/coport.hpp>
#include <coport/network/network.hpp>
#include <coport/network/schema.hpp>
#include <fstream>
#include <iostream>
#include <sstream>

#include "run.hpp"

namespace coport::cli {

int dump_schema(const network::node_config& config) {
  node n{network::node_options_for(config, node_options{.threads = 1})};
  if (!register_services(n, config)) return 1;
  std::cout << network::schema_json(n) << "\n";
  return 0;
}

namespace {

/// The text of `path`, or nothing (said on stderr).
std::optional<std::string> read_text(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  if (!in) {
    std::cerr << "coport: cannot read " << path << "\n";
    return std::nullopt;
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

int diff_schemas(const std::string& old_path, const std::string& new_path) {
  auto before = read_text(old_path), after = read_text(new_path);
  if (!before || !after) return 2;
  network::schema_comparison c;
  try {
    c = network::compare_schemas(*before, *after);
  } catch (const std::invalid_argument& e) {
    std::cerr << e.what() << "\n";
    return 2;
  }
  for (const auto& line : c.changes) std::cout << "fine: " << line << "\n";
  for (const auto& line : c.breaking) std::cout << "BREAKS: " << line << "\n";
  if (c.compatible()) {
    std::cout << "compatible: the new build can share a network with the old one\n";
    return 0;
  }
  std::cout << "incompatible: " << c.breaking.size()
            << (c.breaking.size() == 1 ? " reason" : " reasons") << " above\n";
  return 1;
}

}  // namespace coport::cli
