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

/// Makes the handshake refuse a peer whose build gives a registered type another structure:
/// `options.application` sums up this build's registered types (a hash of each name, its
/// class version, its number of top-level fields and a hash of them; a format byte first;
/// at most max_application bytes, so about 150 types), and `options.check_application`
/// compares a peer's with them: the same class version with other fields, a class version
/// on one side only, or (this build being the newer) first fields that are not the peer's,
/// refuse. Both ends check, so the newer of two builds always compares. A summary in
/// another format is accepted (a later build's). Types registered after this call are not in
/// it; inits are not (`schema diff` compares those). membership does this for every node.
void check_schemas_in_handshake(transport::transport_options& options);

}  // namespace coport::network
