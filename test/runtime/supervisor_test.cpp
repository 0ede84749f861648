// Supervisors on one node: strategies, restart types, intensity and escalation, backoff on
// the virtual clock, ordered stop, coroutine actors as children, and the requests a
// supervisor answers.
#include <doctest/doctest.h>

#include <coport/actor.hpp>
#include <coport/node.hpp>
#include <coport/receive.hpp>
#include <coport/supervisor.hpp>
#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "support/nodes.hpp"

using namespace coport;
using coport::test::stepped;
using namespace std::chrono_literals;

namespace doctest {
// The journal, shown when a check on it fails.
template <>
struct StringMaker<std::vector<std::string>> {
  static String convert(const std::vector<std::string>& v) {
    std::string out = "{";
    for (const auto& s : v) out += (out.size() > 1 ? ", \"" : "\"") + s + "\"";
    return (out + "}").c_str();
  }
};
}  // namespace doctest

namespace {

// A node whose init "sup.worker"(name) writes "start name" in the journal, and "stop name"
// (with the reason's kind when abnormal) when that port ends.
struct pool {
  node n;
  std::vector<std::string> journal;
  port_id observer;
  explicit pool(const char* id) : n{stepped(id)} {
    observer = n.port();
    n.rcv(observer, "died", [this](std::string name, reason why) {
      journal.push_back("stop " + name + (why.normal() ? "" : " " + std::string{why.kind()}));
    });
    n.register_init("sup.worker", [this](std::string name) {
      journal.push_back("start " + name);
      n.rcv(self(), "ping", [this](port_id reply) { n.snd(reply, "pong"); });
      n.mon(self(), observer, "died", name).release();
    });
  }
  std::vector<std::string> take() { return std::exchange(journal, {}); }

  using children_t = std::vector<std::pair<std::string, port_id>>;
  children_t children(const port_id& sup) {
    children_t out;
    bool answered = false;
    n.cal(sup, "which_children", [&](reply r) {
      answered = true;
      if (!r || !r->is<std::vector<std::string>, std::vector<port_id>>()) return;
      auto& [ids, ports] = r->as<std::vector<std::string>, std::vector<port_id>>();
      for (std::size_t i = 0; i < ids.size(); ++i) out.emplace_back(ids[i], ports[i]);
    });
    n.run_until_idle();
    REQUIRE(answered);
    return out;
  }
  port_id child(const port_id& sup, const std::string& id) {
    for (auto& [name, port] : children(sup)) {
      if (name == id) return port;
    }
    FAIL("no child " << id);
    return {};
  }
};

supervisor_spec three(restart_strategy strategy) {
  supervisor_spec spec;
  spec.strategy = strategy;
  for (const char* id : {"a", "b", "c"}) {
    spec.children.push_back(child_spec::of(id, "sup.worker", std::string{id}));
  }
  return spec;
}

}  // namespace

TEST_SUITE("supervisor") {
  TEST_CASE("children start in order and which_children names their ports") {
    pool p{"sup-order"};
    auto sup = start_supervisor(p.n, three(restart_strategy::one_for_one));
    p.n.run_until_idle();
    CHECK(p.take() == std::vector<std::string>{"start a", "start b", "start c"});
    auto kids = p.children(sup);
    REQUIRE(kids.size() == 3);
    for (auto& [id, port] : kids) CHECK(p.n.alive(port));
  }

  TEST_CASE("one_for_one restarts only the child that died, as a new port") {
    pool p{"sup-one"};
    auto sup = start_supervisor(p.n, three(restart_strategy::one_for_one));
    p.n.run_until_idle();
    auto before = p.children(sup);
    p.take();
    p.n.kil(before[1].second, "crash");
    p.n.run_until_idle();
    CHECK(p.take() == std::vector<std::string>{"stop b crash", "start b"});
    auto after = p.children(sup);
    CHECK(after[0] == before[0]);
    CHECK(after[2] == before[2]);
    CHECK(after[1].second != before[1].second);
    CHECK(p.n.alive(after[1].second));
  }

  TEST_CASE("one_for_all kills the others last first with shutdown, then starts all in order") {
    pool p{"sup-all"};
    auto sup = start_supervisor(p.n, three(restart_strategy::one_for_all));
    p.n.run_until_idle();
    auto before = p.children(sup);
    p.take();
    p.n.kil(before[1].second, "crash");
    p.n.run_until_idle();
    CHECK(p.take() == std::vector<std::string>{"stop b crash", "stop c shutdown", "stop a shutdown",
                                               "start a", "start b", "start c"});
    auto after = p.children(sup);
    for (std::size_t i = 0; i < 3; ++i) CHECK(after[i].second != before[i].second);
  }

  TEST_CASE("rest_for_one restarts the child that died and those started after it") {
    pool p{"sup-rest"};
    auto sup = start_supervisor(p.n, three(restart_strategy::rest_for_one));
    p.n.run_until_idle();
    auto before = p.children(sup);
    p.take();
    p.n.kil(before[1].second, "crash");
    p.n.run_until_idle();
    CHECK(p.take() ==
          std::vector<std::string>{"stop b crash", "stop c shutdown", "start b", "start c"});
    auto after = p.children(sup);
    CHECK(after[0] == before[0]);
  }

  TEST_CASE(
      "permanent children come back after any end, transient ones only after an abnormal "
      "one, temporary ones never and are forgotten") {
    pool p{"sup-types"};
    supervisor_spec spec;
    spec.max_restarts = 10;
    spec.children.push_back(child_spec::of("perm", "sup.worker", std::string{"perm"}));
    spec.children.push_back(child_spec::of("trans", "sup.worker", std::string{"trans"})
                                .restart_as(restart_type::transient));
    spec.children.push_back(child_spec::of("temp", "sup.worker", std::string{"temp"})
                                .restart_as(restart_type::temporary));
    auto sup = start_supervisor(p.n, std::move(spec));
    p.n.run_until_idle();
    p.take();
    p.n.kil(p.child(sup, "perm"));  // normal
    p.n.kil(p.child(sup, "trans"));  // normal: stays down
    p.n.run_until_idle();
    CHECK(p.take() == std::vector<std::string>{"stop perm", "start perm", "stop trans"});
    CHECK(p.child(sup, "trans").is_null());
    p.n.kil(p.child(sup, "temp"), "crash");
    p.n.run_until_idle();
    CHECK(p.take() == std::vector<std::string>{"stop temp crash"});
    auto kids = p.children(sup);
    CHECK(kids.size() == 2);  // temp is forgotten
    // A transient child that is restarted by hand and then crashes comes back.
    bool ok = false;
    p.n.cal(sup, "restart_child", std::string{"trans"}, [&](reply r) {
      ok = r && r->tag() == tag{"ok"};
    });
    p.n.run_until_idle();
    CHECK(ok);
    p.take();
    p.n.kil(p.child(sup, "trans"), "crash");
    p.n.run_until_idle();
    CHECK(p.take() == std::vector<std::string>{"stop trans crash", "start trans"});
  }

  TEST_CASE(
      "more restarts than the intensity allows end the supervisor with "
      "reached_max_restart_intensity, its children first, last first") {
    pool p{"sup-intensity"};
    auto spec = three(restart_strategy::one_for_one);
    spec.max_restarts = 2;
    spec.period = 10s;
    auto sup = start_supervisor(p.n, std::move(spec));
    reason end;
    bool ended = false;
    auto watch = p.n.mon(sup, [&](const reason& why) {
      ended = true;
      end = why;
    });
    p.n.run_until_idle();
    for (int i = 0; i < 2; ++i) {
      p.n.kil(p.child(sup, "a"), "crash");
      p.n.run_until_idle();
      p.n.advance(1s);
    }
    CHECK(!ended);
    p.take();
    p.n.kil(p.child(sup, "a"), "crash");  // the third within 10 s
    p.n.run_until_idle();
    CHECK(ended);
    CHECK(end.kind() == "reached_max_restart_intensity");
    CHECK(p.take() == std::vector<std::string>{"stop a crash", "stop c shutdown", "stop b shutdown"});
  }

  TEST_CASE("restarts spread wider than the period never reach the intensity") {
    pool p{"sup-period"};
    auto spec = three(restart_strategy::one_for_one);
    spec.max_restarts = 1;
    spec.period = 5s;
    auto sup = start_supervisor(p.n, std::move(spec));
    p.n.run_until_idle();
    for (int i = 0; i < 5; ++i) {
      p.n.kil(p.child(sup, "b"), "crash");
      p.n.run_until_idle();
      p.n.advance(6s);
    }
    CHECK(p.n.alive(sup));
    CHECK(p.n.alive(p.child(sup, "b")));
  }

  TEST_CASE("a supervisor past its intensity is restarted by its own supervisor (escalation)") {
    pool p{"sup-tree"};
    register_supervisor(p.n, "sup.inner", [] {
      supervisor_spec inner;
      inner.max_restarts = 0;
      inner.children.push_back(child_spec::of("leaf", "sup.worker", std::string{"leaf"}));
      return inner;
    });
    supervisor_spec outer;
    outer.children.push_back(child_spec::of("inner", "sup.inner"));
    outer.children.push_back(child_spec::of("sibling", "sup.worker", std::string{"sibling"}));
    auto top = start_supervisor(p.n, std::move(outer));
    p.n.run_until_idle();
    // Spawned in order: the inner supervisor's init runs before the sibling's, and starts
    // its own child, whose init runs after (spawn does not wait for an init).
    CHECK(p.take() == std::vector<std::string>{"start sibling", "start leaf"});
    auto inner = p.child(top, "inner");
    p.n.kil(p.child(inner, "leaf"), "crash");  // the inner one gives up at once
    p.n.run_until_idle();
    CHECK(p.take() == std::vector<std::string>{"stop leaf crash", "start leaf"});
    CHECK(!p.n.alive(inner));
    auto again = p.child(top, "inner");
    CHECK(again != inner);
    CHECK(p.n.alive(p.child(again, "leaf")));
  }

  TEST_CASE("a child that dies quickly again waits a doubling backoff on the virtual clock") {
    pool p{"sup-backoff"};
    supervisor_spec spec;
    spec.max_restarts = 100;
    spec.period = 10s;
    spec.backoff_initial = 100ms;
    spec.backoff_max = 400ms;
    spec.children.push_back(child_spec::of("w", "sup.worker", std::string{"w"}));
    auto sup = start_supervisor(p.n, std::move(spec));
    p.n.run_until_idle();
    p.take();
    for (auto wait : {100ms, 200ms, 400ms, 400ms}) {
      p.n.kil(p.child(sup, "w"), "crash");
      p.n.run_until_idle();
      CHECK(p.take() == std::vector<std::string>{"stop w crash"});
      p.n.advance(wait - 1ms);
      p.n.run_until_idle();
      CHECK(p.journal.empty());
      p.n.advance(1ms);
      p.n.run_until_idle();
      CHECK(p.take() == std::vector<std::string>{"start w"});
    }
    // After running a whole period it is restarted at once again.
    p.n.advance(10s);
    p.n.kil(p.child(sup, "w"), "crash");
    p.n.run_until_idle();
    CHECK(p.take() == std::vector<std::string>{"stop w crash", "start w"});
  }

  TEST_CASE("stop ends the children last first, then the supervisor, normally") {
    pool p{"sup-stop"};
    auto sup = start_supervisor(p.n, three(restart_strategy::one_for_one));
    reason end{"not yet"};
    auto watch = p.n.mon(sup, [&](const reason& why) { end = why; });
    p.n.run_until_idle();
    p.take();
    p.n.snd(sup, "stop");
    p.n.run_until_idle();
    CHECK(p.take() ==
          std::vector<std::string>{"stop c shutdown", "stop b shutdown", "stop a shutdown"});
    CHECK(end.normal());
  }

  TEST_CASE("a supervisor killed abnormally takes its children with it") {
    pool p{"sup-killed"};
    auto sup = start_supervisor(p.n, three(restart_strategy::one_for_one));
    p.n.run_until_idle();
    p.take();
    p.n.kil(sup, "boom");
    p.n.run_until_idle();
    auto j = p.take();
    std::sort(j.begin(), j.end());
    CHECK(j == std::vector<std::string>{"stop a boom", "stop b boom", "stop c boom"});
  }

  TEST_CASE("coroutine actors are supervised like event ports") {
    pool p{"sup-actors"};
    int starts = 0;
    register_actor(p.n, "sup.actor", [&](std::string name) -> actor {
      ++starts;
      message m = co_await receive("fail");
      throw std::runtime_error{name + " failed " + std::string{m.tag().name()}};
    });
    supervisor_spec spec;
    spec.children.push_back(child_spec::of("act", "sup.actor", std::string{"act"}));
    auto sup = start_supervisor(p.n, std::move(spec));
    p.n.run_until_idle();
    auto first = p.child(sup, "act");
    p.n.snd(first, "fail");
    p.n.run_until_idle();
    CHECK(starts == 2);
    CHECK(!p.n.alive(first));
    CHECK(p.n.alive(p.child(sup, "act")));
  }

  TEST_CASE("count, terminate, restart, delete and start children by request") {
    pool p{"sup-requests"};
    auto sup = start_supervisor(p.n, three(restart_strategy::one_for_one));
    p.n.run_until_idle();
    std::vector<std::string> answers;
    auto answer = [&](reply r) {
      if (!r) {
        answers.push_back("none");
      } else if (r->tag() == tag{"count"}) {
        answers.push_back("count " + std::to_string(r->get<std::int64_t>(0)) + " " +
                          std::to_string(r->get<std::int64_t>(1)));
      } else if (r->tag() == tag{"error"}) {
        answers.push_back("error " + r->get<std::string>(0));
      } else {
        answers.push_back(std::string{r->tag().name()});
      }
    };
    auto b = p.child(sup, "b");
    p.n.cal(sup, "terminate_child", std::string{"b"}, answer);
    p.n.run_until_idle();
    CHECK(!p.n.alive(b));
    p.n.cal(sup, "count_children", answer);
    p.n.cal(sup, "delete_child", std::string{"a"}, answer);  // running: refused
    p.n.cal(sup, "delete_child", std::string{"b"}, answer);
    p.n.cal(sup, "restart_child", std::string{"b"}, answer);  // gone
    p.n.cal(sup, "terminate_child", std::string{"zz"}, answer);
    p.n.run_until_idle();
    CHECK(answers == std::vector<std::string>{"ok", "count 3 2", "error 'a' is running", "ok",
                                              "error no child 'b'", "error no child 'zz'"});
    port_id added;
    start_child(p.n, sup, child_spec::of("d", "sup.worker", std::string{"d"}),
                [&](const port_id& port, const std::string&) { added = port; });
    std::string refused;
    start_child(p.n, sup, child_spec::of("d", "sup.worker", std::string{"d"}),
                [&](const port_id&, const std::string& why) { refused = why; });
    p.n.run_until_idle();
    CHECK(p.n.alive(added));
    CHECK(refused == "a child with ID 'd' exists");
    CHECK(p.children(sup).size() == 3);  // a, c, d
    // A spec that start_supervisor would refuse is refused through `done`.
    std::string bad;
    start_child(p.n, sup, child_spec::of("e", "sup.worker", std::string{"e"}).on({"bad id"}),
                [&](const port_id&, const std::string& why) { bad = why; });
    p.n.run_until_idle();
    CHECK(bad.find("invalid node ID") != std::string::npos);
    CHECK(p.n.alive(sup));
  }

  TEST_CASE("a terminated child stays down, also through a sibling's group restart") {
    pool p{"sup-terminated"};
    auto sup = start_supervisor(p.n, three(restart_strategy::one_for_all));
    p.n.run_until_idle();
    bool ok = false;
    p.n.cal(sup, "terminate_child", std::string{"c"}, [&](reply r) { ok = r && r->tag() == tag{"ok"}; });
    p.n.run_until_idle();
    CHECK(ok);
    p.take();
    p.n.kil(p.child(sup, "a"), "crash");
    p.n.run_until_idle();
    CHECK(p.take() == std::vector<std::string>{"stop a crash", "stop b shutdown", "start a", "start b"});
    CHECK(p.child(sup, "c").is_null());
  }

  TEST_CASE("a temporary sibling ended by a group restart is forgotten, not started again") {
    pool p{"sup-temp-group"};
    auto spec = three(restart_strategy::one_for_all);
    spec.children[2].restart_as(restart_type::temporary);  // c
    auto sup = start_supervisor(p.n, std::move(spec));
    p.n.run_until_idle();
    p.take();
    p.n.kil(p.child(sup, "a"), "crash");
    p.n.run_until_idle();
    CHECK(p.take() == std::vector<std::string>{"stop a crash", "stop c shutdown", "stop b shutdown",
                                               "start a", "start b"});
    CHECK(p.children(sup).size() == 2);
  }

  TEST_CASE("a supervisor killed normally takes its children with it, as shutdown") {
    pool p{"sup-kil-normal"};
    auto sup = start_supervisor(p.n, three(restart_strategy::one_for_one));
    p.n.run_until_idle();
    p.take();
    p.n.kil(sup);
    p.n.run_until_idle();
    auto j = p.take();
    std::sort(j.begin(), j.end());
    CHECK(j == std::vector<std::string>{"stop a shutdown", "stop b shutdown", "stop c shutdown"});
  }

  TEST_CASE("stopping a tree ends every level in order: a child supervisor is asked to stop") {
    pool p{"sup-nested-stop"};
    register_supervisor(p.n, "sup.inner2", [] {
      supervisor_spec inner;
      for (const char* id : {"x", "y"}) {
        inner.children.push_back(child_spec::of(id, "sup.worker", std::string{id}));
      }
      return inner;
    });
    supervisor_spec outer;
    outer.children.push_back(child_spec::of("a", "sup.worker", std::string{"a"}));
    outer.children.push_back(child_spec::supervisor("inner", "sup.inner2"));
    outer.children.push_back(child_spec::of("z", "sup.worker", std::string{"z"}));
    auto top = start_supervisor(p.n, std::move(outer));
    reason end{"not yet"};
    auto watch = p.n.mon(top, [&](const reason& why) { end = why; });
    p.n.run_until_idle();
    p.take();
    p.n.snd(top, "stop");
    p.n.run_until_idle();
    CHECK(p.take() == std::vector<std::string>{"stop z shutdown", "stop y shutdown",
                                               "stop x shutdown", "stop a shutdown"});
    CHECK(end.normal());
  }

  TEST_CASE("a stop during a restart's backoff: nothing starts again") {
    pool p{"sup-stop-backoff"};
    auto spec = three(restart_strategy::one_for_one);
    spec.backoff_initial = 1s;
    spec.max_restarts = 10;
    auto sup = start_supervisor(p.n, std::move(spec));
    p.n.run_until_idle();
    p.n.kil(p.child(sup, "b"), "crash");
    p.n.run_until_idle();
    CHECK(p.child(sup, "b").is_null());  // waiting for its backoff
    p.take();
    p.n.snd(sup, "stop");
    p.n.run_until_idle();
    p.n.advance(5s);
    p.n.run_until_idle();
    CHECK(p.take() == std::vector<std::string>{"stop c shutdown", "stop a shutdown"});
    CHECK(!p.n.alive(sup));
  }

  TEST_CASE("bad input: duplicate IDs and missing inits are refused, odd requests ignored") {
    pool p{"sup-bad"};
    supervisor_spec twins;
    twins.children.push_back(child_spec::of("x", "sup.worker", std::string{"x"}));
    twins.children.push_back(child_spec::of("x", "sup.worker", std::string{"y"}));
    CHECK_THROWS_AS(start_supervisor(p.n, std::move(twins)), std::invalid_argument);
    auto sup = start_supervisor(p.n, three(restart_strategy::one_for_one));
    p.n.run_until_idle();
    p.n.snd(sup, "which_children", 42);            // no reply port
    p.n.snd(sup, "terminate_child", 1, 2, 3);      // wrong types
    p.n.snd(sup, "no such request", std::string{"x"});
    p.n.run_until_idle();
    CHECK(p.n.alive(sup));
    CHECK(p.children(sup).size() == 3);
    CHECK_THROWS_AS(supervise(p.n, supervisor_spec{}), std::logic_error);  // not in a port
  }
}
