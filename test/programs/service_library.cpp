// A service library for `coport run` (the profile's `libraries`), as a user would write one:
// it registers the init "greeter", whose port answers `greet, name, reply_port` with
// `greet, "hello, NAME"`, and the init "relay", whose port takes `relay, route, text,
// reply_port` (route: port IDs separated by spaces) and passes it to the route's first port
// with the rest of the route, the last one answering `relay, text` (a request across nodes,
// for the tracing test). Built as a module against the coport command (test/CMakeLists.txt).
#include <coport/coport.hpp>
#include <string>

extern "C" void coport_register(coport::node& n) {
  n.register_init("greeter", [&n] {
    n.rcv(coport::self(), "greet", [&n](std::string name, coport::port_id reply) {
      n.snd(reply, "greet", "hello, " + name);
    });
  });
  n.register_init("relay", [&n] {
    n.rcv(
        coport::self(), "relay", [&n](std::string route, std::string text, coport::port_id reply) {
          const auto space = route.find(' ');
          const std::string first = route.substr(0, space);
          if (first.empty()) {
            n.snd(reply, "relay", text);
            return;
          }
          auto next = coport::port_id::parse(first);
          if (!next) return;
          n.snd(*next, "relay",
                space == std::string::npos ? std::string{} : route.substr(space + 1), text, reply);
        });
  });
}
