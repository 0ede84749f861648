#pragma once
/// \file
/// coport::network::schema — what a build of a program puts on the wire, written down so
/// that two builds can be compared before they share a network (README "Rolling upgrades";
/// `coport schema dump`, `coport schema diff OLD NEW`).
///
/// A schema names the protocol versions and capabilities the build speaks, every type
/// `register_type` named with its structure (wire::cereal_schema: "v2 i32 string [f64]"),
/// and every init function registered on the node with the wire names of its parameters.
/// What it cannot see: the tags a port's `rcv` handles and their argument types (they are
/// installed at run time); keep to the same rule for them (README).
///
/// Two builds can share a network when their protocol ranges meet, every type of the old one
/// is in the new one with the same structure or with fields appended at its end under a
/// higher Cereal class version, and every init of the old one is in the new one with the
/// same parameters. New types and inits are fine.
/// Threading: `schema_json` reads the node's inits (thread-safe); the rest are pure.
/// Lifetime: none kept.

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "coport/node.hpp"
#include "coport/transport/transport.hpp"

namespace coport::network {

/// The schema of this build and node `n` (its inits), as JSON text.
std::string schema_json(const node& n);

/// What comparing two schemas found.
struct schema_comparison {
  /// Reasons the new build cannot share a network with the old one (empty: it can).
  std::vector<std::string> breaking;
  /// Differences that are fine (a new type, a field appended under a new class version).
  std::vector<std::string> changes;
  bool compatible() const noexcept { return breaking.empty(); }
};

/// Compares the schema of a new build with an old one's (JSON texts from schema_json).
/// Throws std::invalid_argument naming what is wrong when either is not a schema.
schema_comparison compare_schemas(std::string_view old_schema, std::string_view new_schema);

/// Makes the handshake refuse a peer whose build gives a registered type another structure
/// under the same class version (or a class version where this one has none, or the
/// reverse): `options.application` says what this build's registered types are (a hash of
/// each name and structure and its class version, at most 400 of them), and
/// `options.check_application` compares a peer's with them. Types registered after this
/// call are not in it; init functions are not (`schema diff` compares those). A type whose
/// class versions differ is taken for one whose fields were appended (`schema diff` checks
/// that rule before a deploy). membership does this for every node it starts.
void check_schemas_in_handshake(transport::transport_options& options);

}  // namespace coport::network
