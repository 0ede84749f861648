#pragma once
// Groups' stream items made in one line, for the tests of the classes that hold them
// (group_log, membership, items_ahead). Include after a groups/src header that declares item.

#include <coport/port_id.hpp>

namespace coport::test {

/// An item of `kind` about port `p` (a join's or leave's member, a message's sender).
inline groups::detail::item group_item(groups::detail::item_kind kind, const port_id& p) {
  groups::detail::item it;
  it.kind = kind;
  it.port = p;
  return it;
}

}  // namespace coport::test
