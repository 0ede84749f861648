// Writing a file that holds a secret: whole, 0600, never through a link (see private_file.hpp).
#include "private_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace coport::network::detail {

namespace {

/// A file descriptor closed at the end of its scope.
struct unique_fd {
  int fd = -1;
  explicit unique_fd(int f) : fd{f} {}
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  ~unique_fd() {
    if (fd >= 0) ::close(fd);
  }
  /// Closes it now; false (errno set) when close reports an error.
  bool close() {
    int f = fd;
    fd = -1;
    return ::close(f) == 0;
  }
};

/// `n` random base62 characters (OpenSSL).
std::string random_base62(std::size_t n) {
  static constexpr char digits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  std::vector<unsigned char> bytes(n);
  if (RAND_bytes(bytes.data(), static_cast<int>(n)) != 1) {
    throw std::runtime_error{"coport: RAND_bytes failed"};
  }
  std::string out;
  for (unsigned char b : bytes) out += digits[b % 62];
  return out;
}

}  // namespace

config_error cannot_write(const std::filesystem::path& path, const std::string& why) {
  return config_error{fmt::format("{}: cannot be written: {}", path.string(), why)};
}

void replace_private_file(const std::filesystem::path& path, std::string_view text) {
  auto fail = [&](const std::string& why) { return cannot_write(path, why); };
  auto failed = [&](const char* what) {
    return fail(fmt::format("{}: {}", what, std::strerror(errno)));
  };
  auto name = path.filename().string();
  if (name.empty() || name == "." || name == "..") throw fail("not a file name");
  auto dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path{"."};
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);  // a failure shows as the open's
  unique_fd d{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (d.fd < 0) throw failed("cannot open its directory");
  struct stat st {};
  if (::fstatat(d.fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (S_ISLNK(st.st_mode)) {
      // The rename would replace the link itself; refused rather than silently unlinked.
      throw config_error{fmt::format(
          "{}: is a symbolic link: not written (give the file it points to with --config or "
          "$COPORT_CONFIG, or remove the link)",
          path.string())};
    }
    if (!S_ISREG(st.st_mode)) throw fail("it is not a regular file");
  } else if (errno != ENOENT) {
    throw failed("cannot look at it");
  }
  // A new file of a random name beside it, created 0600 (it holds the secret) and never
  // through anything planted there (O_EXCL fails on any existing name, links included).
  std::string temporary;
  unique_fd f{-1};
  for (int attempt = 0; attempt < 16 && f.fd < 0; ++attempt) {
    temporary = fmt::format(".{}.{}.tmp", name.substr(0, 200), random_base62(12));
    f.fd = ::openat(d.fd, temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                    0600);
    if (f.fd < 0 && errno != EEXIST) break;
  }
  if (f.fd < 0) throw failed("cannot create a temporary file in its directory");
  try {
    if (::fchmod(f.fd, 0600) != 0) throw failed("chmod");  // 0600 whatever the umask
    for (std::size_t done = 0; done < text.size();) {
      auto n = ::write(f.fd, text.data() + done, text.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw failed("write");
      done += static_cast<std::size_t>(n);
    }
    if (::fsync(f.fd) != 0) throw failed("fsync");
    if (!f.close()) throw failed("close");
    if (::renameat(d.fd, temporary.c_str(), d.fd, name.c_str()) != 0) throw failed("rename");
  } catch (...) {
    ::unlinkat(d.fd, temporary.c_str(), 0);  // the original is untouched
    throw;
  }
  // The rename is durable once the directory is (some file systems cannot sync one).
  if (::fsync(d.fd) != 0 && errno != EINVAL && errno != EROFS) {
    throw config_error{fmt::format("{}: written, but its directory could not be synced: {}",
                                   path.string(), std::strerror(errno))};
  }
}

std::string read_private_file(const std::filesystem::path& path, std::string_view what,
                              std::size_t limit) {
  auto fail = [&](const std::string& why) {
    return config_error{fmt::format("{}: {}: {}", what, path.string(), why)};
  };
  unique_fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) throw fail(fmt::format("cannot be read: {}", std::strerror(errno)));
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) throw fail(fmt::format("cannot be read: {}", std::strerror(errno)));
  if (!S_ISREG(st.st_mode)) throw fail("is not a regular file");
  if (st.st_mode & (S_IRWXG | S_IRWXO)) {
    throw fail(fmt::format("its group or others may use it (mode {:03o}): chmod 600 it",
                           st.st_mode & 0777));
  }
  if (static_cast<std::size_t>(st.st_size) > limit) {
    throw fail(fmt::format("holds {} bytes, more than {}", st.st_size, limit));
  }
  std::string text(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t got = 0;
  while (got < text.size()) {
    ssize_t n = ::read(f.fd, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw fail(fmt::format("cannot be read: {}", std::strerror(errno)));
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  text.resize(got);
  if (!text.empty() && text.back() == '\n') text.pop_back();
  if (!text.empty() && text.back() == '\r') text.pop_back();
  if (text.empty()) throw fail("is empty");
  return text;
}

}  // namespace coport::network::detail
