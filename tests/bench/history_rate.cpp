// How fast the flow history stores records: FlowHistory (the daemon's
// writer thread, the flows table with its index and spans) against the
// floor, the same writer and rows into a flows table without its index
// (the spans are still written), in the same run. Both start from a
// history of --rows rows (a long-running router's), then store --measure
// more; reported: rows a second, their ratio, and the bytes the process
// wrote per row (from /proc/self/io, which counts what sqlite hands the
// kernel); then how long searches take in each (the newest 100 records
// from a client, of a verdict).
//
//   build/tests/bench/history_rate [--rows 1000000] [--measure 200000] [--batch 20000]
//   build/tests/bench/history_rate --quick     (a pass that keeps it working)
//
// The records look like a connection-rate run's: 250 client addresses,
// random source and masquerade ports, one server, `allowed` and `closed`.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "common/temp_dir.h"
#include "flows/flow_record.h"
#include "store/database.h"
#include "store/flow_history.h"

namespace {

using sluice::flows::FlowRecord;
using sluice::flows::Verdict;

// What the daemon's writer takes at once when it keeps up (kWriteAtOnce);
// --batch sets another size, to compare.
constexpr std::size_t kBatch = 20000;

std::uint64_t bytes_written() {
  std::ifstream io("/proc/self/io");
  std::string key;
  std::uint64_t value = 0;
  while (io >> key >> value)
    if (key == "wchar:") return value;
  return 0;
}

constexpr const char* kRareClient = "10.10.1.1";

class Records {
 public:
  std::vector<FlowRecord> next(std::size_t n) {
    std::vector<FlowRecord> out(n);
    for (auto& r : out) {
      r.id = ++id_;
      r.time_ms = sluice::store::now_ms();
      r.verdict = id_ % 2 ? Verdict::Allowed : Verdict::Closed;
      r.chain = "forward";
      r.rule = "lan";
      r.rule_line = 40;
      r.config_file = "/etc/sluice/sluice.toml";
      r.interface = "lan0";
      r.proto = "tcp";
      // One record in 5,000 from a client seen seldom (for the searches).
      r.src = id_ % 5000 == 0 ? kRareClient : "10.10.0." + std::to_string(rnd_() % 250 + 1);
      r.sport = static_cast<std::uint16_t>(1024 + rnd_() % 64000);
      r.dst = "192.0.2.3";
      r.dport = 80;
      r.nat = "masquerade";
      r.nat_addr = "192.0.2.1";
      r.nat_port = static_cast<std::uint16_t>(32768 + rnd_() % 32000);
      r.packets[0] = r.packets[1] = 5;
      r.bytes[0] = r.bytes[1] = 400;
    }
    return out;
  }

 private:
  std::uint64_t id_ = 0;
  std::mt19937 rnd_{7};
};

// Searches as `sluicectl flows` makes them (the newest 100 matches), each
// timed over a few runs, the median kept.
struct Search {
  const char* label;
  std::vector<std::pair<const char*, std::string>> terms;
};
const std::vector<Search> kSearches = {
    {"one of 250 clients", {{"from", "10.10.0.7"}}},
    {"a client in 1 of 5,000 records", {{"from", kRareClient}}},
    {"an address never seen", {{"address", "198.51.100.77"}}},
    {"a verdict (closed)", {{"verdict", "closed"}}},
    {"a client and a verdict", {{"from", "10.10.0.7"}, {"verdict", "closed"}}},
};

struct Result {
  double rows_per_second = 0;
  double bytes_per_row = 0;
  std::vector<double> search_ms;  // by kSearches
};

double search_ms(const sluice::store::FlowHistory& history, const Search& search) {
  sluice::flows::FlowFilter filter;
  for (const auto& [key, value] : search.terms)
    if (auto error = sluice::flows::set_filter_term(filter, key, value, sluice::store::now_ms());
        !error.empty()) {
      std::fprintf(stderr, "history_rate: search '%s': %s\n", search.label, error.c_str());
      std::exit(1);
    }
  std::vector<double> took;
  for (int i = 0; i < 5; ++i) {
    auto start = std::chrono::steady_clock::now();
    history.query(filter, 0, 0, 100, true);
    took.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
            .count());
  }
  std::sort(took.begin(), took.end());
  return took[took.size() / 2];
}

// Through the daemon's own writer: batches as the event reader hands them
// over, each waited for (the queue holds at most 50,000).
Result through_history(const std::string& path, std::size_t prefill, std::size_t measure,
                       std::size_t batch) {
  sluice::store::FlowHistory history(path, {365 * 24 * 3600, std::uint64_t{1} << 40});
  Records records;
  for (std::size_t n = 0; n < prefill; n += batch) {
    history.add_batch(records.next(batch));
    history.flush();
  }
  auto written = bytes_written();
  auto start = std::chrono::steady_clock::now();
  for (std::size_t n = 0; n < measure; n += batch) {
    history.add_batch(records.next(batch));
    history.flush();
  }
  std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  Result result{static_cast<double>(measure) / took.count(),
                static_cast<double>(bytes_written() - written) / static_cast<double>(measure),
                {}};
  for (const auto& search : kSearches) result.search_ms.push_back(search_ms(history, search));
  return result;
}

// The floor: the same writer into a file whose flows table has no index
// (dropped before the writer opens it; a file at the current schema is not
// migrated again).
Result without_indexes(const std::string& path, std::size_t prefill, std::size_t measure,
                       std::size_t batch) {
  {
    sluice::store::Database db(path);
    sluice::store::Statement names(
        db, "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'flows'");
    std::vector<std::string> indexes;
    while (names.step()) indexes.push_back(names.text_at(0));
    for (const auto& name : indexes) db.exec("DROP INDEX " + name);
  }
  return through_history(path, prefill, measure, batch);
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t prefill = 1000000, measure = 200000, batch = kBatch;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--quick") {
      prefill = measure = 20000;
    } else if ((a == "--rows" || a == "--measure" || a == "--batch") && i + 1 < argc) {
      (a == "--rows"      ? prefill
       : a == "--measure" ? measure
                          : batch) = std::strtoull(argv[++i], nullptr, 10);
    } else {
      std::fprintf(stderr, "usage: history_rate [--quick] [--rows N] [--measure N] [--batch N]\n");
      return 2;
    }
  }
  // Whole batches, as the writer takes them.
  if (batch == 0) batch = kBatch;
  prefill = (prefill + batch - 1) / batch * batch;
  measure = std::max(batch, (measure + batch - 1) / batch * batch);
  sluice::testkit::TempDir dir("sluice-history-rate");
  auto history = through_history(dir.file("history.db"), prefill, measure, batch);
  auto no_index = without_indexes(dir.file("no-index.db"), prefill, measure, batch);
  std::printf(
      "history of %zu rows, %zu more stored in batches of %zu:\n"
      "| store | rows/s | ratio to no index | bytes written per row |\n"
      "|---|---:|---:|---:|\n"
      "| flow history (writer thread, indexes) | %.0f | %.2fx | %.0f |\n"
      "| the same writer, no index | %.0f | 1.00x | %.0f |\n",
      prefill, measure, batch, history.rows_per_second,
      history.rows_per_second / no_index.rows_per_second, history.bytes_per_row,
      no_index.rows_per_second, no_index.bytes_per_row);
  std::printf(
      "\nsearches in the history of %zu rows (the newest 100 matches, median of 5):\n"
      "| search | flow history (ms) | no index (ms) |\n|---|---:|---:|\n",
      prefill + measure);
  for (std::size_t i = 0; i < kSearches.size(); ++i)
    std::printf("| %s | %.1f | %.1f |\n", kSearches[i].label, history.search_ms[i],
                no_index.search_ms[i]);
  return 0;
}
