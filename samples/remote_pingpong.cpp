// Two nodes in two processes, ping-pong over TCP on loopback.
//
//   remote_pingpong [ROUNDS]   starts the pong node as a second process (this program with
//                              `--pong`), pings it ROUNDS times (default 10000), prints the
//                              mean round trip, and stops it.
//   remote_pingpong --pong     a pong node: prints "pong ADDRESS PORT" and serves until its
//                              stdin closes.
//
// Both nodes share a secret, so the handshake proves each holds it (HMAC-SHA256).
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <coport/coport.hpp>
#include <coport/transport/tcp.hpp>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <iostream>
#include <string>

extern char** environ;

using namespace coport;
using namespace std::chrono_literals;
namespace tp = coport::transport;

namespace {

const char* const secret = "a secret both nodes are given";

int pong_node() {
  node n{node_options{.id = "pong", .threads = 1}};
  tp::tcp_options options;
  options.binds = {"127.0.0.1:0"};  // loopback; another host would need its address here
  options.secret = secret;
  tp::tcp tcp{n, options};
  auto pong = n.port();
  n.rcv(pong, "ping", [&](int i, port_id from) { n.snd(from, "pong", i); });
  std::cout << "pong " << tcp.addresses().at(0) << " " << pong.to_string() << std::endl;
  std::string line;
  while (std::getline(std::cin, line)) {
  }
  return 0;
}

/// Starts this program with `--pong`, its stdin and stdout on pipes.
struct pong_process {
  pid_t pid = -1;
  FILE* out = nullptr;
  int in = -1;

  pong_process() {
    int to[2], from[2];
    if (pipe2(to, O_CLOEXEC) != 0 || pipe2(from, O_CLOEXEC) != 0) std::exit(1);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, to[0], 0);
    posix_spawn_file_actions_adddup2(&fa, from[1], 1);
    posix_spawn_file_actions_addclose(&fa, to[1]);
    posix_spawn_file_actions_addclose(&fa, from[0]);
    char self[] = "/proc/self/exe", flag[] = "--pong";
    char* argv[] = {self, flag, nullptr};
    if (posix_spawn(&pid, self, &fa, nullptr, argv, environ) != 0) std::exit(1);
    posix_spawn_file_actions_destroy(&fa);
    close(to[0]);
    close(from[1]);
    in = to[1];
    out = fdopen(from[0], "r");
  }
  ~pong_process() {
    close(in);  // it exits when its stdin closes
    fclose(out);
    waitpid(pid, nullptr, 0);
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string{argv[1]} == "--pong") return pong_node();
  int rounds = argc > 1 ? std::atoi(argv[1]) : 10000;
  if (rounds <= 0) {
    std::cerr << "usage: remote_pingpong [ROUNDS] | remote_pingpong --pong\n";
    return 2;
  }

  pong_process other;
  char address[256], pong_text[256];
  if (std::fscanf(other.out, "pong %255s %255s", address, pong_text) != 2) {
    std::cerr << "the pong node did not start\n";
    return 1;
  }
  auto pong = port_id::parse(pong_text);
  if (!pong) return 1;

  node n{node_options{.id = "ping", .threads = 1}};
  tp::tcp_options options;
  options.peers["pong"] = {address};  // where node "pong" listens; no binds: dial out only
  options.secret = secret;
  tp::tcp tcp{n, options};
  std::promise<void> finished;
  auto start = std::chrono::steady_clock::now();
  auto ping = n.port();
  n.rcv(ping, "pong", [&](int i) {
    if (i == 0) start = std::chrono::steady_clock::now();  // the first one also connected
    if (i == rounds) {
      finished.set_value();
      return;
    }
    n.snd(*pong, "ping", i + 1, ping);
  });
  // The pong node's death would also end the wait: its monitor fires.
  auto guard = n.mon(*pong, [&](const reason& why) {
    std::cerr << "the pong node is gone: " << why.to_string() << "\n";
    std::exit(1);
  });
  n.snd(*pong, "ping", 0, ping);
  if (finished.get_future().wait_for(60s) != std::future_status::ready) {
    std::cerr << "no answer in 60 s\n";
    return 1;
  }
  double us =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() /
      rounds;
  guard.cancel();
  std::printf("remote ping-pong: %d round trips between two processes, %.1f us each\n", rounds, us);
  return 0;
}
