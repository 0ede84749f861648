#pragma once
/// \file
/// Log lines of coport::network: the shared template (coport/internal/log.hpp).
/// Threading: thread-safe.
/// May include: coport/internal/log.hpp only.

#include "coport/internal/log.hpp"

namespace coport::network::detail {

using coport::detail::warn;

}  // namespace coport::network::detail
