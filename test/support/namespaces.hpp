#pragma once
/// \file
/// Test support: private namespaces for the test's process (as root): a network namespace
/// with its loopback up (any 127.0.0.x is the test's own), a mount namespace in which files
/// are bind-mounted over the system's (/etc/hosts, /etc/resolv.conf) for the test and the
/// processes it starts, and nothing of it seen outside. ctest runs each case in a process of
/// its own, so the namespaces end with the case.
/// Threading: call before the test starts threads. Lifetime: the process's.

#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace coport::test {

/// Enters private network and mount namespaces (loopback up): "" or why it cannot (not
/// root, no `ip`), for the test to skip with.
inline std::string enter_private_namespaces() {
  if (geteuid() != 0) return "needs root (private network and mount namespaces)";
  if (std::system("command -v ip >/dev/null 2>&1") != 0) return "needs ip (iproute2)";
  if (unshare(CLONE_NEWNET | CLONE_NEWNS) != 0) return "unshare failed";
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return "mount failed";
  if (std::system("ip link set lo up") != 0) return "ip link set lo up failed";
  return {};
}

/// Bind-mounts `file` over `target` (in the private mount namespace); true when it did.
inline bool mount_over(const std::filesystem::path& file, const char* target) {
  return mount(file.c_str(), target, nullptr, MS_BIND, nullptr) == 0;
}

}  // namespace coport::test
