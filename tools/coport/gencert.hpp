#pragma once
/// \file
/// `coport gencert`: an OpenSSL CA and node certificates for a network that runs TLS (the
/// profile keys cert, key, ca). A node's certificate names its node ID as the URI
/// `coport:ID` in subjectAltName (and as its CN), which the transport checks against the ID
/// the node claims.
///
///   coport gencert [--days N] ca DIR          DIR/ca.pem, DIR/ca.key
///   coport gencert [--days N] node DIR NODEID DIR/NODEID.pem, DIR/NODEID.key ('/' -> '_'),
///                                             signed with DIR/ca.pem and DIR/ca.key
/// Keys are written 0600; no file is ever overwritten (a file that exists is an error).

#include <string>
#include <vector>

namespace coport::cli {

/// Runs `coport gencert` with `args` (after "gencert"), `days` of validity; the exit code
/// (0 made, 1 a file exists or cannot be written or read, 2 misused).
int gencert(const std::vector<std::string>& args, long days);

}  // namespace coport::cli
