// `coport schema dump` and `coport schema diff` run as a user would (tools/coport/schema.cpp):
// a service library's inits in the dump, and diff's exit codes (0 compatible, 1 not, 2 a file
// it cannot read or a wrong command line).
#include <doctest/doctest.h>

#include <fstream>
#include <string>

#include "support/cli.hpp"

using namespace coport::test;

TEST_SUITE("tools.coport") {
  TEST_CASE(
      "coport schema dump writes a library's inits and schema diff exits 0 compatible 1 not 2 "
      "unreadable") {
    scratch s;
    std::string dump = "schema dump libraries ";
    dump += COPORT_SERVICE_LIBRARY;  // (appended: GCC 12 warns of a false overflow on '+')
    auto [code, text] = s.run(dump);
    REQUIRE_MESSAGE(code == 0, text);
    CHECK(has(text, R"("coport_schema": 1)"));
    CHECK(has(text, R"("name": "greeter")"));
    CHECK(has(text, R"("name": "echo")"));
    auto write = [&](const std::string& file, const std::string& body) {
      auto path = (s.dir / file).string();
      std::ofstream{path} << body;
      return path;
    };
    auto old_path = write("old.json", text);
    // The new build lost the library's "relay" init.
    std::string without_relay = text;
    auto at = without_relay.find(R"("name": "relay")");
    REQUIRE(at != std::string::npos);
    without_relay.replace(at, 15, R"("name": "relay2")");
    auto new_path = write("new.json", without_relay);
    auto [same, same_text] = s.run("schema diff " + old_path + " " + old_path);
    CHECK_MESSAGE(same == 0, same_text);
    CHECK(has(same_text, "compatible:"));
    auto [broken, broken_text] = s.run("schema diff " + old_path + " " + new_path);
    CHECK_MESSAGE(broken == 1, broken_text);
    CHECK(has(broken_text, "BREAKS: init relay: gone from the new build"));
    CHECK(has(broken_text, "fine: init relay2(): new"));
    auto [missing, missing_text] = s.run("schema diff " + old_path + " /nonexistent.json");
    CHECK(missing == 2);
    CHECK(has(missing_text, "cannot read /nonexistent.json"));
    auto [usage_code, usage_text] = s.run("schema diff " + old_path);
    CHECK(usage_code == 2);
    CHECK(has(usage_text, "usage: coport"));
  }
}
