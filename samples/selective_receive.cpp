// The file-writer server from AnyEvent::MP's introduction, written as a coroutine actor.
//
// The server waits for `write_file(source, path)`, then takes `data(source, chunk)` messages
// from that source only, until an empty chunk; a chunk that comes more than the timeout late
// kills the server. A client monitors the server and says what happened.
// Usage: selective_receive [chunk timeout in ms, default 5000]
#include <condition_variable>
#include <coport/coport.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>

using namespace coport;
using namespace std::chrono_literals;

namespace {

actor file_writer(node& n, std::chrono::milliseconds chunk_timeout) {
  for (;;) {
    message request = co_await receive("write_file");
    auto [source, path] = request.as<port_id, std::string>();
    std::ofstream out{path, std::ios::binary};
    if (!out) throw std::runtime_error{"cannot open " + path};
    std::size_t bytes = 0;
    for (;;) {
      // Only data from this source; data from other clients waits in the mailbox.
      auto chunk = co_await receive_if(
          [&](const message& m) {
            return m.tag() == "data"_tag && m.is<port_id, std::string>() &&
                   m.get<port_id>(0) == source;
          },
          chunk_timeout);
      if (!chunk) {
        throw std::runtime_error{"data from " + source.to_string() + " is over " +
                                 std::to_string(chunk_timeout.count()) + " ms late"};
      }
      const auto& data = chunk->get<std::string>(1);
      if (data.empty()) break;
      out << data;
      bytes += data.size();
    }
    out.close();
    n.snd(source, "written", path, bytes);
  }
}

struct done_signal {
  std::mutex m;
  std::condition_variable cv;
  bool done = false;
  void set() {
    std::lock_guard lock{m};
    done = true;
    cv.notify_all();
  }
  bool wait() {
    std::unique_lock lock{m};
    return cv.wait_for(lock, 60s, [&] { return done; });
  }
};

}  // namespace

int main(int argc, char** argv) {
  long timeout_ms = 5000;
  if (argc > 1) {
    char* end = nullptr;
    timeout_ms = std::strtol(argv[1], &end, 10);
    if (*end != '\0' || timeout_ms < 1 || timeout_ms > 600'000) {
      std::fprintf(stderr, "usage: %s [chunk timeout in ms: 1..600000]\n", argv[0]);
      return 2;
    }
  }
  node n{node_options{.id = "files/"}};
  auto server = spawn(n, file_writer, std::ref(n), std::chrono::milliseconds{timeout_ms});
  auto dir = std::filesystem::temp_directory_path();
  auto path = (dir / ("coport-selective-" + n.id().substr(6) + ".txt")).string();

  done_signal finished;
  auto client = n.port();
  n.mon(server, [&](const reason& why) {
     std::printf("client: the file server was killed: %s\n", why.to_string().c_str());
     std::filesystem::remove(path);
     finished.set();
   }).release();
  n.rcv(client, "written", [&](const std::string& p, std::size_t bytes) {
    std::printf("client: the server wrote %zu bytes to %s\n", bytes, p.c_str());
    // Now a client that starts a file and then goes quiet: the server gives up on it.
    std::printf("client: starting a second file and sending nothing more\n");
    n.snd(server, "write_file", self(), p);
    n.snd(server, "data", self(), "partial ");
  });

  // A second source interleaves data that must wait for its own turn.
  auto other = n.port([](message&) {});
  n.snd(server, "write_file", client, path);
  n.snd(server, "data", other, "not yet ");
  n.snd(server, "data", client, "hello ");
  n.snd(server, "data", client, "world\n");
  n.snd(server, "data", client, "");
  if (!finished.wait()) return 1;
  return 0;
}
