// How fast the flow history stores records: FlowHistory (the daemon's
// writer thread, the flows table with its indexes) against the floor, the
// same rows inserted into a copy of the table without indexes, in the same
// run and the same kind of file. Both start from a history of --rows rows
// (a long-running router's), then store --measure more; reported: rows a
// second, their ratio, and the bytes the process wrote per row (from
// /proc/self/io, which counts what sqlite hands the kernel).
//
//   build/tests/bench/history_rate [--rows 1000000] [--measure 200000]
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

constexpr std::size_t kBatch = 5000;  // what the daemon's writer takes at once

std::uint64_t bytes_written() {
  std::ifstream io("/proc/self/io");
  std::string key;
  std::uint64_t value = 0;
  while (io >> key >> value)
    if (key == "wchar:") return value;
  return 0;
}

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
      r.src = "10.10.0." + std::to_string(rnd_() % 250 + 1);
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

struct Result {
  double rows_per_second = 0;
  double bytes_per_row = 0;
};

// Through the daemon's own writer: batches as the event reader hands them
// over, each waited for (the queue holds at most 50,000).
Result through_history(const std::string& path, std::size_t prefill, std::size_t measure) {
  sluice::store::FlowHistory history(path, {365 * 24 * 3600, std::uint64_t{1} << 40});
  Records records;
  for (std::size_t n = 0; n < prefill; n += kBatch) {
    history.add_batch(records.next(kBatch));
    history.flush();
  }
  auto written = bytes_written();
  auto start = std::chrono::steady_clock::now();
  for (std::size_t n = 0; n < measure; n += kBatch) {
    history.add_batch(records.next(kBatch));
    history.flush();
  }
  std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  return {static_cast<double>(measure) / took.count(),
          static_cast<double>(bytes_written() - written) / static_cast<double>(measure)};
}

void insert_bare(sluice::store::Database& db, const std::vector<FlowRecord>& batch) {
  sluice::store::Transaction t(db);
  sluice::store::Statement insert(db,
                                  "INSERT INTO bare (id, time_ms, verdict, chain, rule, rule_line, "
                                  "config_file, action, reason, interface, proto, src, sport, dst, "
                                  "dport, nat, nat_addr, nat_port, packets_original, "
                                  "packets_reply, bytes_original, bytes_reply, duration_ms) VALUES "
                                  "(?1, ?2, 'allowed', ?3, ?4, ?5, ?6, '', '', ?7, ?8, ?9, ?10, "
                                  "?11, ?12, ?13, ?14, ?15, 5, 5, 400, 400, 0)");
  for (const auto& r : batch) {
    int c = 0;
    auto number = [&](auto v) { insert.bind(++c, static_cast<std::int64_t>(v)); };
    auto text = [&](const std::string& v) { insert.bind(++c, v); };
    number(r.id);
    number(r.time_ms);
    text(r.chain);
    text(r.rule);
    number(r.rule_line);
    text(r.config_file);
    text(r.interface);
    text(r.proto);
    text(r.src);
    number(r.sport);
    text(r.dst);
    number(r.dport);
    text(r.nat);
    text(r.nat_addr);
    number(r.nat_port);
    insert.step();
    insert.reset();
  }
  t.commit();
}

// The floor: the flows table's columns without an index, written in the
// same batches on this thread.
Result into_bare_table(const std::string& path, std::size_t prefill, std::size_t measure) {
  sluice::store::Database db(path);
  db.exec("CREATE TABLE bare AS SELECT * FROM flows WHERE 0");
  Records records;
  for (std::size_t n = 0; n < prefill; n += kBatch) insert_bare(db, records.next(kBatch));
  auto written = bytes_written();
  auto start = std::chrono::steady_clock::now();
  for (std::size_t n = 0; n < measure; n += kBatch) insert_bare(db, records.next(kBatch));
  std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  return {static_cast<double>(measure) / took.count(),
          static_cast<double>(bytes_written() - written) / static_cast<double>(measure)};
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t prefill = 1000000, measure = 200000;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--quick") {
      prefill = measure = 20000;
    } else if ((a == "--rows" || a == "--measure") && i + 1 < argc) {
      (a == "--rows" ? prefill : measure) = std::strtoull(argv[++i], nullptr, 10);
    } else {
      std::fprintf(stderr, "usage: history_rate [--quick] [--rows N] [--measure N]\n");
      return 2;
    }
  }
  // Whole batches, as the writer takes them.
  prefill = (prefill + kBatch - 1) / kBatch * kBatch;
  measure = std::max(kBatch, (measure + kBatch - 1) / kBatch * kBatch);
  sluice::testkit::TempDir dir("sluice-history-rate");
  auto history = through_history(dir.file("history.db"), prefill, measure);
  auto bare = into_bare_table(dir.file("bare.db"), prefill, measure);
  std::printf(
      "history of %zu rows, %zu more stored in batches of %zu:\n"
      "| store | rows/s | ratio to the bare table | bytes written per row |\n"
      "|---|---:|---:|---:|\n"
      "| flow history (writer thread, indexes) | %.0f | %.2fx | %.0f |\n"
      "| bare table (no index, same columns) | %.0f | 1.00x | %.0f |\n",
      prefill, measure, kBatch, history.rows_per_second,
      history.rows_per_second / bare.rows_per_second, history.bytes_per_row, bare.rows_per_second,
      bare.bytes_per_row);
  return 0;
}
