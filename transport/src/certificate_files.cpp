// detail::certificate_files — TLS files read again when they change (certificate_files.hpp).
#include "certificate_files.hpp"

#include <stdexcept>
#include <utility>

namespace coport::transport::detail {

certificate_files::certificate_files(tls_options files) : files_{std::move(files)} {
  loaded_ = read_stamps();
  current_ = std::make_shared<const tls_context>(files_);  // throws for bad files
}

std::shared_ptr<const tls_context> certificate_files::current() const {
  std::lock_guard lock{mutex_};
  return current_;
}

certificate_files::stamps certificate_files::read_stamps() const {
  stamps out{};
  const std::string* paths[3] = {&files_.cert, &files_.key, &files_.ca};
  auto ns = [](const timespec& t) {
    return static_cast<long long>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
  };
  for (std::size_t i = 0; i < 3; ++i) {
    struct stat st {};
    if (::stat(paths[i]->c_str(), &st) != 0) continue;  // gone: a stamp of its own (size -1)
    out[i] = {st.st_dev, st.st_ino, st.st_size, ns(st.st_mtim), ns(st.st_ctim)};
  }
  return out;
}

void certificate_files::reload() {
  std::lock_guard reloading{reload_mutex_};
  auto now = read_stamps();  // before the contents: a write after this is seen next time
  auto fresh = std::make_shared<const tls_context>(files_);  // throws: nothing changes
  {
    std::lock_guard lock{mutex_};
    current_ = std::move(fresh);
  }
  loaded_ = now;
  reloads_.fetch_add(1, std::memory_order_relaxed);
}

std::string certificate_files::reload_if_changed() {
  std::lock_guard reloading{reload_mutex_};
  auto now = read_stamps();
  if (now == loaded_) return {};
  try {
    auto fresh = std::make_shared<const tls_context>(files_);
    {
      std::lock_guard lock{mutex_};
      current_ = std::move(fresh);
    }
    loaded_ = now;
    reloads_.fetch_add(1, std::memory_order_relaxed);
    return {};
  } catch (const std::exception& e) {
    // Tried again at the next check (a file half written, a key not yet there, a read that
    // failed for a moment); said once for these files.
    if (now == refused_) return {};
    refused_ = now;
    return e.what();
  }
}

}  // namespace coport::transport::detail
