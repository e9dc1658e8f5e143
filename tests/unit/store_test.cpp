// The sqlite store on real files in a temporary directory: migrations,
// refusals (corrupt file, newer schema, unwritable place), the flow
// history against the in-memory ring as oracle, persistence, retention.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "common/temp_dir.h"
#include "flows/flow_ring.h"
#include "store/database.h"
#include "store/flow_history.h"
#include "store/flow_spans.h"
#include "store/migrations.h"
#include "store/state_store.h"

namespace sluice::store {
namespace {

namespace fs = std::filesystem;
using flows::FlowFilter;
using flows::FlowRecord;
using flows::Verdict;

using testkit::TempDir;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

TEST(Database, ANewFileGetsTheCurrentSchemaInWalMode) {
  TempDir dir;
  Database db(dir.file("s.db"));
  EXPECT_EQ(db.schema_version(), current_schema_version());
  Statement mode(db, "PRAGMA journal_mode");
  ASSERT_TRUE(mode.step());
  EXPECT_EQ(mode.text_at(0), "wal");
}

std::set<std::string> flow_indexes(Database& db) {
  Statement idx(db, "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'flows'");
  std::set<std::string> names;
  while (idx.step()) names.insert(idx.text_at(0));
  return names;
}

// Time only: every index is paid for on each of the many inserts a second,
// and searches by address, verdict or rule read flow_spans instead.
const std::set<std::string> kFlowIndexes = {"flows_by_time"};

TEST(Database, TheFlowsAreIndexedByTimeOnlyAndHaveSpans) {
  TempDir dir;
  Database db(dir.file("s.db"));
  EXPECT_EQ(flow_indexes(db), kFlowIndexes);
  Statement spans(db, "SELECT count(*) FROM flow_spans");
  ASSERT_TRUE(spans.step());
  EXPECT_EQ(spans.int_at(0), 0);
}

TEST(Database, AHistoryFromBeforeLosesItsPerRowIndexesAndKeepsItsRows) {
  TempDir dir;
  {
    // The schema as version 9 left it, with one flow.
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(dir.file("s.db").c_str(), &raw), SQLITE_OK);
    for (std::size_t v = 0; v < 9; ++v) {
      std::string step(migrations()[v]);
      ASSERT_EQ(sqlite3_exec(raw, step.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << v;
    }
    std::string row =
        "PRAGMA user_version = 9; INSERT INTO flows (time_ms, verdict, chain, rule, rule_line, "
        "config_file, action, reason, interface, proto, src, sport, dst, dport, nat, nat_addr, "
        "nat_port, packets_original, packets_reply, bytes_original, bytes_reply, duration_ms) "
        "VALUES (1, 'allowed', 'forward', 'web', 3, 'f', '', '', 'lan0', 'tcp', '10.0.0.1', "
        "40000, '192.0.2.9', 80, '', '', 0, 1, 1, 60, 60, 5)";
    ASSERT_EQ(sqlite3_exec(raw, row.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(raw);
  }
  Database db(dir.file("s.db"));
  EXPECT_EQ(db.schema_version(), current_schema_version());
  EXPECT_EQ(flow_indexes(db), kFlowIndexes);
  Statement n(db, "SELECT count(*) FROM flows WHERE dport = 80");
  ASSERT_TRUE(n.step());
  EXPECT_EQ(n.int_at(0), 1);
}

TEST(Database, ReopeningKeepsDataAndDoesNotMigrateAgain) {
  TempDir dir;
  {
    Database db(dir.file("s.db"));
    db.exec("INSERT INTO audit_log (time_ms, who, what, detail) VALUES (1, 'root', 'apply', 'x')");
  }
  Database db(dir.file("s.db"));
  Statement n(db, "SELECT count(*) FROM audit_log");
  ASSERT_TRUE(n.step());
  EXPECT_EQ(n.int_at(0), 1);
}

TEST(Database, RefusesAFileThatIsNotADatabase) {
  TempDir dir;
  std::ofstream(dir.file("s.db")) << std::string(8192, 'x');
  try {
    Database db(dir.file("s.db"));
    FAIL() << "opened a corrupt file";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(dir.file("s.db")), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("not a database"), std::string::npos) << e.what();
  }
}

TEST(Database, RefusesASchemaFromALaterVersion) {
  TempDir dir;
  {
    Database db(dir.file("s.db"));
    db.exec("PRAGMA user_version = 999");
  }
  try {
    Database db(dir.file("s.db"));
    FAIL() << "opened a newer schema";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("schema version 999 is newer"), std::string::npos)
        << e.what();
  }
}

TEST(Database, SaysWhenTheDirectoryIsMissing) {
  TempDir dir;
  EXPECT_THROW(Database(dir.file("missing/s.db")), Error);
}

FlowRecord record(std::mt19937& rnd, std::int64_t time_ms) {
  static const char* addrs[] = {"10.0.0.1", "10.0.0.2", "192.0.2.9", "198.51.100.1", "fd00::1"};
  static const Verdict verdicts[] = {Verdict::Allowed, Verdict::Dropped, Verdict::Rejected,
                                     Verdict::Translated};
  static const char* rules[] = {"web", "no-smb", "default", ""};
  static const std::uint16_t ports[] = {80, 443, 445, 40000, 1500};
  auto pick = [&](auto& arr) -> auto& { return arr[rnd() % std::size(arr)]; };
  FlowRecord r;
  r.time_ms = time_ms;
  r.verdict = pick(verdicts);
  r.chain = "forward";
  r.rule = pick(rules);
  r.rule_line = 12;
  r.config_file = "/etc/sluice/sluice.toml";
  r.interface = "lan0";
  r.proto = "tcp";
  r.src = pick(addrs);
  r.dst = pick(addrs);
  r.sport = pick(ports);
  r.dport = pick(ports);
  if (rnd() % 3 == 0) {
    r.nat = rnd() % 2 ? "masquerade" : "port-forward";
    r.nat_addr = pick(addrs);
    r.nat_port = pick(ports);
  }
  if (r.verdict == Verdict::Dropped) r.reason = "policy-rule";
  if (rnd() % 4 == 0) {
    r.l7.kind = rnd() % 3 ? "http" : "tls";
    r.l7.method = "GET";
    r.l7.path = "/api/v1/x";
    r.l7.status = 200;
    r.l7.latency_us = 1234;
  }
  return r;
}

std::vector<std::uint64_t> ids(const std::vector<FlowRecord>& v) {
  std::vector<std::uint64_t> out;
  for (const auto& r : v) out.push_back(r.id);
  return out;
}

// n records, one a second from t0 on, added to ring, which numbers them:
// the same records, ids and all, for the history.
std::vector<FlowRecord> numbered(flows::FlowRing& ring, std::mt19937& rnd, std::int64_t t0, int n) {
  std::vector<FlowRecord> out;
  for (int i = 0; i < n; ++i) {
    auto r = record(rnd, t0 + static_cast<std::int64_t>(ring.last_id()) * 1000);
    ring.add(r);
    r.id = ring.last_id();
    out.push_back(r);
  }
  return out;
}

// Every kind of filter, alone and combined, plus extra; times from t0.
std::vector<std::vector<std::pair<const char*, std::string>>> filters_to_try(
    std::int64_t t0, std::vector<std::vector<std::pair<const char*, std::string>>> extra = {}) {
  std::vector<std::vector<std::pair<const char*, std::string>>> filters = {
      {},
      {{"from", "10.0.0.1"}},
      {{"to", "198.51.100.1"}},
      {{"address", "fd00::1"}},
      {{"port", "1500"}},
      {{"verdict", "dropped"}},
      {{"rule", "default"}},
      {{"from", "198.51.100.1"}, {"port", "80"}},
      {{"since", std::to_string((t0 + 500 * 1000) / 1000)},
       {"until", std::to_string((t0 + 900 * 1000) / 1000)}},
      {{"address", "10.0.0.1"}, {"since", std::to_string((t0 + 500 * 1000) / 1000)}},
      {{"verdict", "translated"}, {"address", "10.0.0.2"}},
      {{"rule", "web"}, {"verdict", "rejected"}},
      {{"l7", "yes"}},
      {{"l7", "no"}},
      {{"l7", "tls"}, {"verdict", "dropped"}},
  };
  filters.insert(filters.end(), extra.begin(), extra.end());
  return filters;
}

// history answers each filter as the ring (holding the same records) does:
// everything, the first few after an id, the newest few, and page by page
// back from the newest.
void expect_answers_as_ring(
    const FlowHistory& history, const flows::FlowRing& ring,
    const std::vector<std::vector<std::pair<const char*, std::string>>>& filters) {
  for (const auto& terms : filters) {
    FlowFilter f;
    std::string label;
    for (const auto& [k, v] : terms) {
      ASSERT_EQ(flows::set_filter_term(f, k, v, now_ms()), "");
      label += std::string(k) + "=" + v + " ";
    }
    auto all = ids(ring.query(f, 0, 100000));
    EXPECT_EQ(ids(history.query(f, 0, 0, 100000, false)), all) << label;
    EXPECT_EQ(ids(history.query(f, 100, 0, 7, false)), ids(ring.query(f, 100, 7))) << label;
    EXPECT_EQ(ids(history.query(f, 0, 0, 7, true)), ids(ring.query(f, 0, 7, true))) << label;
    std::vector<std::uint64_t> paged;  // newest first, 50 a page, as the web UI scrolls
    for (std::uint64_t before = 0;;) {
      auto page = ids(history.query(f, 0, before, 50, true));
      if (page.empty()) break;
      paged.insert(paged.begin(), page.begin(), page.end());
      before = page.front();
    }
    EXPECT_EQ(paged, all) << label << "(paged)";
  }
}

TEST(FlowHistory, AnswersEveryFilterAsTheMemoryRingDoes) {
  TempDir dir;
  FlowHistory history(dir.file("s.db"), {});
  flows::FlowRing ring(10000);
  std::mt19937 rnd(5);
  auto t0 = now_ms() - 3600 * 1000;
  history.add_batch(numbered(ring, rnd, t0, 2000));
  history.flush();
  EXPECT_EQ(history.last_id(), 2000u);
  expect_answers_as_ring(history, ring, filters_to_try(t0));
  auto below = history.query({}, 0, 11, 100, false);
  EXPECT_EQ(below.size(), 10u) << "before_id bounds from above";
}

// The writer runs at idle priority and cannot leave it without
// CAP_SYS_NICE, so at stop it leaves the rest of its batch and the queue to
// the stopping thread. Stopped while it is (most likely) in the middle of a
// batch: every record is stored once, in order, its spans with it.
TEST(FlowHistory, WhatTheWriterLeavesAtStopIsStoredByTheStoppingThread) {
  TempDir dir;
  flows::FlowRing ring(30000);
  std::mt19937 rnd(3);
  auto t0 = now_ms() - 3600 * 1000;
  {
    FlowHistory history(dir.file("s.db"), {});
    history.add_batch(numbered(ring, rnd, t0, 25000));  // past a batch's size: written at once
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the result may not depend on it
    history.add_batch(numbered(ring, rnd, t0, 2000));
  }
  FlowHistory reopened(dir.file("s.db"), {});
  EXPECT_EQ(reopened.last_id(), 27000u);
  expect_answers_as_ring(reopened, ring, filters_to_try(t0));
}

// A key's records more than kSpanGap ids apart are in spans of their own.
TEST(FlowSpans, AKeysSpanEndsAtAGapLongerThanTheLimit) {
  std::vector<FlowRecord> batch;
  const std::uint64_t far = 3 + 2 * kSpanGap + 1;
  for (std::uint64_t id : {std::uint64_t{1}, std::uint64_t{2}, 2 + kSpanGap, far}) {
    FlowRecord r;
    r.id = id;
    r.src = "10.0.0.1";
    r.dst = id == 1 ? "10.0.0.1" : "192.0.2.9";
    r.rule = "web";
    if (id == 2) {
      r.nat = "masquerade";
      r.nat_addr = "192.0.2.1";
    }
    batch.push_back(r);
  }
  std::map<std::string, std::vector<std::pair<std::uint64_t, std::uint64_t>>> got;
  for (const auto& sp : spans_of(batch)) got[sp.key].emplace_back(sp.first_id, sp.last_id);
  for (auto& [key, spans] : got) std::sort(spans.begin(), spans.end());
  using Spans = std::vector<std::pair<std::uint64_t, std::uint64_t>>;
  EXPECT_EQ(got["a:10.0.0.1"], (Spans{{1, 2 + kSpanGap}, {far, far}}));
  EXPECT_EQ(got["a:192.0.2.9"], (Spans{{2, 2 + kSpanGap}, {far, far}}));
  EXPECT_EQ(got["a:192.0.2.1"], (Spans{{2, 2}}));
  EXPECT_EQ(got["v:allowed"].size(), 2u);
  EXPECT_EQ(got["r:web"].size(), 2u);
  EXPECT_EQ(got.size(), 5u);
}

// Many batches of every size, and addresses rare enough that their records
// are more than kSpanGap apart: the searches that read spans still answer
// as the ring does.
TEST(FlowHistory, AnswersAcrossManyBatchesAndSpans) {
  TempDir dir;
  FlowHistory history(dir.file("s.db"), {});
  flows::FlowRing numbering(50000), ring(50000);
  std::mt19937 rnd(11);
  auto t0 = now_ms() - 3600 * 1000;
  for (int size : {1, 3000, 17, 5000, 2, 800, 4000, 1}) {
    auto batch = numbered(numbering, rnd, t0, size);
    for (auto& r : batch) {
      if (r.id % 1500 == 7) r.src = "203.0.113.5";  // one record in 1,500
      ASSERT_EQ(ring.add(r), r.id);
    }
    history.add_batch(std::move(batch));
    history.flush();
  }
  expect_answers_as_ring(
      history, ring,
      filters_to_try(
          t0, {{{"from", "203.0.113.5"}}, {{"address", "203.0.113.5"}}, {{"to", "203.0.113.5"}}}));
}

// The memory ring may have let records go that the writer has not stored
// yet (it writes every half second, or at 20,000 queued; under load it
// lags further): a query must find them all the same.
TEST(FlowHistory, AnswersRecordsTheWriterHasNotStoredYet) {
  TempDir dir;
  FlowHistory history(dir.file("s.db"), {});
  flows::FlowRing ring(10000);
  std::mt19937 rnd(7);
  auto t0 = now_ms() - 3600 * 1000;
  history.add_batch(numbered(ring, rnd, t0, 300));
  history.flush();
  // Queued: asked at once, before the writer's next turn.
  history.add_batch(numbered(ring, rnd, t0, 200));
  EXPECT_EQ(ids(history.query({}, 0, 0, 1000, false)), ids(ring.query({}, 0, 1000)));
  std::vector<std::pair<const char*, std::string>> filters = {
      {"from", "10.0.0.1"}, {"verdict", "dropped"}, {"port", "1500"}, {"l7", "yes"}};
  for (const auto& [k, v] : filters) {
    FlowFilter f;
    ASSERT_EQ(flows::set_filter_term(f, k, v, now_ms()), "");
    EXPECT_EQ(ids(history.query(f, 0, 0, 1000, false)), ids(ring.query(f, 0, 1000))) << k;
    EXPECT_EQ(ids(history.query(f, 0, 0, 7, true)), ids(ring.query(f, 0, 7, true))) << k;
    EXPECT_EQ(ids(history.query(f, 250, 0, 7, false)), ids(ring.query(f, 250, 7))) << k;
  }
  auto bounded = ids(history.query({}, 250, 451, 1000, false));
  ASSERT_EQ(bounded.size(), 200u) << "after_id and before_id bound the queued records too";
  EXPECT_EQ(bounded.front(), 251u);
  EXPECT_EQ(bounded.back(), 450u);
}

// While batches are queued, taken by the writer and committed, every
// answer is one run of ids without a hole or a repeat: a record is in the
// queue, in the batch being written, or in the table, and found in each.
TEST(FlowHistory, AnswersWithoutHolesWhileTheWriterStores) {
  TempDir dir;
  FlowHistory history(dir.file("s.db"), {});
  std::atomic<std::uint64_t> added{0};
  std::thread producer([&] {
    std::mt19937 rnd(9);
    for (int b = 0; b < 40; ++b) {
      std::vector<FlowRecord> batch;
      for (int i = 0; i < 2000; ++i) {
        auto r = record(rnd, now_ms());
        r.id = added.load() + batch.size() + 1;
        batch.push_back(r);
      }
      auto n = batch.size();
      history.add_batch(std::move(batch));
      added += n;
      // Never near the queue's limit: a record lost there is a real hole.
      if (b % 5 == 4) history.flush();
    }
  });
  int asked = 0;
  bool whole = true;  // no ASSERT in the loop: the producer must be joined
  while (whole && added.load() < 80000) {
    auto before = added.load();
    if (before == 0) continue;
    auto got = ids(history.query({}, 0, 0, 1000, true));
    whole = !got.empty() && got.back() >= before;
    EXPECT_TRUE(whole) << "asked after id " << before
                       << ", the newest answered: " << (got.empty() ? 0 : got.back());
    for (std::size_t i = 1; whole && i < got.size(); ++i) {
      whole = got[i] == got[i - 1] + 1;
      EXPECT_TRUE(whole) << "a hole or a repeat after id " << got[i - 1] << ": " << got[i];
    }
    ++asked;
  }
  producer.join();
  ASSERT_TRUE(whole);
  history.flush();
  EXPECT_GT(asked, 0);
  EXPECT_EQ(history.stats().lost, 0u);
  EXPECT_EQ(history.last_id(), 80000u);
}

TEST(FlowHistory, RecordsComeBackWhole) {
  TempDir dir;
  FlowRecord r;
  r.id = 42;
  r.time_ms = now_ms();
  r.verdict = Verdict::Closed;
  r.chain = "input";
  r.rule = "ssh";
  r.rule_line = 7;
  r.config_file = "/etc/sluice/sluice.toml";
  r.action = "drop";
  r.reason = "";
  r.interface = "eth0";
  r.proto = "udp";
  r.src = "fd00::1";
  r.sport = 5353;
  r.dst = "fd00::2";
  r.dport = 53;
  r.nat = "masquerade";
  r.nat_addr = "2001:db8::1";
  r.nat_port = 1024;
  r.packets[0] = 3;
  r.packets[1] = 4;
  r.bytes[0] = 300;
  r.bytes[1] = 4000000000ull;
  r.duration_ms = 1234;
  r.l7 = {"http", "POST", "api.internal", "/api/v1/x", "", 403, 512, 99, 1500};
  {
    FlowHistory history(dir.file("s.db"), {});
    history.add(r);
  }  // closing writes what is queued
  FlowHistory reopened(dir.file("s.db"), {});
  auto got = reopened.query({}, 0, 0, 10, false);
  ASSERT_EQ(got.size(), 1u);
  const auto& g = got[0];
  EXPECT_EQ(g.id, 42u);
  EXPECT_EQ(g.time_ms, r.time_ms);
  EXPECT_EQ(g.verdict, Verdict::Closed);
  EXPECT_EQ(g.chain + g.rule + g.config_file + g.action + g.interface + g.proto,
            r.chain + r.rule + r.config_file + r.action + r.interface + r.proto);
  EXPECT_EQ(g.rule_line, 7u);
  EXPECT_EQ(g.src + g.dst + g.nat + g.nat_addr, r.src + r.dst + r.nat + r.nat_addr);
  EXPECT_EQ(g.sport + g.dport + g.nat_port, r.sport + r.dport + r.nat_port);
  EXPECT_EQ(g.packets[1], 4u);
  EXPECT_EQ(g.bytes[1], 4000000000ull);
  EXPECT_EQ(g.duration_ms, 1234u);
  EXPECT_EQ(g.l7.kind + g.l7.method + g.l7.host + g.l7.path, "httpPOSTapi.internal/api/v1/x");
  EXPECT_EQ(g.l7.status, 403);
  EXPECT_EQ(g.l7.request_bytes + g.l7.response_bytes + g.l7.latency_us, 512u + 99u + 1500u);
}

TEST(FlowHistory, RetentionRemovesWhatIsTooOld) {
  TempDir dir;
  FlowHistory history(dir.file("s.db"), {3600, 1ull << 30});
  std::mt19937 rnd(1);
  for (std::uint64_t i = 1; i <= 100; ++i) {
    auto r = record(rnd, now_ms() - (i <= 40 ? 2 * 3600 * 1000 : 60 * 1000));
    r.id = i;
    if (i <= 40) r.src = "203.0.113.9";  // only the old records have it
    history.add(r);
  }
  history.flush();
  EXPECT_EQ(history.apply_retention(), 40u);
  auto left = history.query({}, 0, 0, 1000, false);
  ASSERT_EQ(left.size(), 60u);
  EXPECT_EQ(left.front().id, 41u);
  EXPECT_EQ(history.stats().removed, 40u);
  Database db(dir.file("s.db"));
  Statement spans(db, "SELECT count(*) FROM flow_spans WHERE key = 'a:203.0.113.9'");
  ASSERT_TRUE(spans.step());
  EXPECT_EQ(spans.int_at(0), 0) << "the spans of removed records go with them";
}

// A write that fails is counted and reported (what status shows), and the
// next one that works clears the report; the counts stay.
TEST(FlowHistory, AFailedWriteIsReportedUntilAWriteWorksAgain) {
  TempDir dir;
  FlowHistory history(dir.file("s.db"), {});
  flows::FlowRing ring(1000);
  std::mt19937 rnd(3);
  auto t0 = now_ms() - 60 * 1000;
  history.add_batch(numbered(ring, rnd, t0, 5));
  history.flush();
  EXPECT_EQ(history.stats().written, 5u);
  EXPECT_EQ(history.stats().last_error, "");

  // The flows table gone under the writer: its next batch cannot be stored.
  Database other(dir.file("s.db"));
  std::string create;
  {
    Statement schema(other, "SELECT sql FROM sqlite_master WHERE name = 'flows'");
    ASSERT_TRUE(schema.step());
    create = schema.text_at(0);
  }
  other.exec("DROP TABLE flows");
  history.add_batch(numbered(ring, rnd, t0, 3));
  history.flush();
  auto failed = history.stats();
  EXPECT_EQ(failed.written, 5u);
  EXPECT_EQ(failed.lost, 3u);
  EXPECT_EQ(failed.write_errors, 1u);
  EXPECT_NE(failed.last_error.find("flows"), std::string::npos) << failed.last_error;

  other.exec(create);
  history.add_batch(numbered(ring, rnd, t0, 2));
  history.flush();
  auto mended = history.stats();
  EXPECT_EQ(mended.written, 7u);
  EXPECT_EQ(mended.lost, 3u);
  EXPECT_EQ(mended.write_errors, 1u);
  EXPECT_EQ(mended.last_error, "") << "a write that worked clears the error";
}

// A history from before spans (schema 10: an index on each address
// column, the verdict and the rule) gets spans for the rows it has, loses
// those indexes, and answers every filter as before.
TEST(FlowHistory, AHistoryFromBeforeSpansAnswersAsBefore) {
  TempDir dir;
  flows::FlowRing ring(10000);
  std::mt19937 rnd(13);
  auto t0 = now_ms() - 3600 * 1000;
  {
    FlowHistory history(dir.file("s.db"), {});
    history.add_batch(numbered(ring, rnd, t0, 3000));
  }  // closing writes what is queued
  {
    Database db(dir.file("s.db"));
    db.exec(
        "DROP TABLE flow_spans; CREATE INDEX flows_by_src ON flows (src); "
        "CREATE INDEX flows_by_dst ON flows (dst); "
        "CREATE INDEX flows_by_nat_addr ON flows (nat_addr); "
        "CREATE INDEX flows_by_verdict ON flows (verdict, id); "
        "CREATE INDEX flows_by_rule ON flows (rule, id); PRAGMA user_version = 10");
  }
  FlowHistory history(dir.file("s.db"), {});
  {
    Database db(dir.file("s.db"));
    EXPECT_EQ(db.schema_version(), current_schema_version());
    EXPECT_EQ(flow_indexes(db), kFlowIndexes);
  }
  expect_answers_as_ring(history, ring, filters_to_try(t0));
}

TEST(FlowHistory, RetentionKeepsTheFileUnderItsSize) {
  TempDir dir;
  constexpr std::uint64_t kMax = 1 << 20;
  FlowHistory history(dir.file("s.db"), {86400, kMax});
  std::mt19937 rnd(2);
  for (std::uint64_t i = 1; i <= 20000; ++i) {
    auto r = record(rnd, now_ms());
    r.id = i;
    history.add(r);
  }
  history.flush();
  EXPECT_GT(history.apply_retention(), 0u);
  Database db(dir.file("s.db"));
  auto others = db.bytes_besides({"flows", "flow_spans"});
  ASSERT_TRUE(others) << "this sqlite has dbstat";
  EXPECT_LE(db.used_bytes() - *others, kMax) << "the flows and their spans fit";
  EXPECT_LE(db.used_bytes(), kMax + (64 << 10)) << "the rest is the empty tables and the schema";
  auto left = history.query({}, 0, 0, 100000, false);
  ASSERT_FALSE(left.empty());
  EXPECT_EQ(left.back().id, 20000u) << "the newest records stay";
  EXPECT_LE(fs::file_size(dir.file("s.db")), 2 * kMax) << "deleted pages are given back";
}

TEST(StateStore, ConfigHistoryIsBoundedByCountAndSizeKeepingTheNewest) {
  TempDir dir;
  StateStore store(dir.file("s.db"), {/*max_config_versions=*/5, /*max_config_bytes=*/10000, 1000});
  for (int i = 1; i <= 8; ++i)
    store.add_config_version("t", "/x", "version " + std::to_string(i), "");
  auto versions = store.config_versions(100);
  ASSERT_EQ(versions.size(), 5u);
  EXPECT_EQ(store.config_version(versions.front().id)->text, "version 8");
  EXPECT_EQ(store.config_version(versions.back().id)->text, "version 4");
  // By size: three 4,000-byte texts do not fit in 10,000 bytes.
  for (int i = 0; i < 3; ++i) store.add_config_version("t", "/x", std::string(4000, 'a' + i), "");
  versions = store.config_versions(100);
  ASSERT_EQ(versions.size(), 2u);
  EXPECT_EQ(store.config_version(versions.front().id)->text, std::string(4000, 'c'));
  // One version larger than the whole limit is still kept: it is the live one.
  store.add_config_version("t", "/x", std::string(20000, 'z'), "");
  EXPECT_EQ(store.config_versions(100).size(), 1u);
}

TEST(StateStore, AuditLogIsBounded) {
  TempDir dir;
  StateStore store(dir.file("s.db"), {500, 1 << 20, /*max_audit_entries=*/10});
  for (int i = 1; i <= 25; ++i) store.audit("t", "what " + std::to_string(i), "");
  auto entries = store.audit_entries(100);
  ASSERT_EQ(entries.size(), 10u);
  EXPECT_EQ(entries.front().what, "what 25");
  EXPECT_EQ(entries.back().what, "what 16");
}

TEST(FlowHistory, ALargeConfigHistoryDoesNotPushTheFlowsOut) {
  TempDir dir;
  constexpr std::uint64_t kMax = 1 << 20;
  {
    // 4 MB of config history in the same file, four times the flows' limit.
    StateStore store(dir.file("s.db"));
    for (int i = 0; i < 4; ++i)
      store.add_config_version("t", "/x", std::string(1 << 20, 'a' + i), "");
  }
  FlowHistory history(dir.file("s.db"), {86400, kMax});
  std::mt19937 rnd(3);
  for (std::uint64_t i = 1; i <= 1000; ++i) {
    auto r = record(rnd, now_ms());
    r.id = i;
    history.add(r);
  }
  history.flush();
  EXPECT_EQ(history.apply_retention(), 0u) << "1,000 flows fit in 1 MiB";
  EXPECT_EQ(history.query({}, 0, 0, 100000, false).size(), 1000u);
}

}  // namespace
}  // namespace sluice::store
