#pragma once
/// \file
/// metrics::figures — the Prometheus families of a scrape, built at scrape time: one family
/// per name however many nodes add to it (the text format wants a family's samples
/// together), and what one node adds (`add_node`: its runtime, transport, TCP, registry and
/// groups figures, read from their stats()).
/// Threading: a value built by one scrape. Lifetime: the scrape's.
/// May include: coport's public headers and prometheus-cpp's core.

#include <prometheus/metric_family.h>

#include <map>
#include <string>
#include <vector>

#include "coport/metrics/exporter.hpp"

namespace coport::metrics::detail {

class figures {
 public:
  using labels = std::vector<prometheus::ClientMetric::Label>;

  /// Adds one sample of family `name` (made on first use with `help` and `type`).
  void add(const std::string& name, const char* help, prometheus::MetricType type, double value,
           labels l);
  /// Adds one histogram sample set of family `name`.
  void add(const std::string& name, const char* help, const time_histogram& h, labels l);
  /// Adds families made elsewhere (an application's collectable), merged by name.
  void add(std::vector<prometheus::MetricFamily> families);
  /// What one node adds.
  void add_node(const node_sources& s);
  /// The families, in the order they were first added.
  std::vector<prometheus::MetricFamily> take() { return std::move(families_); }

 private:
  prometheus::MetricFamily& family(const std::string& name, const char* help,
                                   prometheus::MetricType type);
  std::vector<prometheus::MetricFamily> families_;
  std::map<std::string, std::size_t, std::less<>> index_;
};

}  // namespace coport::metrics::detail
