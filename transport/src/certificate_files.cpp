// detail::certificate_files — TLS files read again when they change (certificate_files.hpp).
#include "certificate_files.hpp"

#include <stdexcept>
#include <utility>

namespace coport::transport::detail {

certificate_files::certificate_files(tls_options files) : files_{std::move(files)} {
  seen_ = read_stamps();
  current_ = std::make_shared<const tls_context>(files_);  // throws for bad files
}

std::shared_ptr<const tls_context> certificate_files::current() const {
  std::lock_guard lock{mutex_};
  return current_;
}

certificate_files::stamps certificate_files::read_stamps() const {
  stamps out{};
  const std::string* paths[3] = {&files_.cert, &files_.key, &files_.ca};
  for (std::size_t i = 0; i < 3; ++i) {
    struct stat st {};
    if (::stat(paths[i]->c_str(), &st) != 0) continue;  // gone: a stamp of its own (size -1)
    out[i] = {st.st_dev, st.st_ino, st.st_size,
              static_cast<long long>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
  }
  return out;
}

void certificate_files::reload() {
  auto now = read_stamps();
  auto fresh = std::make_shared<const tls_context>(files_);  // throws: nothing changes
  std::lock_guard lock{mutex_};
  current_ = std::move(fresh);
  seen_ = now;
  reloads_.fetch_add(1, std::memory_order_relaxed);
}

std::string certificate_files::reload_if_changed() {
  auto now = read_stamps();
  {
    std::lock_guard lock{mutex_};
    if (now == seen_) return {};
    seen_ = now;  // a refused change is said once; the next change is tried again
  }
  try {
    auto fresh = std::make_shared<const tls_context>(files_);
    std::lock_guard lock{mutex_};
    current_ = std::move(fresh);
    reloads_.fetch_add(1, std::memory_order_relaxed);
    return {};
  } catch (const std::exception& e) {
    return e.what();
  }
}

}  // namespace coport::transport::detail
