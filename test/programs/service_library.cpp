// A service library for `coport run` (the profile's `libraries`), as a user would write one:
// it registers the init "greeter", whose port answers `greet, name, reply_port` with
// `greet, "hello, NAME"`. Built as a module against the coport command (test/CMakeLists.txt).
#include <coport/coport.hpp>
#include <string>

extern "C" void coport_register(coport::node& n) {
  n.register_init("greeter", [&n] {
    n.rcv(coport::self(), "greet", [&n](std::string name, coport::port_id reply) {
      n.snd(reply, "greet", "hello, " + name);
    });
  });
}
