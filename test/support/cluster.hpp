#pragma once
/// \file
/// Test support: the stepped cluster is the fixture coport ships to users
/// (coport/testing/cluster.hpp, target coport::testing); the suite uses it as they would.
/// Threading: one test thread.

#include <coport/testing/cluster.hpp>

#include "support/deaths.hpp"
#include "support/nodes.hpp"

namespace coport::test {

using coport::testing::cluster;

}  // namespace coport::test
