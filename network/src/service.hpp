#pragma once
/// \file
/// detail::open_service — the port of a node-wide service (the mesh, the registry): it
/// serves one tag of the node port, hands its messages to `State::on_message`, and runs
/// `State::start` in its own context first, once `State::self_port` and `State::service`
/// are set.
/// Threading: call once, from any thread. Lifetime: the port holds the state weakly; the
/// state holds the node-port tag's guard (the service ends with it or with the port).

#include <memory>

#include "coport/node.hpp"

namespace coport::network::detail {

/// Opens the service: sets `s->self_port` and `s->service`, then starts it.
template <class State>
void open_service(node& n, tag t, const std::shared_ptr<State>& s) {
  std::weak_ptr<State> weak = s;
  s->self_port = n.port([weak](message& m) {
    if (auto self = weak.lock()) self->on_message(m);
  });
  s->service = n.serve(t, s->self_port);
  n.peval(s->self_port, [s] { s->start(); });
}

}  // namespace coport::network::detail
