#pragma once
/// \file
/// detail::payload_codec — encodes a message's values and builds a message from wire bytes.
///
/// The sending side looks a payload's signature up once (`payload_codec_for`) and keeps the
/// result; the receiving side resolves a list of wire type names once (`resolve_payload`).
/// A resolved list builds exactly `payload_block<Ts...>` when a factory for those types
/// exists in this program, else a block that holds each value on its own (readable through
/// `message::get<T>`, not by typed handlers).
/// Type lists come from peers: the lists held one by one (their signatures live until the
/// process ends, since messages and links' caches point at them) and the cache of resolved
/// lists are bounded in count and bytes for the process; a list beyond the bound is refused
/// as an unknown type is (its message is dropped, a spawn with it dies with bad_message).
/// Threading: all functions are thread-safe. Lifetime: encodings and interned signatures live
/// until the process ends; a decoding lives while it is held.

#include <memory>
#include <string>
#include <vector>

#include "coport/detail/message_block.hpp"
#include "coport/detail/type_registry.hpp"
#include "coport/wire/reader.hpp"
#include "coport/wire/writer.hpp"

namespace coport::detail {

/// How the values of one signature go onto the wire.
struct payload_encoding {
  std::vector<const type_entry*> entries;  ///< one per value
  std::vector<std::string> names;          ///< their wire names
  std::string error;                       ///< why it cannot be encoded (empty: it can)
};

/// The encoding of `sig` (cached per signature for the process).
const payload_encoding& payload_codec_for(const signature& sig);

/// Writes the values of `n` (whose signature `enc` describes).
void encode_values(wire::writer& w, const message_block* n, const payload_encoding& enc);

/// How values with the given wire type names are read.
struct payload_decoding {
  const payload_factory* factory = nullptr;  ///< exact payload_block, if this program has one
  std::vector<const type_entry*> entries;
  const signature* sig = nullptr;  ///< for values held one by one
  std::string error;               ///< why it cannot be decoded (empty: it can)
};

/// Type lists, each held one by one, that a process makes at most (none of them are freed).
inline constexpr std::size_t max_loose_lists = 4096;
/// The bytes those lists take at most (an estimate of what each holds).
inline constexpr std::size_t max_loose_bytes = std::size_t{4} << 20;
/// Resolved lists cached for the process, at most, and their bytes (names and entries).
inline constexpr std::size_t max_cached_lists = 4096;
inline constexpr std::size_t max_cached_bytes = std::size_t{4} << 20;

/// Resolves `names`. Lists are cached for the process within max_cached_lists and
/// max_cached_bytes (beyond, each call resolves anew, and the result is freed when let go);
/// a list that would be held one by one beyond max_loose_lists or max_loose_bytes resolves to
/// an error that says so.
std::shared_ptr<const payload_decoding> resolve_payload(const std::vector<std::string>& names);

/// Reads a message tagged `t` whose values `dec` describes; throws wire::decode_error.
message_block* decode_values(tag t, wire::reader& r, const payload_decoding& dec);

/// Interns a tag that came from a peer: at most `remote_tag_limit` names that this process
/// did not know are interned on behalf of peers; beyond that, or when `allow_new` is false,
/// a name not known yet gives the empty tag. `added` says whether a new name was interned.
inline constexpr std::size_t remote_tag_limit = 1 << 16;
tag intern_remote_tag(std::string_view name, bool allow_new = true, bool* added = nullptr);

}  // namespace coport::detail
