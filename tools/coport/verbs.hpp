#pragma once
/// \file
/// The operator's verbs (AEMP's `aemp snd/cal/mon`, `aemp trace`): each runs a client node
/// (mesh_options::client: it listens nowhere, links to the profile's seeds and to the nodes
/// it talks to, and never joins the mesh), does one thing, and exits: 0 done, 1 not done
/// (no seed reached, no reply in time, a dead port, a refusal), 2 usage.

#include <chrono>
#include <coport/network/config.hpp>
#include <string>
#include <vector>

namespace coport::cli {

/// Runs `verb` ("ping", "info", "snd", "cal", "mon", "nodes", "names", "groups") with `args` on a
/// client node made from `config` (its seeds and secret); `timeout` bounds reaching a seed and each
/// answer (mon waits for the death, or `timeout` when one was given: `timed`).
int run_verb(const network::node_config& config, const std::string& verb,
             const std::vector<std::string>& args, std::chrono::milliseconds timeout, bool timed);

}  // namespace coport::cli
