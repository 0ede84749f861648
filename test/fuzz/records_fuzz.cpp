// libFuzzer target: the record layer (record.hpp), the first thing that parses a peer's
// bytes once its handshake is over. The input is a byte stream under fixed keys, split at a
// point the first input byte picks, in integrity or encrypted mode (bit 7 of that byte). The
// opener must neither crash nor hang nor hold more than one record, and must never hand on
// anything after a record that failed.
//
// With COPORT_FUZZ_WRITE_SEEDS=DIR the target writes its seeds into DIR and exits: genuine
// records under the same keys (one, several, an empty body, a full one), which the fuzzer
// mutates into the forged, truncated and reordered streams the opener must refuse.
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "record.hpp"

namespace d = coport::transport::detail;

namespace {

d::record_keys fixed_keys() {
  d::record_keys k;
  for (std::size_t i = 0; i < k.key.size(); ++i) k.key[i] = static_cast<unsigned char>(i * 7 + 1);
  for (std::size_t i = 0; i < k.iv.size(); ++i) k.iv[i] = static_cast<unsigned char>(i * 13 + 5);
  return k;
}

struct counting_sink : d::record_opener::sink {
  std::size_t bytes = 0;
  void on_plain(std::span<const std::byte> plain) override { bytes += plain.size(); }
};

void write_seeds(const std::string& dir) {
  auto seed = [&](const std::string& name, std::uint8_t mode,
                  const std::vector<std::size_t>& sizes) {
    d::record_sealer sealer{fixed_keys(), (mode & 0x80) != 0};
    std::vector<std::byte> out;
    for (std::size_t n : sizes) {
      std::vector<std::byte> plain(n, std::byte{0x5a});
      sealer.seal(plain, out);
    }
    std::ofstream f{dir + "/" + name, std::ios::binary};
    f.put(static_cast<char>(mode));
    f.write(reinterpret_cast<const char*>(out.data()), static_cast<std::streamsize>(out.size()));
  };
  for (std::uint8_t mode : {std::uint8_t{0x03}, std::uint8_t{0x83}}) {
    std::string m = mode & 0x80 ? "encrypted-" : "integrity-";
    seed(m + "one", mode, {40});
    seed(m + "three", mode, {5, 300, 17});
    seed(m + "full", mode, {d::max_record});
    seed(m + "spanning", mode, {d::max_record + 100});
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("COPORT_FUZZ_WRITE_SEEDS")) {
    write_seeds(dir);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  bool encrypt = data[0] & 0x80;
  std::vector<std::byte> stream(reinterpret_cast<const std::byte*>(data) + 1,
                                reinterpret_cast<const std::byte*>(data) + size);
  std::size_t split = stream.empty() ? 0 : (data[0] & 0x7f) * stream.size() / 128;
  d::record_opener opener{fixed_keys(), encrypt};
  counting_sink sink;
  std::string why = opener.open(std::span{stream}.first(split), sink);
  std::size_t before = sink.bytes;
  if (why.empty()) {
    why = opener.open(std::span{stream}.subspan(split), sink);
  } else {
    // A stream that failed hands nothing on afterwards.
    if (opener.open(std::span{stream}.subspan(split), sink).empty()) std::abort();
    if (sink.bytes != before) std::abort();
  }
  if (opener.held() > d::record_header + d::max_record + d::record_tag) std::abort();
  if (sink.bytes > stream.size()) std::abort();
  return 0;
}
