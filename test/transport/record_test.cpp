// The record layer after the handshake (record.hpp), byte by byte: what an attacker on the
// path can do to a recorded stream (flip a bit, replay, reorder, drop, truncate, announce a
// huge record) ends it, nothing after the bad record is delivered, and the two modes put
// what they should on the wire.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

#include "record.hpp"

namespace tp = coport::transport;
using tp::detail::max_record;
using tp::detail::record_header;
using tp::detail::record_keys;
using tp::detail::record_opener;
using tp::detail::record_sealer;
using tp::detail::record_tag;

namespace {

using bytes = std::vector<std::byte>;

record_keys keys_of(unsigned char seed) {
  record_keys k;
  for (std::size_t i = 0; i < k.key.size(); ++i) k.key[i] = static_cast<unsigned char>(seed + i);
  for (std::size_t i = 0; i < k.iv.size(); ++i) k.iv[i] = static_cast<unsigned char>(seed * 3 + i);
  return k;
}

bytes text(const std::string& s) {
  bytes out(s.size());
  std::transform(s.begin(), s.end(), out.begin(), [](char c) { return static_cast<std::byte>(c); });
  return out;
}

/// What an opener delivered, one string per record.
struct collect : record_opener::sink {
  std::vector<std::string> got;
  void on_plain(std::span<const std::byte> plain) override {
    got.emplace_back(reinterpret_cast<const char*>(plain.data()), plain.size());
  }
};

/// The records of a stream, each sealed on its own (one seal call each).
struct recorded {
  std::vector<bytes> records;
  recorded(const record_keys& k, bool encrypt, const std::vector<std::string>& plain) {
    record_sealer s{k, encrypt};
    for (const auto& p : plain) {
      bytes out;
      s.seal(text(p), out);
      REQUIRE(out.size() == record_header + p.size() + record_tag);
      records.push_back(std::move(out));
    }
  }
  /// The records at `order` one after another.
  bytes stream(const std::vector<std::size_t>& order) const {
    bytes out;
    for (auto i : order) out.insert(out.end(), records[i].begin(), records[i].end());
    return out;
  }
};

const std::vector<std::string> three = {"first record: def_tag", "second: a message",
                                        "third: kill 42"};

/// Opens `stream` (in one piece) with a fresh opener; what it said and delivered.
std::string open_all(bool encrypt, bytes stream, collect& to, const record_keys& k = keys_of(1)) {
  record_opener o{k, encrypt};
  return o.open(stream, to);
}

}  // namespace

TEST_SUITE("transport.record") {
  TEST_CASE("records open in order, in any split of the stream, in both modes") {
    for (bool encrypt : {false, true}) {
      INFO("encrypt " << encrypt);
      recorded r{keys_of(1), encrypt, three};
      bytes stream = r.stream({0, 1, 2});
      {
        collect to;
        CHECK(open_all(encrypt, stream, to) == "");
        CHECK(to.got == three);
      }
      // One byte at a time: the opener holds at most one record and delivers each whole.
      record_opener o{keys_of(1), encrypt};
      collect to;
      for (std::size_t i = 0; i < stream.size(); ++i) {
        REQUIRE(o.open(std::span<std::byte>{stream}.subspan(i, 1), to) == "");
        CHECK(o.held() <= record_header + three[0].size() + record_tag);
      }
      CHECK(to.got == three);
      CHECK(o.opened() == 3);
      CHECK(o.held() == 0);
    }
  }

  TEST_CASE("a bit flipped in a record's body, header or tag ends the stream: nothing from it on") {
    for (bool encrypt : {false, true}) {
      recorded r{keys_of(1), encrypt, three};
      std::size_t second = r.records[0].size();  // where the second record starts
      struct where {
        const char* what;
        std::size_t at;
        std::byte mask;
      };
      std::vector<where> flips = {
          {"body", second + record_header + 3, std::byte{0x01}},
          {"body, last byte", second + record_header + three[1].size() - 1, std::byte{0x80}},
          {"header, low bit of the length", second, std::byte{0x01}},
          {"header, a bit of the length that makes it too long", second + 2, std::byte{0x10}},
          {"tag, first byte", second + record_header + three[1].size(), std::byte{0x01}},
          {"tag, last byte", second + r.records[1].size() - 1, std::byte{0x40}},
      };
      for (const auto& f : flips) {
        INFO("encrypt " << encrypt << ", flipped in the " << f.what);
        bytes stream = r.stream({0, 1, 2});
        stream[f.at] ^= f.mask;
        record_opener o{keys_of(1), encrypt};
        collect to;
        std::string why = o.open(stream, to);
        CHECK(why != "");
        CHECK(to.got == std::vector<std::string>{three[0]});  // the one before it only
        // And the opener refuses everything after, even a genuine continuation.
        bytes more = r.stream({2});
        CHECK(o.open(more, to) != "");
        CHECK(to.got.size() == 1);
      }
    }
  }

  TEST_CASE("a replayed, reordered or dropped record ends the stream where it is") {
    recorded r{keys_of(1), false, {"r0", "r1", "r2", "r3"}};
    struct order_case {
      const char* what;
      std::vector<std::size_t> order;
      std::vector<std::string> delivered;
    };
    std::vector<order_case> cases = {
        {"replayed at once", {0, 0, 1}, {"r0"}},
        {"replayed later", {0, 1, 2, 1, 3}, {"r0", "r1", "r2"}},
        {"two swapped", {0, 2, 1, 3}, {"r0"}},
        {"the first two swapped", {1, 0, 2}, {}},
        {"one dropped", {0, 1, 3}, {"r0", "r1"}},
        {"the first dropped", {1, 2, 3}, {}},
    };
    for (const auto& c : cases) {
      INFO(c.what);
      collect to;
      CHECK(open_all(false, r.stream(c.order), to) != "");
      CHECK(to.got == c.delivered);
    }
    // Another channel's opener (other keys: handshake_test checks that every channel's
    // differ) takes nothing of a stream recorded on this one.
    collect other;
    CHECK(open_all(false, r.stream({0, 1, 2, 3}), other, keys_of(2)) != "");
    CHECK(other.got.empty());
  }

  TEST_CASE("a truncated stream is held, not delivered, and the rest completes it") {
    recorded r{keys_of(1), false, three};
    bytes stream = r.stream({0, 1});
    for (std::size_t cut : {std::size_t{1}, record_header, record_header + 5, record_tag,
                            std::size_t{1} + record_tag}) {
      INFO("the last " << cut << " bytes missing");
      record_opener o{keys_of(1), false};
      collect to;
      std::span<std::byte> all{stream};
      CHECK(o.open(all.first(stream.size() - cut), to) == "");
      CHECK(to.got == std::vector<std::string>{three[0]});
      CHECK(o.held() == r.records[1].size() - cut);
      CHECK(o.open(all.last(cut), to) == "");
      CHECK(to.got == std::vector<std::string>{three[0], three[1]});
    }
    // A byte cut out of a record, the next one's bytes following: its tag is not where it was.
    bytes spliced = r.records[0];
    spliced.erase(spliced.begin() + record_header + 2);
    spliced.insert(spliced.end(), r.records[1].begin(), r.records[1].end());
    collect to;
    CHECK(open_all(false, spliced, to) != "");
    CHECK(to.got.empty());
  }

  TEST_CASE("a record that says it is longer than max_record, or empty, is refused at its header") {
    for (std::uint32_t length : {std::uint32_t(max_record + 1), std::uint32_t{0x04000000},
                                 std::uint32_t{0xffffffff}, std::uint32_t{0}}) {
      INFO("length " << length);
      record_opener o{keys_of(1), false};
      collect to;
      bytes header(record_header);
      for (int i = 0; i < 4; ++i) header[i] = static_cast<std::byte>(length >> (8 * i));
      // Only its four header bytes: refused at once, nothing held for the rest.
      CHECK(o.open(header, to) != "");
      CHECK(o.held() == 0);
      CHECK(to.got.empty());
    }
    // Split: the header in two pieces.
    record_opener o{keys_of(1), false};
    collect to;
    bytes header = {std::byte{0xff}, std::byte{0xff}, std::byte{0xff}, std::byte{0x7f}};
    CHECK(o.open(std::span<std::byte>{header}.first(2), to) == "");
    CHECK(o.open(std::span<std::byte>{header}.last(2), to) != "");
    CHECK(o.held() <= record_header);
    // The sealer never makes one: larger plaintext goes as several records.
    record_sealer s{keys_of(1), false};
    bytes big(max_record * 2 + 10, std::byte{7}), sealed;
    s.seal(big, sealed);
    CHECK(s.sealed() == 3);
    CHECK(sealed.size() == big.size() + 3 * (record_header + record_tag));
    collect whole;
    record_opener ok{keys_of(1), false};
    CHECK(ok.open(sealed, whole) == "");
    REQUIRE(whole.got.size() == 3);
    CHECK(whole.got[0].size() == max_record);
    CHECK(whole.got[2].size() == 10);
  }

  TEST_CASE("a record forged without the key, or opened in the other mode, is refused") {
    // A forger who knows the format but not the key: a well-formed record with a made-up tag.
    bytes forged;
    const std::string body{"\x0a\x00\x00\x00\x06\x00\x2a\x00\x00\x00", 10};  // a kill frame
    std::uint32_t n = static_cast<std::uint32_t>(body.size());
    for (int i = 0; i < 4; ++i) forged.push_back(static_cast<std::byte>(n >> (8 * i)));
    for (char c : body) forged.push_back(static_cast<std::byte>(c));
    forged.resize(forged.size() + record_tag, std::byte{0});
    collect to;
    CHECK(open_all(false, forged, to) != "");
    CHECK(to.got.empty());
    // Sealed with integrity only, opened as encrypted (and the reverse): refused.
    for (bool encrypt : {false, true}) {
      recorded r{keys_of(1), encrypt, three};
      collect other;
      CHECK(open_all(!encrypt, r.stream({0}), other) != "");
      CHECK(other.got.empty());
    }
  }

  TEST_CASE("encrypted records hide the plaintext, integrity records carry it readable") {
    std::string secret_text = "the plaintext nobody on the path may read, repeated: ";
    secret_text += secret_text;
    auto contains = [](const bytes& hay, const std::string& needle) {
      bytes n = text(needle);
      return std::search(hay.begin(), hay.end(), n.begin(), n.end()) != hay.end();
    };
    recorded integrity{keys_of(1), false, {secret_text}};
    recorded encrypted{keys_of(1), true, {secret_text}};
    CHECK(contains(integrity.records[0], secret_text));
    CHECK(!contains(encrypted.records[0], secret_text));
    CHECK(!contains(encrypted.records[0], secret_text.substr(0, 8)));
    // Same length on the wire either way (GCM adds only the header and the tag).
    CHECK(encrypted.records[0].size() == integrity.records[0].size());
    collect to;
    CHECK(open_all(true, encrypted.records[0], to) == "");
    CHECK(to.got == std::vector<std::string>{secret_text});
    // The same plaintext sealed twice in a stream looks different (a fresh nonce each).
    recorded twice{keys_of(1), true, {secret_text, secret_text}};
    CHECK(!std::equal(twice.records[0].begin() + record_header, twice.records[0].end(),
                      twice.records[1].begin() + record_header));
  }
}
