#pragma once
/// \file
/// `coport schema dump` and `coport schema diff OLD NEW` (coport/network/schema.hpp).

#include <coport/network/config.hpp>
#include <string>
#include <vector>

namespace coport::cli {

/// Prints the schema of a node from `config` (its built-in services and its `libraries`' inits
/// and types) as JSON; returns the exit code.
int dump_schema(const network::node_config& config);

/// Compares schema files `old_path` and `new_path`: prints what changed and what breaks;
/// returns 0 when the new build can share a network with the old one, 1 when it cannot, 2
/// when a file cannot be read or is not a schema.
int diff_schemas(const std::string& old_path, const std::string& new_path);

}  // namespace coport::cli
