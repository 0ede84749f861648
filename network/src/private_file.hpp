#pragma once
/// \file
/// detail::replace_private_file — writes a file that holds a secret (a configuration file):
/// whole or not at all, readable by its owner only, never through anything planted in its
/// place. The text goes to a new file of a random name beside it (O_EXCL | O_NOFOLLOW, 0600),
/// is synced, and is renamed over the file; then the directory is synced. A symbolic link or
/// anything but a regular file at the path is refused.
///
/// Threading: none shared (two calls for one path race like two processes: the last rename
/// wins, neither file is torn). Lifetime: nothing is kept between calls.
/// May include: coport/network/config.hpp and the standard library.

#include <filesystem>
#include <string>
#include <string_view>

#include "coport/network/config.hpp"

namespace coport::network::detail {

/// The error for `path` that cannot be written, for `why`.
config_error cannot_write(const std::filesystem::path& path, const std::string& why);

/// Makes `text` the whole of the file at `path` (its directory created if missing), as above.
/// Throws config_error naming the path and the step that failed; on a failure before the
/// rename the file is as it was.
void replace_private_file(const std::filesystem::path& path, std::string_view text);

/// The text of the file at `path`, a regular file (symbolic links followed) that neither its
/// group nor others may read or write, at most `limit` bytes; a trailing line end removed.
/// Throws config_error naming `what` (`key "secret_file"`) and the path: missing, unreadable,
/// not a regular file, open to its group or others (with its mode), too long, or empty.
std::string read_private_file(const std::filesystem::path& path, std::string_view what,
                              std::size_t limit);

}  // namespace coport::network::detail
