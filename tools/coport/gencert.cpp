// `coport gencert`: a CA and node certificates with OpenSSL (EC P-256 keys, SHA-256).
#include "gencert.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cerrno>
#include <coport/port_id.hpp>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <stdexcept>

namespace coport::cli {

namespace {

struct refused {
  std::string what;
};
struct misused {
  std::string what;
};

using key_ptr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using cert_ptr = std::unique_ptr<X509, decltype(&X509_free)>;

key_ptr new_key() {
  key_ptr key{EVP_EC_gen("P-256"), &EVP_PKEY_free};
  if (!key) throw refused{"OpenSSL could not make a key"};
  return key;
}

/// A new file `path` (never one that exists), `mode`, written by `write`.
template <class Write>
void create(const std::filesystem::path& path, mode_t mode, Write&& write) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) {
    throw refused{fmt::format("cannot create {}: {}", path.string(), std::strerror(errno))};
  }
  FILE* f = ::fdopen(fd, "w");
  if (!f) {
    ::close(fd);
    throw refused{fmt::format("cannot write {}", path.string())};
  }
  const bool ok = write(f) == 1;
  if (std::fclose(f) != 0 || !ok) {
    std::error_code ignored;
    std::filesystem::remove(path, ignored);
    throw refused{fmt::format("cannot write {}", path.string())};
  }
}

/// A certificate for `key`: CA (self-signed when `issuer` is null) or a node's.
cert_ptr make_cert(EVP_PKEY* key, const std::string& cn, bool is_ca, X509* issuer,
                   EVP_PKEY* issuer_key, long days) {
  cert_ptr cert{X509_new(), &X509_free};
  if (!cert) throw refused{"OpenSSL could not make a certificate"};
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];  // 127 random bits (positive)
  if (RAND_bytes(serial, sizeof serial) != 1) throw refused{"OpenSSL could not make a serial"};
  serial[0] &= 0x7F;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()))) {
    BN_free(bn);
    throw refused{"OpenSSL could not set the serial"};
  }
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), days * 24 * 3600);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("coport"), -1, -1, 0);
  if (cn.size() <= 64) {  // X.509's bound on a CN; the node ID is in the URI either way
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  }
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer ? issuer : cert.get(), cert.get(), nullptr, nullptr, 0);
  auto add = [&](int nid, const std::string& value) {
    X509_EXTENSION* e = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    if (!e) throw refused{fmt::format("OpenSSL refused the extension {}", value)};
    X509_add_ext(cert.get(), e, -1);
    X509_EXTENSION_free(e);
  };
  add(NID_basic_constraints, is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  add(NID_key_usage, is_ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
  add(NID_subject_key_identifier, "hash");
  if (issuer) add(NID_authority_key_identifier, "keyid:always");
  if (!is_ca) {
    add(NID_ext_key_usage, "serverAuth,clientAuth");
    add(NID_subject_alt_name, "URI:coport:" + cn);  // what the transport reads
  }
  if (!X509_sign(cert.get(), issuer_key ? issuer_key : key, EVP_sha256())) {
    throw refused{"OpenSSL could not sign the certificate"};
  }
  return cert;
}

void write_pair(const std::filesystem::path& dir, const std::string& base, X509* cert,
                EVP_PKEY* key) {
  const auto key_path = dir / (base + ".key"), cert_path = dir / (base + ".pem");
  std::error_code ec1, ec2;
  if (std::filesystem::exists(key_path, ec1) || std::filesystem::exists(cert_path, ec2)) {
    throw refused{fmt::format("{} or {} exists already (gencert never overwrites)",
                              key_path.string(), cert_path.string())};
  }
  create(key_path, 0600, [&](FILE* f) {
    return PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  });
  try {
    create(cert_path, 0644, [&](FILE* f) { return PEM_write_X509(f, cert); });
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove(key_path, ignored);  // no key without its certificate
    throw;
  }
  std::cout << cert_path.string() << "\n" << key_path.string() << "\n";
}

FILE* open_pem(const std::filesystem::path& path) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (!f) throw refused{fmt::format("cannot read {}: {}", path.string(), std::strerror(errno))};
  return f;
}

key_ptr read_key(const std::filesystem::path& path) {
  FILE* f = open_pem(path);
  // No pass phrase is asked for (an encrypted key is refused, not prompted for on a tty).
  auto no_pass = [](char*, int, int, void*) { return 0; };
  key_ptr key{PEM_read_PrivateKey(f, nullptr, no_pass, nullptr), &EVP_PKEY_free};
  std::fclose(f);
  if (!key) throw refused{fmt::format("{} holds no private key", path.string())};
  return key;
}

cert_ptr read_cert(const std::filesystem::path& path) {
  FILE* f = open_pem(path);
  cert_ptr cert{PEM_read_X509(f, nullptr, nullptr, nullptr), &X509_free};
  std::fclose(f);
  if (!cert) throw refused{fmt::format("{} holds no certificate", path.string())};
  return cert;
}

}  // namespace

int gencert(const std::vector<std::string>& args, long days) {
  try {
    if (args.empty() || (args[0] != "ca" && args[0] != "node")) {
      throw misused{"expected 'ca DIR' or 'node DIR NODEID'"};
    }
    if (days < 1 || days > 36500) throw misused{"--days must be from 1 to 36500"};
    const bool ca = args[0] == "ca";
    if (args.size() != (ca ? 2u : 3u)) {
      throw misused{ca ? "expected 'ca DIR'" : "expected 'node DIR NODEID'"};
    }
    const std::filesystem::path dir = args[1];
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ca) {
      key_ptr key = new_key();
      // A CN of its own: two CAs in one trust file must not be taken for each other.
      unsigned char tag[6];
      if (RAND_bytes(tag, sizeof tag) != 1) throw refused{"OpenSSL could not make a name"};
      std::string cn = "coport CA ";
      for (unsigned char b : tag) cn += fmt::format("{:02x}", b);
      cert_ptr cert = make_cert(key.get(), cn, true, nullptr, nullptr, days);
      write_pair(dir, "ca", cert.get(), key.get());
      return 0;
    }
    const std::string& id = args[2];
    if (!valid_node_id(id) || id.back() == '/') {
      throw misused{
          fmt::format("'{}' is not a node ID (letters, digits, _-.:/; not ending in "
                      "/: a certificate names one node)",
                      id)};
    }
    key_ptr ca_key = read_key(dir / "ca.key");
    cert_ptr ca_cert = read_cert(dir / "ca.pem");
    if (X509_check_private_key(ca_cert.get(), ca_key.get()) != 1) {
      throw refused{fmt::format("{} is not the key of {}", (dir / "ca.key").string(),
                                (dir / "ca.pem").string())};
    }
    key_ptr key = new_key();
    cert_ptr cert = make_cert(key.get(), id, false, ca_cert.get(), ca_key.get(), days);
    std::string base = id;
    for (char& c : base) {
      if (c == '/') c = '_';
    }
    write_pair(dir, base, cert.get(), key.get());
    return 0;
  } catch (const misused& e) {
    std::cerr << "coport gencert: " << e.what << "\n";
    return 2;
  } catch (const refused& e) {
    std::cerr << "coport gencert: " << e.what << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "coport gencert: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace coport::cli
