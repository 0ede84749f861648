#pragma once
/// \file
/// coport::testing invariant checkers: what a run of a simulation (or of real processes that
/// log the same events) must keep, whatever failed.
///
/// - `stream_checker`: "no holes" per sender -> port (README). Messages of one stream carry
///   numbers 1, 2, 3...; the receiver gets them in order and never twice; after lost ones,
///   no later one arrives until the sender's monitor on that port has run after the last of
///   them was sent. Memory: per stream, what was sent and not yet settled by a receipt.
/// - `call_checker`: each `cal` callback runs exactly once.
/// - `order_checker`: a group's total order (README "Process groups"): no member receives a
///   message twice, and two members order the messages both received alike. Memory: every
///   member's record, whole.
///
/// ```cpp
/// coport::testing::stream_checker streams;
/// streams.sent("a#1>b#2", 7);  streams.monitor_ran("a#1>b#2");  streams.received("a#1>b#2", 9);
/// for (auto& v : streams.violations()) std::puts(v.c_str());
/// ```
/// Events are taken in the order the calls are made (one thread: a simulation's).
/// Threading: not thread-safe. Lifetime: plain values.

#include <cstdint>
#include <iterator>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

namespace coport::testing {

class stream_checker {
 public:
  /// Message `seq` of `stream` was sent (seq counts from 1 without gaps).
  void sent(const std::string& stream, std::uint64_t seq) {
    auto& s = streams_[stream];
    s.sent_at[seq] = ++clock_;
    ++sent_;
  }
  /// The sender's monitor on the stream's port ran (a loss, or the port's end, was seen).
  void monitor_ran(const std::string& stream) { streams_[stream].monitor_runs.push_back(++clock_); }
  /// The port received message `seq` of `stream`.
  void received(const std::string& stream, std::uint64_t seq) {
    auto& s = streams_[stream];
    const auto now = ++clock_;
    ++received_;
    if (seq <= s.last) {
      fail(stream + ": received " + std::to_string(seq) + " after " + std::to_string(s.last) +
           " (out of order or twice)");
      return;
    }
    if (!s.sent_at.count(seq)) {
      fail(stream + ": received " + std::to_string(seq) + ", which was never sent");
      return;
    }
    if (seq > s.last + 1) {
      // A hole: a monitor must have run after the *last* missing message was sent (so after
      // every one of them) and before now.
      const auto lost = s.sent_at.count(seq - 1) ? s.sent_at[seq - 1] : 0;
      bool covered = false;
      for (auto t : s.monitor_runs) covered = covered || (t > lost && t < now);
      ++holes_;
      if (!covered) {
        fail(stream + ": received " + std::to_string(seq) + " after " + std::to_string(s.last) +
             " with no monitor run since " + std::to_string(s.last + 1) + " was sent");
      }
    }
    s.last = seq;
    // What was sent up to `seq` is settled: forget it (bounded memory for long runs), and
    // the monitor runs that cannot cover a later hole (one before the next message's send).
    s.sent_at.erase(s.sent_at.begin(), s.sent_at.upper_bound(seq));
    const auto next = s.sent_at.find(seq + 1);
    const std::uint64_t useful_from = next != s.sent_at.end() ? next->second : now;
    std::erase_if(s.monitor_runs, [&](std::uint64_t t) { return t < useful_from; });
  }

  const std::vector<std::string>& violations() const { return violations_; }
  std::uint64_t messages_sent() const { return sent_; }
  std::uint64_t messages_received() const { return received_; }
  /// Holes seen (each covered by a monitor run, or a violation).
  std::uint64_t holes() const { return holes_; }

 private:
  struct stream_state {
    std::uint64_t last = 0;
    std::map<std::uint64_t, std::uint64_t> sent_at;  // seq -> clock
    std::vector<std::uint64_t> monitor_runs;
  };
  void fail(std::string text) {
    if (violations_.size() < 100) violations_.push_back(std::move(text));
  }
  std::map<std::string, stream_state> streams_;
  std::uint64_t clock_ = 0, sent_ = 0, received_ = 0, holes_ = 0;
  std::vector<std::string> violations_;
};

class call_checker {
 public:
  /// A `cal` was made; returns its number (pass it to the callback).
  std::uint64_t called() {
    answers_.push_back(0);
    return answers_.size() - 1;
  }
  /// Its callback ran.
  void answered(std::uint64_t call) {
    if (call < answers_.size()) ++answers_[call];
  }
  /// The caller's node ended (restarted): its callbacks are gone with it, so a call not
  /// answered yet is not counted (one answered twice still is).
  void forget(std::uint64_t call) {
    if (call < answers_.size() && answers_[call] == 0) answers_[call] = 1;
  }
  /// Calls answered other than exactly once (check once every call had its time).
  std::vector<std::string> violations() const {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < answers_.size() && out.size() < 100; ++i) {
      if (answers_[i] != 1) {
        out.push_back("call " + std::to_string(i) + " answered " + std::to_string(answers_[i]) +
                      " times");
      }
    }
    return out;
  }
  std::size_t calls() const { return answers_.size(); }

 private:
  std::vector<std::uint32_t> answers_;
};

class order_checker {
 public:
  /// `member` (a name unique over the run: one per port, never reused) received `msg` (a
  /// name unique over the run: one per message sent), after everything it received before.
  void delivered(const std::string& member, const std::string& msg) {
    auto& r = records_[member];
    if (!r.at.emplace(msg, r.order.size()).second) {
      fail("member " + member + " received " + msg + " twice");
      return;
    }
    r.order.push_back(msg);
    ++delivered_;
  }
  /// Messages received twice, then every pair of members that received two messages in
  /// opposite orders (the first such message of each pair).
  std::vector<std::string> violations() const {
    std::vector<std::string> out = violations_;
    for (auto a = records_.begin(); a != records_.end() && out.size() < 100; ++a) {
      for (auto b = std::next(a); b != records_.end() && out.size() < 100; ++b) {
        // The messages both received, in a's order, must come in increasing places in b's.
        std::size_t last = 0;
        bool first = true;
        for (const auto& m : a->second.order) {
          auto it = b->second.at.find(m);
          if (it == b->second.at.end()) continue;
          if (!first && it->second < last) {
            out.push_back("members " + a->first + " and " + b->first + " received " + m +
                          " in different orders");
            break;
          }
          first = false;
          last = it->second;
        }
      }
    }
    return out;
  }
  /// True when `member` received `msg`.
  bool received(const std::string& member, const std::string& msg) const {
    auto r = records_.find(member);
    return r != records_.end() && r->second.at.count(msg) != 0;
  }
  std::uint64_t messages_delivered() const { return delivered_; }
  std::size_t members() const { return records_.size(); }

 private:
  struct record {
    std::vector<std::string> order;
    std::unordered_map<std::string, std::size_t> at;  // message -> its place in order
  };
  void fail(std::string text) {
    if (violations_.size() < 100) violations_.push_back(std::move(text));
  }
  std::map<std::string, record> records_;
  std::uint64_t delivered_ = 0;
  std::vector<std::string> violations_;
};

}  // namespace coport::testing
