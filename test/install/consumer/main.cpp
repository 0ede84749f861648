// Uses the installed headers and library: one port, one message, one coroutine actor.
#include <coport/coport.hpp>
#include <cstdio>

int main() {
  using namespace coport;
  node n{node_options{.id = "consumer", .mode = run_mode::deterministic}};
  int got = 0;
  auto p = n.port([&](message& m) { got += m.get<int>(0); });
  auto a = spawn(n, [&]() -> actor {
    message m = co_await receive("add");
    got += m.get<int>(0);
  });
  n.snd(p, "add", 1);
  n.snd(a, "add", 2);
  n.run_until_idle();
  std::printf("installed coport works: %d\n", got);
  return got == 3 ? 0 : 1;
}
