#pragma once
/// \file
/// Test support: certificates made at run time with OpenSSL (EC P-256): a CA, node
/// certificates it signs (valid, or expired, or naming their node as asked: a CN, a
/// subjectAltName, either left out), written as PEM files into a temporary directory that is
/// removed at the end.
/// Threading: one test thread. Lifetime: the files live as long as the `pki`.

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>

namespace coport::test {

/// One issuer and the files it made.
class pki {
 public:
  /// A new CA named `name`, in a new temporary directory.
  explicit pki(std::string name = "coport test CA") : name_{std::move(name)} {
    char dir[] = "/tmp/coport-pki-XXXXXX";
    if (!mkdtemp(dir)) throw std::runtime_error{"mkdtemp failed"};
    dir_ = dir;
    ca_key_ = new_key();
    ca_ = make(ca_key_, {{}, name_, {}}, nullptr, nullptr, 0, 3600, true);
    ca_file_ = write_cert(ca_, "ca.pem");
  }
  ~pki() {
    X509_free(ca_);
    EVP_PKEY_free(ca_key_);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  pki(const pki&) = delete;
  pki& operator=(const pki&) = delete;

  /// The files of one node.
  struct files {
    std::string cert, key, ca;
  };

  /// A certificate for `subject` signed by this CA, valid from `from` to `to` seconds
  /// from now (negative: in the past).
  files issue(const std::string& subject, long from = -60, long to = 3600) {
    return issue_as(subject, {{}, subject, {}}, from, to);
  }
  /// A certificate that names its node as asked: a subject of O=coport and the CN `cn`
  /// (none: left out), and the subjectAltName `san` in OpenSSL's syntax
  /// ("URI:coport:a,DNS:a.example"; none: no such extension); saved as `file`.pem / .key.
  files issue(const std::string& file, std::optional<std::string> cn,
              std::optional<std::string> san) {
    return issue_as(file, {"coport", std::move(cn), std::move(san)}, -60, 3600);
  }
  /// An expired certificate (it ended a minute ago).
  files expired(const std::string& subject) { return issue(subject, -7200, -60); }
  /// The CA's certificate file.
  const std::string& ca() const { return ca_file_; }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  static EVP_PKEY* new_key() {
    EVP_PKEY* key = EVP_EC_gen("P-256");
    if (!key) throw std::runtime_error{"EVP_EC_gen failed"};
    return key;
  }

  /// What a certificate says of its holder; each part left out when none.
  struct naming {
    std::optional<std::string> organization, cn;
    std::optional<std::string> san;  ///< a subjectAltName, in OpenSSL's syntax
  };

  files issue_as(const std::string& file, const naming& who, long from, long to) {
    EVP_PKEY* key = new_key();
    X509* cert = make(key, who, ca_, ca_key_, from, to, false);
    files f{write_cert(cert, file + ".pem"), write_key(key, file + ".key"), ca_file_};
    X509_free(cert);
    EVP_PKEY_free(key);
    return f;
  }

  static X509* make(EVP_PKEY* key, const naming& who, X509* issuer, EVP_PKEY* issuer_key, long from,
                    long to, bool is_ca) {
    static long serial = 1;
    X509* cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), serial++);
    X509_gmtime_adj(X509_getm_notBefore(cert), from);
    X509_gmtime_adj(X509_getm_notAfter(cert), to);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    auto entry = [&](const char* field, const std::optional<std::string>& value) {
      if (!value) return;
      X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(value->c_str()), -1, -1, 0);
    };
    entry("O", who.organization);
    entry("CN", who.cn);
    X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer) : name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer ? issuer : cert, cert, nullptr, nullptr, 0);
    auto add = [&](int nid, const char* value) {
      X509_EXTENSION* e = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
      if (!e) throw std::runtime_error{std::string{"bad extension "} + value};
      X509_add_ext(cert, e, -1);
      X509_EXTENSION_free(e);
    };
    add(NID_basic_constraints, is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    add(NID_key_usage, is_ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
    if (!is_ca) add(NID_ext_key_usage, "serverAuth,clientAuth");
    if (who.san) add(NID_subject_alt_name, who.san->c_str());
    if (!X509_sign(cert, issuer_key ? issuer_key : key, EVP_sha256())) {
      throw std::runtime_error{"X509_sign failed"};
    }
    return cert;
  }

  std::string write_cert(X509* cert, const std::string& name) {
    auto path = (dir_ / name).string();
    FILE* f = std::fopen(path.c_str(), "w");
    PEM_write_X509(f, cert);
    std::fclose(f);
    return path;
  }
  std::string write_key(EVP_PKEY* key, const std::string& name) {
    auto path = (dir_ / name).string();
    FILE* f = std::fopen(path.c_str(), "w");
    PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(f);
    return path;
  }

  std::string name_;
  std::filesystem::path dir_;
  EVP_PKEY* ca_key_ = nullptr;
  X509* ca_ = nullptr;
  std::string ca_file_;
};

}  // namespace coport::test
