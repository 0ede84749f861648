#pragma once
/// \file
/// Test support: one HTTP/1.0 GET to a loopback address ("127.0.0.1:PORT"), with a deadline:
/// the status and the body, or status 0 when nothing answered in time.
/// Threading: any thread. Lifetime: a call.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>

namespace coport::test {

struct http_reply {
  int status = 0;  ///< 0: no answer (refused, or nothing before the deadline)
  std::string body;
};

inline http_reply http_get(const std::string& address, const std::string& path,
                           std::chrono::milliseconds limit = std::chrono::seconds{10}) {
  http_reply out;
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) return out;
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<std::uint16_t>(std::stoi(address.substr(colon + 1))));
  if (inet_pton(AF_INET, address.substr(0, colon).c_str(), &to.sin_addr) != 1) return out;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return out;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  std::string text;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0) {
    const std::string request = "GET " + path + " HTTP/1.0\r\nHost: " + address + "\r\n\r\n";
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
        static_cast<ssize_t>(request.size())) {
      for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        pollfd p{fd, POLLIN, 0};
        if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
          text.clear();  // no whole answer in time
          break;
        }
        char buf[8192];
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        text.append(buf, static_cast<std::size_t>(n));
      }
    }
  }
  ::close(fd);
  // "HTTP/1.1 200 OK\r\n...\r\n\r\nbody"
  if (text.rfind("HTTP/", 0) != 0) return out;
  const auto space = text.find(' ');
  const auto head_end = text.find("\r\n\r\n");
  if (space == std::string::npos || head_end == std::string::npos) return out;
  out.status = std::stoi(text.substr(space + 1, 3));
  out.body = text.substr(head_end + 4);
  return out;
}

}  // namespace coport::test
