// Embedding: a node that runs on an asio::io_context the application already owns and runs.
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <coport/coport.hpp>
#include <cstdio>

using namespace coport;
using namespace std::chrono_literals;

int main() {
  asio::io_context io;  // the application's own event loop
  node n{io, node_options{.id = "embedded-app"}};

  auto greeter = n.port();
  n.rcv(greeter, "hello", [&](const std::string& who) {
    std::printf("port %s says hello to %s\n", self().to_string().c_str(), who.c_str());
    n.kil(self());
  });
  n.mon(greeter, [&](const reason& why) {
     std::printf("greeter ended (%s); stopping the application's loop\n", why.to_string().c_str());
     io.stop();
   }).release();

  // The application's own work shares the loop with the node's ports.
  asio::steady_timer app_timer{io, 1ms};
  app_timer.async_wait([&](std::error_code) {
    std::printf("application timer fired; sending to the node\n");
    n.snd(greeter, "hello", "the application");
  });

  io.run();  // one thread, the application's
  std::printf("embedded node finished\n");
  return 0;
}
