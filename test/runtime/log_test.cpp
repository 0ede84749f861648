// Log lines: records handed to the application's sinks (the process's, a node's), the rate
// limit of one call site's lines, and the text stderr gets: whatever a line carries (a
// reason, a name, text that came from a peer), it is one line of visible text, its control
// characters escaped (\n, \t, \x1b), so no text can forge a line or send a terminal escape
// sequence.
#include <doctest/doctest.h>

#include <chrono>
#include <coport/internal/log.hpp>
#include <coport/log.hpp>
#include <coport/node.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "support/log_capture.hpp"
#include "support/nodes.hpp"

using namespace coport;
using coport::test::log_capture;
using coport::test::stepped;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t at = 0;
  while (at < text.size()) {
    auto end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(at, end - at));
    at = end + 1;
  }
  return lines;
}

/// What stderr's format makes of `text` in a warn line (the line without "coport [warn] "),
/// and whether it came out as exactly one line.
std::string logged(std::string_view text, bool& one_line) {
  log_record r;
  r.level = log_level::warn;
  r.text = text;
  auto line = format_log_line(r);
  one_line = line.find('\n') == std::string::npos;
  std::string_view head = "coport [warn] ";
  if (line.rfind(head, 0) != 0) return "(no line)";
  return line.substr(head.size());
}

/// A record as a sink keeps it (the record's views live only during the call).
struct kept {
  log_level level;
  std::string component, node;
  port_id port;
  std::string text, line;
  std::uint64_t suppressed;
};

/// A process sink for the life of a test: every record kept; stderr restored at the end.
struct sink_capture {
  std::vector<kept> records;
  sink_capture() {
    set_log_sink([this](const log_record& r) {
      records.push_back(kept{r.level, std::string{r.component}, std::string{r.node}, r.port,
                             std::string{r.text}, format_log_line(r), r.suppressed});
    });
  }
  ~sink_capture() { set_log_sink({}); }
  sink_capture(const sink_capture&) = delete;
  sink_capture& operator=(const sink_capture&) = delete;
};

/// The rate limit's clock, moved by the test.
std::chrono::steady_clock::time_point fake_now{};
std::chrono::steady_clock::time_point read_fake_now() {
  return fake_now;
}

std::string logged(std::string_view text) {
  bool one_line = false;
  auto out = logged(text, one_line);
  CHECK(one_line);
  return out;
}

bool has_raw_control(const std::string& text) {
  for (unsigned char c : text) {
    if ((c < 0x20 && c != '\n') || c == 0x7f) return true;
  }
  return false;
}

}  // namespace

TEST_SUITE("log") {
  TEST_CASE(
      "a reason with a newline and a terminal escape is logged as one line, escapes "
      "visible") {
    node n{stepped("log-reason")};
    auto p = n.port([](message&) {});
    log_capture log;
    // Unmonitored: its death is logged with the reason (a remote kill's reason comes from the
    // peer's frame and takes this path).
    n.kil(p, "die", "bad\n[error] forged line \x1b[31mred\x1b[0m\r\tend");
    n.run_until_idle();
    auto text = log.text();
    auto lines = lines_of(text);
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].find("unmonitored port") != std::string::npos);
    CHECK(lines[0].find("die: bad\\n[error] forged line \\x1b[31mred\\x1b[0m\\r\\tend") !=
          std::string::npos);
    CHECK_FALSE(has_raw_control(text));
  }

  TEST_CASE("every C0 control character and DEL come out as visible escapes") {
    std::string all;
    for (int c = 0; c < 0x20; ++c) all += static_cast<char>(c);
    all += '\x7f';
    bool one_line = false;
    auto out = logged(all, one_line);
    CHECK(one_line);
    CHECK(out ==
          "\\x00\\x01\\x02\\x03\\x04\\x05\\x06\\x07\\x08\\t\\n\\x0b\\x0c\\r\\x0e\\x0f"
          "\\x10\\x11\\x12\\x13\\x14\\x15\\x16\\x17\\x18\\x19\\x1a\\x1b\\x1c\\x1d\\x1e\\x1f"
          "\\x7f");
  }

  TEST_CASE("printable text and valid UTF-8 pass unchanged") {
    CHECK(logged("node a: refusing 127.0.0.1:4000: \"quoted\" \\ back") ==
          "node a: refusing 127.0.0.1:4000: \"quoted\" \\ back");
    CHECK(logged("caf\xc3\xa9 \xe2\x86\x92 \xf0\x9f\x98\x80") ==
          "caf\xc3\xa9 \xe2\x86\x92 \xf0\x9f\x98\x80");
    CHECK(logged("") == "");
  }

  TEST_CASE("invalid UTF-8 and C1 controls come out as \\x escapes of their bytes") {
    // A lone continuation byte, a truncated sequence, an overlong '/', a surrogate, a byte
    // that is never UTF-8, beyond U+10FFFF, and U+009B (CSI, a terminal escape on its own).
    CHECK(logged("a\x80z") == "a\\x80z");
    CHECK(logged("a\xe2\x86z") == "a\\xe2\\x86z");
    CHECK(logged("a\xc0\xafz") == "a\\xc0\\xafz");
    CHECK(logged("a\xed\xa0\x80z") == "a\\xed\\xa0\\x80z");
    CHECK(logged("a\xffz") == "a\\xffz");
    CHECK(logged("a\xf4\x90\x80\x80z") == "a\\xf4\\x90\\x80\\x80z");
    CHECK(logged("a\xc2\x9b"
                 "31mz") == "a\\xc2\\x9b31mz");
    CHECK(logged("end\xe2") == "end\\xe2");
  }

  TEST_CASE("a level set by name filters lines, an unknown name changes nothing") {
    CHECK(set_log_level("error"));
    CHECK(current_log_level() == log_level::error);
    CHECK_FALSE(set_log_level("loud"));
    CHECK(current_log_level() == log_level::error);
    {
      sink_capture sink;
      detail::warn({"test"}, "a warning under level error");
      detail::log(log_level::error, {"test"}, "an error under level error");
      REQUIRE(sink.records.size() == 1);
      CHECK(sink.records[0].text == "an error under level error");
    }
    CHECK(set_log_level("warn"));
    CHECK(current_log_level() == log_level::warn);
    CHECK(parse_log_level("warning") == log_level::warn);
    CHECK(to_string(log_level::debug) == "debug");
  }

  TEST_CASE("a process sink receives each line as a record: level, component, node, port, text") {
    node n{stepped("log-record")};
    auto p = n.port([](message&) {});
    sink_capture sink;
    n.kil(p, "crashed");  // unmonitored: its death is logged
    n.run_until_idle();
    REQUIRE(sink.records.size() == 1);
    const kept& r = sink.records[0];
    CHECK(r.level == log_level::warn);
    CHECK(r.component == "runtime");
    CHECK(r.node == "log-record");
    CHECK(r.port == p);
    CHECK(r.text == "unmonitored port died: crashed");
    CHECK(r.suppressed == 0);
    CHECK(r.line == "coport [warn] node log-record, port " + p.to_string() +
                        ": unmonitored port died: crashed");
  }

  TEST_CASE("a node's own sink takes the lines about that node, until the node is destroyed") {
    sink_capture process;
    std::vector<std::string> own;
    node_options o = stepped("log-own");
    o.log = [&](const log_record& r) { own.push_back(std::string{r.text}); };
    {
      node a{o};
      node b{stepped("log-other")};
      a.kil(a.port([](message&) {}), "a-died");
      b.kil(b.port([](message&) {}), "b-died");
      a.run_until_idle();
      b.run_until_idle();
      CHECK(own == std::vector<std::string>{"unmonitored port died: a-died"});
      REQUIRE(process.records.size() == 1);
      CHECK(process.records[0].node == "log-other");
    }
    detail::warn({"test", "log-own"}, "after the node");  // its sink is gone with it
    CHECK(own.size() == 1);
    REQUIRE(process.records.size() == 2);
    CHECK(process.records[1].text == "after the node");
  }

  TEST_CASE(
      "one call site's lines about one node are limited, and the next says how many were dropped") {
    sink_capture sink;
    fake_now = std::chrono::steady_clock::time_point{} + std::chrono::hours{1};
    detail::set_log_clock(&read_fake_now);
    auto emit = [](std::string_view about, int i) { detail::warn({"test", about}, "line {}", i); };
    for (int i = 0; i < 25; ++i) emit("rate-a", i);
    for (int i = 0; i < 3; ++i) emit("rate-b", i);  // another node: a rate of its own
    fake_now += std::chrono::milliseconds{999};
    emit("rate-a", 25);  // still the same second: dropped
    fake_now += std::chrono::milliseconds{1};
    emit("rate-a", 26);
    detail::set_log_clock(nullptr);
    std::vector<std::string> a, b;
    for (const auto& r : sink.records) (r.node == "rate-a" ? a : b).push_back(r.text);
    REQUIRE(a.size() == log_burst + 1);
    CHECK(a.front() == "line 0");
    CHECK(a[log_burst - 1] == "line " + std::to_string(log_burst - 1));
    CHECK(b == std::vector<std::string>{"line 0", "line 1", "line 2"});
    const kept& next = sink.records.back();
    CHECK(next.text == "line 26");
    CHECK(next.suppressed == 26 - log_burst);
    CHECK(next.line == "coport [warn] node rate-a: line 26 (16 similar lines suppressed)");
  }

  TEST_CASE("a line logged from inside a sink goes to stderr, not into the sink again") {
    int calls = 0;
    log_capture err;
    set_log_sink([&](const log_record&) {
      ++calls;
      detail::warn({"test"}, "from inside the sink");
    });
    detail::warn({"test"}, "to the sink");
    set_log_sink({});
    CHECK(calls == 1);
    CHECK(err.text() == "coport [warn] from inside the sink\n");
  }
}
