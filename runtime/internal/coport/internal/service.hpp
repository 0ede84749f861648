#pragma once
/// \file
/// detail::open_service — the port of a node-wide service (the mesh, the registry): it
/// serves one tag of the node port, hands its messages to `State::on_message`, and runs
/// `State::start` in its own context first, once `State::self_port` and `State::service`
/// are set.
/// detail::close_service — ends it: the tag is free again when it returns (another service
/// may serve it at once), and the port is killed.
/// Threading: call each once, from any thread; `close_service` not concurrently with
/// anything else that touches `s->service`. Lifetime: the port and its start job hold the
/// state weakly; the state holds the node-port tag's guard until `close_service`.
/// May include: the runtime's public headers only.

#include <memory>

#include "coport/node.hpp"

namespace coport::detail {

/// Opens the service: sets `s->self_port` and `s->service`, then starts it.
template <class State>
void open_service(node& n, tag t, const std::shared_ptr<State>& s) {
  std::weak_ptr<State> weak = s;
  s->self_port = n.port([weak](message& m) {
    if (auto self = weak.lock()) self->on_message(m);
  });
  s->service = n.serve(t, s->self_port);
  n.peval(s->self_port, [weak] {
    if (auto self = weak.lock()) self->start();
  });
}

/// Closes the service opened with `open_service`.
template <class State>
void close_service(node& n, const std::shared_ptr<State>& s) {
  s->service.cancel();
  n.kil(s->self_port);
}

}  // namespace coport::detail
