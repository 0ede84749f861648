#pragma once
/// \file
/// The runtime's seam for a transport: everything a library that carries messages between
/// nodes uses of the runtime beyond its public headers (coport/node.hpp's transport
/// functions and coport/remote.hpp's remote_link), and nothing else.
///
/// - coport/detail/interner.hpp: names from a peer become numbers here, bounded
///   (`intern_remote_tag`, `intern_remote_node`; `node_names()` for a port ID's node);
/// - coport/detail/payload_codec.hpp: a message's values as bytes and back, by signature
///   (`payload_codec_for`, `encode_values`, `resolve_payload`, `decode_values`);
/// - coport/internal/log.hpp: how a line is written (coport/log.hpp: records, sinks);
/// - coport/internal/trace_marks.hpp: the trace a message carries (`take_trace` before it is
///   written to a peer, `mark_trace` when it arrived with one).
///
/// Part of coport_internal (uninstalled; never in a public header). transport/ includes this
/// header and no runtime detail header besides; the runtime's own files include the parts.
/// Threading and lifetime: each part's header says.
/// May include: the runtime headers it names.

#include "coport/detail/interner.hpp"
#include "coport/detail/payload_codec.hpp"
#include "coport/internal/log.hpp"
#include "coport/internal/trace_marks.hpp"
