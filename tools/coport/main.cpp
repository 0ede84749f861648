// coport — configure and run nodes (AEMP's `aemp`): profile, delprofile, set, showconfig,
// showprofile, gensecret, delsecret, run, logs, trace, and the operator's verbs on a client node:
// ping, info, snd, cal, mon, nodes, names, groups; and gencert (OpenSSL). Everything here goes
// through coport::network's public API.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <coport/network/config.hpp>
#include <coport/trace_catcher.hpp>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "gencert.hpp"
#include "logs.hpp"
#include "run.hpp"
#include "schema.hpp"
#include "trace.hpp"
#include "verbs.hpp"
#include "watchdog.hpp"

using coport::network::config_error;
using coport::network::config_file;
using coport::network::settings;

namespace {

/// A usage error: the command prints its usage line and exits with 2.
struct usage_error {
  std::string what;
};

const char* const usage =
    "usage: coport [--config FILE] profile NAME KEY VALUE... | delprofile NAME | set KEY VALUE... "
    "| showconfig [NAME [KEY VALUE...]] | showprofile [NAME] | gensecret\n"
    "       | delsecret [NAME]\n"
    "       | run [--watchdog] [profile NAME] [KEY VALUE...]\n"
    "       | logs [--level LEVEL] [--profile NAME] [NODE...]\n"
    "       | trace [--port PORT]... [--tag TAG]... [--node NODE]... [--rate N] [--hops N] "
    "[--profile NAME]\n"
    "       | ping NODE | info NODE | snd PORT TAG [VALUE...] | cal PORT TAG [VALUE...] | mon "
    "PORT\n"
    "       | nodes | names [NAME...] | groups [GROUP] | gencert [--days N] ca DIR | gencert node "
    "DIR NODEID\n"
    "       | schema dump [profile NAME] [KEY VALUE...] | schema diff OLD NEW\n"
    "       (the verbs from ping on take [--profile NAME] [--timeout SECONDS] first; a VALUE is "
    "JSON)\n"
    "       (coport --help for more)\n";

/// `KEY VALUE...` pairs.
settings pairs(const std::vector<std::string>& words, std::size_t from = 0) {
  if ((words.size() - from) % 2 != 0) {
    throw usage_error{"expected KEY VALUE pairs, got an odd number of words"};
  }
  settings out;
  for (std::size_t i = from; i < words.size(); i += 2) out.emplace_back(words[i], words[i + 1]);
  return out;
}

/// `[profile NAME] [KEY VALUE...]`: the profile (empty: the host's) and the pairs.
std::pair<std::string, settings> profile_and_pairs(const std::vector<std::string>& words) {
  if (!words.empty() && words[0] == "profile") {
    if (words.size() < 2) throw usage_error{"'profile' needs a NAME"};
    return {words[1], pairs(words, 2)};
  }
  return {{}, pairs(words)};
}

std::string keys_help() {
  std::string out = "Keys:\n";
  for (const auto& k : coport::network::config_keys()) {
    out += fmt::format("  {:<19} {:<8} {}\n", k.name, k.kind, k.help);
  }
  return out +
         "Lists are comma-separated (or a JSON array); an empty VALUE removes the key (but not "
         "the secret: coport delsecret).\n";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"coport: configure and run the nodes of a coport network"};
  app.require_subcommand(1);
  app.footer(keys_help() +
             "The file: --config, else $COPORT_CONFIG, else $XDG_CONFIG_HOME/coport/config.json "
             "(~/.config/coport/config.json).");
  std::string path;
  app.add_option("--config", path, "the configuration file");

  std::vector<std::string> words;
  std::string name;
  auto* profile = app.add_subcommand("profile", "set keys of a profile (made if missing)");
  profile->add_option("NAME", name, "the profile")->required();
  profile->add_option("KEY VALUE", words, "pairs to set")->required();
  auto* delprofile = app.add_subcommand("delprofile", "remove a profile");
  delprofile->add_option("NAME", name, "the profile")->required();
  auto* global = app.add_subcommand("set", "set keys of the global section (defaults of all)");
  global->add_option("KEY VALUE", words, "pairs to set")->required();
  auto* show = app.add_subcommand(
      "showconfig", "show the settings a profile resolves to (no NAME: the host's profile)");
  show->add_option("NAME", name, "the profile");
  show->add_option("KEY VALUE", words, "overrides, as `run` takes them");
  auto* showprofile = app.add_subcommand(
      "showprofile", "show a profile as the file has it (no NAME: the whole file)");
  showprofile->add_option("NAME", name, "the profile");
  auto* gensecret =
      app.add_subcommand("gensecret", "generate a new secret into the global section");
  auto* delsecret = app.add_subcommand(
      "delsecret", "remove the secret of the global section (or of profile NAME)");
  delsecret->add_option("NAME", name, "the profile");
  auto* run = app.add_subcommand("run", "run a node from a profile until SIGINT or SIGTERM");
  run->add_option("ARGS", words, "[profile NAME] [KEY VALUE...]");
  bool with_watchdog = false;
  run->add_flag("--watchdog", with_watchdog,
                "run the node in a child process, restarted (with backoff) when it crashes");
  std::string level_name = "info";
  auto* logs = app.add_subcommand(
      "logs",
      "print the log lines of every node of the network (or of NODE...), each led by its node "
      "ID, as they happen, until SIGINT (a client node reaches them through the profile's "
      "seeds)");
  logs->add_option("--level", level_name, "error, warn, info (default), debug, trace");
  logs->add_option("--profile", name, "the profile whose network to join (default: the host's)");
  logs->add_option("NODE", words, "the nodes to catch (default: every node)");
  coport::cli::trace_request traced;
  auto* trace = app.add_subcommand(
      "trace",
      "switch tracing on across the network and print every node's spans as JSON lines, until "
      "SIGINT (a client node; tracing ends with it)");
  trace->add_option("--port", traced.ports, "trace what is sent to PORT (node#number); repeatable");
  trace->add_option("--tag", traced.tags, "trace messages with TAG; repeatable");
  trace->add_option("--node", traced.nodes, "trace every message of NODE; repeatable");
  trace->add_option("--rate", traced.rate, "new traces a second at most, per node (default 100)");
  trace->add_option("--hops", traced.max_hops, "a trace ends after this many messages (100)");
  trace->add_option("--profile", name, "the profile whose network to join (default: the host's)");
  auto* schema = app.add_subcommand(
      "schema",
      "schema dump [profile NAME] [KEY VALUE...]: the wire schema of a node of the profile (its "
      "libraries' types and inits, the protocol versions) as JSON; schema diff OLD NEW: whether "
      "a build with schema NEW can share a network with one with OLD (exit 0 yes, 1 no)");
  schema->prefix_command();
  // The operator's verbs: each a client node (listens nowhere, links only where it talks).
  double timeout_seconds = 5;
  struct verb_spec {
    const char* name;
    const char* help;
  };
  const verb_spec verb_specs[] = {
      {"ping", "ping NODE: its ID, incarnation, uptime and the round trip, as JSON"},
      {"info", "info NODE: its live ports, dropped messages and linked nodes, as JSON"},
      {"snd",
       "snd PORT TAG [VALUE...]: send a message (each VALUE JSON: \"text\", 5, 1.5, "
       "true, {\"int\": 5}, {\"port\": \"node#1\"}); waits until it is delivered"},
      {"cal",
       "cal PORT TAG [VALUE...]: send with a reply port appended, print the reply as "
       "JSON [tag, values...]"},
      {"mon", "mon PORT: wait until the port dies, print the reason"},
      {"nodes", "nodes: every node's view of whom it is linked to (AEMP's trace), from the seeds"},
      {"names", "names [NAME...]: the network's registered names and their ports, as JSON"},
      {"groups", "groups [GROUP]: the network's process groups, each master and its members"},
  };
  long days = 825;
  auto* gencert = app.add_subcommand(
      "gencert",
      "gencert ca DIR | gencert node DIR NODEID: a CA (DIR/ca.pem, ca.key) and node certificates "
      "signed by it (DIR/NODEID.pem, .key; the node ID as URI coport:ID), for the profile keys "
      "cert, key, ca; never overwrites");
  gencert->add_option("--days", days, "validity in days (default 825)");
  gencert->prefix_command();
  std::vector<CLI::App*> verbs;
  for (const auto& v : verb_specs) {
    auto* sub = app.add_subcommand(v.name, v.help);
    sub->add_option("--profile", name, "the profile whose seeds to reach (default: the host's)");
    sub->add_option("--timeout", timeout_seconds,
                    "seconds to reach a seed and for each answer (default 5; mon: wait at most)");
    // The arguments after the options, as given (CLI11 would read "[1,2]" as two words).
    sub->prefix_command();
    verbs.push_back(sub);
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "coport: " << e.what() << "\n" << usage;
    return 2;
  }

  try {
    auto file_path = path.empty() ? config_file::default_path() : std::filesystem::path{path};
    auto file = config_file::load(file_path);
    auto set_pairs = [&](const std::string& section, settings s) {
      // `insecure` first, so that `secret SHORT insecure true` works in either order.
      std::stable_partition(s.begin(), s.end(),
                            [](const auto& kv) { return kv.first == "insecure"; });
      for (const auto& [k, v] : s) file.set(section, k, v);
      if (!file.has_key("", "secret")) {
        // Nodes that share the file share a secret: make one the first time.
        file.set("", "secret", coport::network::generate_secret());
        std::cerr << "coport: no secret was set; generated one in the global section of "
                  << file.path().string() << "\n";
      }
      file.save();
    };
    if (*profile) {
      set_pairs(name, pairs(words));
    } else if (*global) {
      set_pairs("", pairs(words));
    } else if (*delprofile) {
      file.remove_profile(name);
      file.save();
    } else if (*show) {
      std::cout << file.show_resolved(name, pairs(words)) << "\n";
    } else if (*showprofile) {
      std::cout << file.show(name) << "\n";
    } else if (*gensecret) {
      file.set("", "secret", coport::network::generate_secret());
      file.save();
      std::cerr << "coport: a new secret is in the global section of " << file.path().string()
                << "\n";
    } else if (*delsecret) {
      file.remove_key(name, "secret");
      file.save();
      if (name.empty()) {
        std::cerr << "coport: removed the secret of the global section of " << file.path().string()
                  << " (without a secret or TLS, nodes listen on loopback only; coport gensecret "
                     "makes a new one)\n";
      } else {
        std::cerr << "coport: removed the secret of profile \"" << name << "\" of "
                  << file.path().string() << " (it uses its parents' or the global one)\n";
      }
    } else if (*logs) {
      auto level = coport::parse_log_level(level_name);
      if (!level || *level == coport::log_level::off) {
        throw usage_error{"--level must be error, warn, info, debug or trace"};
      }
      // A client node of its own: its own ID, listening nowhere, no services or metrics.
      settings client_settings{{"client", "true"}, {"services", ""}, {"metrics", ""}};
      if (file.resolve(name).tls.cert.empty())
        client_settings.emplace_back("nodeid", "coport-logs/");
      auto config = file.resolve(name, {}, client_settings);
      return coport::cli::catch_network_logs(config, *level, words, std::chrono::seconds{5});
    } else if (*trace) {
      if (!(traced.rate > 0 && traced.rate <= coport::trace_service::max_rate)) {
        throw usage_error{"--rate must be above 0 and at most 10000"};
      }
      if (traced.max_hops < 1 || traced.max_hops > 10000) {
        throw usage_error{"--hops must be from 1 to 10000"};
      }
      settings client_settings{{"client", "true"}, {"services", ""}, {"metrics", ""}};
      if (file.resolve(name).tls.cert.empty())
        client_settings.emplace_back("nodeid", "coport-trace/");
      auto config = file.resolve(name, {}, client_settings);
      return coport::cli::trace_network(config, traced, std::chrono::seconds{5});
    } else if (*run) {
      auto [which, overrides] = profile_and_pairs(words);
      auto config = file.resolve(which, {}, overrides);
      if (with_watchdog) {
        return coport::cli::watchdog([&config] { return coport::cli::run_node(config); });
      }
      return coport::cli::run_node(config);
    }
    if (*gencert) return coport::cli::gencert(gencert->remaining(), days);
    if (*schema) {
      auto args = schema->remaining();
      if (!args.empty() && args[0] == "diff") {
        if (args.size() != 3) throw usage_error{"schema diff needs OLD and NEW schema files"};
        return coport::cli::diff_schemas(args[1], args[2]);
      }
      if (args.empty() || args[0] != "dump") throw usage_error{"schema: dump or diff"};
      auto [which, overrides] = profile_and_pairs({args.begin() + 1, args.end()});
      return coport::cli::dump_schema(file.resolve(which, {}, overrides));
    }
    for (auto* v : verbs) {
      if (!*v) continue;
      if (!(timeout_seconds >= 0.001 && timeout_seconds <= 86400)) {
        throw usage_error{"--timeout must be from 0.001 to 86400 seconds"};
      }
      // A client node of its own: a fresh ID, listening nowhere, no services or metrics, no
      // log lines (COPORT_LOG still turns them on). On a TLS network the profile's node ID
      // stays: peers accept only the ID its certificate names (an operator's certificate,
      // coport gencert node DIR ops).
      settings client_settings{{"client", "true"},
                               {"services", ""},
                               {"metrics", ""},
                               {"log_level", "off"}};  // it says itself what went wrong
      if (file.resolve(name).tls.cert.empty())
        client_settings.emplace_back("nodeid", "coport-cli/");
      auto config = file.resolve(name, {}, client_settings);
      return coport::cli::run_verb(
          config, v->get_name(), v->remaining(),
          std::chrono::milliseconds{static_cast<long>(timeout_seconds * 1000)},
          v->count("--timeout") > 0);
    }
    return 0;
  } catch (const usage_error& e) {
    std::cerr << "coport: " << e.what << "\n" << usage;
    return 2;
  } catch (const config_error& e) {
    std::cerr << "coport: " << e.what() << "\n";
    return 1;
  }
}
