#pragma once
/// \file
/// coport::network::config_file — profiles in a JSON file, resolved into a node's settings
/// (AEMP's `configure` and rc file).
///
/// ```json
/// { "secret": "...", "seeds": ["10.0.0.1:4040"],            <- global defaults
///   "profiles": {
///     "seed":   { "nodeid": "anon/", "binds": ["*:4040"] },
///     "worker": { "parent": "seed", "binds": ["*"], "services": ["echo"] } } }
/// ```
/// A profile resolves, lowest priority first, from: values passed in code, the file's global
/// defaults, the chain of `parent` profiles, the named profile, the environment
/// (`COPORT_<KEY>` for every key, upper case: `COPORT_SEEDS=a:1,b:2`, `COPORT_SECRET_FILE`),
/// and values that override all (`coport run profile NAME KEY VALUE...`). The profile name defaults
/// to the host name; the node ID to the profile name; `anon/` (any ID ending in `/`) gets a random
/// suffix. A secret shorter than `min_secret_size` characters (fewer than 128 bits) is refused,
/// when read, set or resolved, unless the section that uses it says `"insecure": true`. Threading:
/// a value type; not thread-safe. Lifetime: `save` writes the file (replacing it whole, never in
/// place); nothing is watched.

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "coport/transport/tcp.hpp"

namespace coport::network {

/// The shortest secret accepted without `insecure`: 22 base62 characters hold 131 bits.
inline constexpr std::size_t min_secret_size = 22;

/// A configuration that cannot be used: what() names the file, the line and the key.
class config_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// TLS files (PEM): this node's certificate and key, and the CA that signs every node's
/// (the transport's own settings: one definition).
using tls_files = transport::tls_options;

/// A node's settings, resolved from a profile.
struct node_config {
  std::string profile;             ///< the profile it came from
  std::string nodeid;              ///< `anon/` (or any ID ending in `/`): random suffix
  std::vector<std::string> binds;  ///< "host:port", "[v6]:port", "*:port", "*"
  /// What other nodes are told to dial ("host:port"; port 0: the port bound), when that is
  /// not where it listens (behind NAT, in a container; tcp_options::advertise). Empty: binds.
  std::vector<std::string> advertise;
  /// Nodes to join the network through: "host:port" (each address of a name is a seed of
  /// its own) or "srv:_service._tcp.name" (DNS SRV records); mesh_options::seeds.
  std::vector<std::string> seeds;
  std::string secret;  ///< shared by every node of the network
  /// Where `secret` was read from (its first line), when the `secret_file` key is set: it
  /// wins over a `secret` key; the file must be readable by its owner only.
  std::string secret_file;
  bool insecure = false;  ///< accepts a secret shorter than min_secret_size
  bool encrypt = false;   ///< records encrypted, not only authenticated
  tls_files tls;          ///< TLS 1.3 with mutual authentication when set
  // The transport's defaults (one definition, in coport/transport/tcp.hpp and transport.hpp).
  std::chrono::milliseconds heartbeat_interval = transport::tcp_options{}.heartbeat_interval;
  std::chrono::milliseconds node_timeout = transport::tcp_options{}.node_timeout;
  std::chrono::milliseconds connect_timeout = transport::tcp_options{}.connect_timeout;
  std::size_t max_frame = transport::transport_options{}.max_frame;  ///< bytes
  std::size_t max_queue = transport::transport_options{}.max_queue;  ///< bytes waiting for one node
  std::vector<std::string> services;  ///< init functions spawned on the node at start
  std::vector<std::string> measure;   ///< init names (`*` matches any run) measured when spawned
  /// A client node (mesh_options::client): `binds` are ignored (it listens nowhere).
  bool client = false;
  /// `coport run` loads these shared libraries first (AEMP's `aemp run` modules): each
  /// defines `extern "C" void coport_register(coport::node&)`, which registers its inits.
  std::vector<std::string> libraries;
  std::string log_level = "warn";  ///< off, error, warn, info, debug, trace
  /// Where /metrics, /healthz and /readyz are served over HTTP (coport/metrics/exporter.hpp):
  /// "ip:port", "[v6]:port", "*:port"; empty: not served.
  std::string metrics;
};

/// `KEY VALUE` settings as text, as a command line gives them.
using settings = std::vector<std::pair<std::string, std::string>>;

/// What a key holds, for help texts.
struct config_key {
  const char* name;
  const char* kind;  ///< "text", "list", "seconds", "bytes", "bool"
  const char* help;
};
/// Every key a profile (or the global section) may set.
const std::vector<config_key>& config_keys();

/// The configuration file: global defaults and named profiles.
class config_file {
 public:
  /// `$COPORT_CONFIG`, else `$XDG_CONFIG_HOME/coport/config.json`, else
  /// `$HOME/.config/coport/config.json`.
  static std::filesystem::path default_path();
  /// Reads `path` (a file that does not exist is an empty configuration). Throws
  /// config_error for malformed JSON, an unknown key, a wrong type, a bad value, a cycle
  /// of parents or a secret too short for its section, naming the file, line and key.
  static config_file load(const std::filesystem::path& path = default_path());
  /// Parses `text` as if read from `path`.
  static config_file parse(std::string_view text, const std::filesystem::path& path);

  /// An empty configuration that `save` writes to `path`.
  explicit config_file(std::filesystem::path path);
  config_file(const config_file&);
  config_file& operator=(const config_file&);
  config_file(config_file&&) noexcept;
  config_file& operator=(config_file&&) noexcept;
  ~config_file();

  /// The file it was read from and is saved to.
  const std::filesystem::path& path() const noexcept;
  /// The profiles' names.
  std::vector<std::string> profiles() const;
  bool has_profile(std::string_view name) const;

  /// True when `profile` (empty: the global section) itself sets `key`.
  bool has_key(std::string_view profile, std::string_view key) const;
  /// Sets `key` of `profile` (created if missing; empty: the global section) from text:
  /// lists comma-separated (or a JSON array), seconds and bytes as numbers, bools as
  /// `true`/`false`. An empty value removes the key, except for `secret` (an error: use
  /// remove_key). Throws config_error for an unknown key, a bad value, a parent cycle, or a
  /// change that leaves a section with a secret shorter than min_secret_size and not
  /// `insecure`; nothing is changed then.
  void set(std::string_view profile, std::string_view key, std::string_view value);
  /// Removes `key` from `profile` (empty: the global section). Throws config_error when the
  /// section or the key is not there, or (as `set`) when the change is refused.
  void remove_key(std::string_view profile, std::string_view key);
  /// Removes profile `name`; throws config_error when there is none.
  void remove_profile(std::string_view name);
  /// The JSON text of the whole file (`profile` empty) or of one profile as written.
  std::string show(std::string_view profile = {}) const;
  /// The resolved settings of `profile` (empty: the host's), as JSON text; the secret is
  /// shown as "(set)".
  std::string show_resolved(std::string_view profile, const settings& overrides = {}) const;
  /// Writes the file, or throws config_error and leaves it as it was. Directories are made
  /// as needed; the text goes to a new file of a random name in the same directory, created
  /// 0600 (O_EXCL, O_NOFOLLOW: nothing planted there is written through), synced, renamed
  /// over the file, and the directory synced; on any failure the new file is removed. A
  /// file that is a symbolic link is refused (nothing is written through it).
  void save() const;

  /// Resolves `profile` (empty: the host name's profile, which may be absent) over `code`
  /// (values from code, below the file), then the environment's `COPORT_<KEY>` variables,
  /// and under `overrides` (above everything). Throws config_error for a named profile that
  /// does not exist, a parent cycle or a bad value (one from the environment names its
  /// variable).
  node_config resolve(std::string_view profile = {}, const settings& code = {},
                      const settings& overrides = {}) const;

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

/// This host's name (the default profile).
std::string host_name();
/// A new random secret: 43 characters of base62 from 32 random bytes (OpenSSL).
std::string generate_secret();

}  // namespace coport::network
