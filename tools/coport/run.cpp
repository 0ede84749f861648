// `coport run`: a node from a profile, with its services, until SIGINT or SIGTERM (SIGHUP
// reads the TLS files again); the
// profile's `libraries` are loaded first (each registers its inits), and with --watchdog a
// parent process restarts the node when it crashes (watchdog.cpp).
//
// Built-in services a profile can name (other programs register their own inits):
//   echo  a port registered under the name "echo" that answers `echo, text, reply_port`
//         with `echo, text` (a quick check that nodes find and reach each other).
#include "run.hpp"

#include "signals.hpp"

#include <dlfcn.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <signal.h>

#include <coport/coport.hpp>
#include <coport/network/network.hpp>
#include <cstdio>
#include <iostream>
#include <memory>

namespace coport::cli {

bool register_services(node& n, const network::node_config& config) {
  n.register_init("echo", [&n] {
    n.rcv(self(), "echo", [&n](std::string text, port_id reply) { n.snd(reply, "echo", text); });
  });
  // Service libraries (never unloaded: their handlers run until the process ends).
  for (const auto& path : config.libraries) {
    void* library = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!library) {
      std::cerr << "coport: cannot load service library " << path << ": " << ::dlerror() << "\n";
      return false;
    }
    using register_fn = void (*)(node&);
    auto* fn = reinterpret_cast<register_fn>(::dlsym(library, "coport_register"));
    if (!fn) {
      std::cerr << "coport: service library " << path
                << " has no coport_register(coport::node&) (extern \"C\")\n";
      return false;
    }
    try {
      fn(n);
    } catch (const std::exception& e) {
      std::cerr << "coport: service library " << path << ": coport_register threw: " << e.what()
                << "\n";
      return false;
    }
  }
  return true;
}

int run_node(const network::node_config& config) {
  block_stop_signals();  // before any thread starts
  block_hangup();

  node n{network::node_options_for(config)};
  std::shared_ptr<network::membership> net;
  std::vector<subscription> registrations;
  if (!register_services(n, config)) return 1;
  try {
    net = std::make_shared<network::membership>(n, config);
  } catch (const std::exception& e) {
    std::cerr << "coport: cannot start node " << n.id() << ": " << e.what() << "\n";
    return 1;
  }
  for (std::size_t i = 0; i < config.services.size(); ++i) {
    if (config.services[i] == "echo") {
      registrations.push_back(net->names().reg("echo", net->services()[i]));
    }
  }
  auto events = n.mon_nodes([](const std::string& id, bool up, const reason& why) {
    if (up) {
      std::printf("node %s up\n", id.c_str());
    } else {
      std::printf("node %s down: %s\n", id.c_str(), why.to_string().c_str());
    }
    std::fflush(stdout);
  });
  std::printf(
      "node %s (profile %s) listening on %s, seeds %s%s\n", n.id().c_str(), config.profile.c_str(),
      fmt::format("{}", fmt::join(net->links().addresses(), " ")).c_str(),
      config.seeds.empty() ? "none" : fmt::format("{}", fmt::join(config.seeds, " ")).c_str(),
      net->metrics()
          ? fmt::format(", metrics on http://{}/metrics", net->metrics()->address()).c_str()
          : "");
  for (std::size_t i = 0; i < config.services.size(); ++i) {
    std::printf("service %s at %s\n", config.services[i].c_str(),
                net->services()[i].to_string().c_str());
  }
  std::fflush(stdout);
  int signal = wait_for_stop_or_hup();
  for (; signal == SIGHUP; signal = wait_for_stop_or_hup()) {
    // SIGHUP: a renewed certificate and key, read again (links up keep theirs).
    if (config.tls.cert.empty()) {
      std::printf("SIGHUP: this node uses no TLS files; nothing to read again\n");
    } else {
      try {
        net->links().reload_certificates();
        std::printf("SIGHUP: the TLS files were read again; new connections use them\n");
      } catch (const std::exception& e) {
        std::printf("SIGHUP: the TLS files cannot be used (the ones read before stay): %s\n",
                    e.what());
      }
    }
    std::fflush(stdout);
  }
  std::printf("node %s stopping (%s)\n", n.id().c_str(), signal == SIGINT ? "SIGINT" : "SIGTERM");
  std::fflush(stdout);
  events.cancel();
  registrations.clear();
  net.reset();
  return 0;
}

}  // namespace coport::cli
