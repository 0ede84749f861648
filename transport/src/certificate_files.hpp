#pragma once
/// \file
/// detail::certificate_files — a node's TLS files and the context made from them, made anew
/// when they change: by tcp::reload_certificates (SIGHUP in `coport run`) and by a check of
/// the files every tcp_options::tls_check_interval (a renewed certificate, a Kubernetes
/// secret swapped under its mount). A handshake takes the context current when it starts;
/// a link that is up keeps the one it was made with. Files that cannot be used leave the
/// current context in place.
/// Threading: thread-safe. Lifetime: tcp's state holds it; a context lives while a session
/// holds it. May include: tls.hpp, the standard library.

#include <sys/stat.h>

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "tls.hpp"

namespace coport::transport::detail {

class certificate_files {
 public:
  /// Loads the files; throws std::invalid_argument naming the file and OpenSSL's reason.
  explicit certificate_files(tls_options files);

  /// The context new handshakes use.
  std::shared_ptr<const tls_context> current() const;
  /// Reads the files again; throws std::invalid_argument naming what is wrong (the current
  /// context stays).
  void reload();
  /// Reads them again if they differ from those last taken into use; "" when nothing
  /// changed or the new context is in use, else why they were refused, said once per change
  /// (a refused change is tried again at every call until it loads or changes again).
  std::string reload_if_changed();
  /// How many times new files were taken into use.
  std::size_t reloads() const noexcept { return reloads_.load(std::memory_order_relaxed); }

 private:
  /// What identifies a file's content for a check: device, inode, size, modification and
  /// change times (a file replaced by a rename, written in place, or given another mode or
  /// owner differs).
  struct stamp {
    dev_t device = 0;
    ino_t inode = 0;
    off_t size = -1;
    long long modified_ns = 0, changed_ns = 0;
    bool operator==(const stamp&) const = default;
  };
  using stamps = std::array<stamp, 3>;
  stamps read_stamps() const;

  const tls_options files_;
  std::mutex reload_mutex_;   // one reload at a time: stamps read, context made, installed
  mutable std::mutex mutex_;  // current_
  std::shared_ptr<const tls_context> current_;
  stamps loaded_{};   // of the files in use (reload_mutex_)
  stamps refused_{};  // of the files last refused (reload_mutex_): said once
  std::atomic<std::size_t> reloads_{0};
};

}  // namespace coport::transport::detail
