#pragma once
/// \file
/// The hostile peer of peer_fuzz: node "fuzz-peer", which runs the real version-3 handshake
/// with a target node over an in-memory channel (hello, proof with the secret, the proven
/// verdict), keeps its record sealer, and seals the frames the fuzzer makes into
/// authenticated records that it feeds to the target. A link the target ended is made again
/// by `connect` (a fresh handshake: new nonces, new keys).
///
/// Threading: libFuzzer's one thread; the target node is deterministic and runs only when
/// the peer or the harness runs it. Lifetime: the peer holds references to the target's node
/// and transport and must not outlive them; the target's connection holds the channel
/// (`connect` drops it, so no cycle is left behind).
#include <coport/coport.hpp>
#include <coport/transport/transport.hpp>
#include <coport/wire/reader.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "frame.hpp"
#include "handshake.hpp"
#include "record.hpp"

namespace coport::fuzz {

/// The target's end of the in-memory channel: keeps what the target writes during the
/// handshake (hellos, the verdict), drops the rest (the peer reads none of it), and after
/// `protect` opens records as tcp_channel does.
struct target_channel : transport::channel, transport::detail::record_opener::sink {
  std::vector<std::byte> handshake_out;  // what the target wrote before protect
  std::size_t written_after = 0;
  bool closed = false;
  std::shared_ptr<transport::channel_handler> handler;
  std::unique_ptr<transport::detail::record_opener> opener;

  bool write(std::span<const std::byte> b) override {
    if (closed) return false;
    if (!opener && handshake_out.size() < (64 << 10)) {
      handshake_out.insert(handshake_out.end(), b.begin(), b.end());
    } else {
      written_after += b.size();
    }
    return true;
  }
  void close(const std::string&) override { closed = true; }
  bool protect(const transport::detail::channel_keys& keys) override {
    opener = std::make_unique<transport::detail::record_opener>(keys.receive, keys.encrypt);
    return true;
  }
  void on_plain(std::span<const std::byte> plain) override {
    if (!closed) handler->on_bytes(plain);
  }
  /// Bytes from the peer, as a TCP read hands them on.
  void feed(std::span<std::byte> in) {
    if (closed) return;
    if (!opener) {
      std::size_t used = handler->on_bytes(in);
      if (used >= in.size() || !opener || closed) return;
      in = in.subspan(used);
    }
    if (!opener->open(in, *this).empty()) closed = true;  // a forged record: the link ends
  }
};

/// The peer's side of its one link with the target.
class hostile_peer {
 public:
  using bytes = std::vector<std::byte>;

  hostile_peer(node& n, transport::endpoint& t, std::string secret, std::string id)
      : n_(n), t_(t), secret_(std::move(secret)), id_(std::move(id)) {}

  std::shared_ptr<target_channel> ch;
  bytes plain;  // frames not sealed yet
  bool linked = false;
  std::size_t reconnects = 0, failed_handshakes = 0, held = 0;

  /// The peer connects: the real handshake, with the secret. True when the link is up.
  bool connect() {
    namespace d = transport::detail;
    if (ch) {
      ch->handler->on_closed("the peer reconnects");
      ch->handler.reset();  // the connection holds the channel: no cycle left behind
      ch.reset();
      n_.run_until_idle();
      ++reconnects;
    }
    linked = false;
    sealer_.reset();
    plain.clear();
    ch = std::make_shared<target_channel>();
    bool encrypt = reconnects % 2 == 1;  // both record modes, on alternate links
    hs_.emplace(secret_, true, encrypt);
    ch->handler = t_.attach(ch);  // the target accepts: it says hello first
    n_.run_until_idle();
    auto frame = [&](std::size_t& at, d::frame_kind want) -> std::optional<bytes> {
      const bytes& out = ch->handshake_out;
      if (out.size() - at < d::frame_header) return std::nullopt;
      std::uint32_t length = d::frame_length(out.data() + at);
      if (length == 0 || out.size() - at - 4 < length) return std::nullopt;
      auto kind = static_cast<d::frame_kind>(std::to_integer<std::uint8_t>(out[at + 4]));
      bytes body(out.begin() + static_cast<std::ptrdiff_t>(at + d::frame_header),
                 out.begin() + static_cast<std::ptrdiff_t>(at + 4 + length));
      at += 4 + length;
      if (kind != want) return std::nullopt;
      return body;
    };
    std::size_t at = 0;
    auto their_hello = frame(at, d::frame_kind::hello);
    if (!their_hello) return fail_handshake();
    bytes out = hs_->hello_frame(id_, 0x5eed, {});
    try {
      (void)hs_->take_hello(*their_hello, id_);
    } catch (const std::exception&) {
      return fail_handshake();
    }
    if (!hs_->dialer()) return fail_handshake();
    auto proof = hs_->proof_frame();
    out.insert(out.end(), proof.begin(), proof.end());
    ch->feed(out);
    n_.run_until_idle();
    auto verdict = frame(at, d::frame_kind::auth);
    if (!verdict || ch->closed) return fail_handshake();
    wire::reader r{*verdict};
    std::string error;
    d::peer_verdict v = hs_->check_verdict(r, error);
    if (!error.empty() || v.what != d::verdict::accept) return fail_handshake();
    auto keys = hs_->keys();
    if (!keys || !ch->opener) return fail_handshake();
    sealer_ = std::make_unique<d::record_sealer>(keys->send, keys->encrypt);
    linked = true;
    return true;
  }

  /// Seals what is pending into records and feeds them (as TCP would, unless the target
  /// holds its link: then the peer's bytes wait, and this input's rest is given up).
  bool flush() {
    if (!linked || ch->closed) return false;
    if (plain.empty()) return true;
    if (ch->handler->backlogged()) {
      n_.run_until_idle();
      if (ch->handler->backlogged()) {
        ++held;
        plain.clear();
        return false;
      }
    }
    bytes records;
    sealer_->seal(plain, records);
    plain.clear();
    ch->feed(records);
    return !ch->closed;
  }

 private:
  bool fail_handshake() {
    ++failed_handshakes;
    if (failed_handshakes > 1000 && failed_handshakes > 10 * (reconnects + 1)) {
      std::fprintf(stderr, "peer_fuzz: the handshake keeps failing (%zu times)\n",
                   failed_handshakes);
      std::abort();
    }
    return false;
  }

  node& n_;
  transport::endpoint& t_;
  std::string secret_, id_;
  std::optional<transport::detail::handshake> hs_;
  std::unique_ptr<transport::detail::record_sealer> sealer_;
};

}  // namespace coport::fuzz
