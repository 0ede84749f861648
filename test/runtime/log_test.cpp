// Log lines: whatever a line carries (a reason, a name, text that came from a peer), the
// sink writes it as one line of visible text, its control characters escaped (\n, \t,
// \x1b), so no text can forge a line or send a terminal escape sequence.
#include <doctest/doctest.h>

#include <coport/detail/log_sink.hpp>
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

/// What the sink makes of `text` in a warn line (the line without "coport [warn] " and the
/// newline), and whether it came out as exactly one line.
std::string logged(std::string_view text, bool& one_line) {
  log_capture log;
  detail::write_log(detail::log_level::warn, text);
  auto all = log.text();
  auto lines = lines_of(all);
  one_line = lines.size() == 1 && !all.empty() && all.back() == '\n';
  std::string_view head = "coport [warn] ";
  if (lines.empty() || lines[0].rfind(head, 0) != 0) return "(no line)";
  return lines[0].substr(head.size());
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
    CHECK(detail::current_log_level() == detail::log_level::error);
    CHECK_FALSE(set_log_level("loud"));
    CHECK(detail::current_log_level() == detail::log_level::error);
    CHECK(set_log_level("warn"));
    CHECK(detail::current_log_level() == detail::log_level::warn);
  }
}
