#include "store/flow_history.h"

#include <pthread.h>
#include <sched.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>
#include <span>

#include "flows/flow_json.h"
#include "store/database.h"
#include "store/flow_spans.h"

namespace sluice::store {

namespace {

using flows::FlowRecord;

constexpr auto kWriteEvery = std::chrono::milliseconds(500);
// A batch this big is written without waiting. Each transaction writes
// every index page its rows touched once, so larger ones cost less a row
// (tests/bench/history_rate: 20,000 a transaction stored some 25% more
// rows a second than 5,000). Queries see queued records too, so waiting
// for more hides nothing.
constexpr std::size_t kWriteAtOnce = 20000;
constexpr auto kRetentionEvery = std::chrono::seconds(10);
// Writing history is background work: under a flood of new flows it would
// take every cycle it can get (it falls behind and drops records either
// way). It runs under SCHED_IDLE: on a CPU only when nothing else wants
// it, and any task that wakes takes the CPU from it at once. At nice 10
// (and at nice 19) it still held up the wake-ups of the packets' work: in
// the connection-rate benchmark, with a record for every connection,
// SCHED_IDLE forwarded some 12% more connections a second than nice 10
// (docs/benchmarks.md). Where SCHED_IDLE is refused, nice 10.
//
// Leaving SCHED_IDLE again needs CAP_SYS_NICE, which the systemd unit does
// not give. So the last records at shutdown are not the writer's: it
// stops between rows and the stopping thread, at its own priority, stores
// what is left. (With the writer storing them, 40,000 queued records took
// 27 s to store with one busy thread on the CPU, past the unit's 20 s
// stop timeout; 0.2 s without it.)
constexpr int kWriterNice = 10;

void lower_writer_priority() {
  sched_param none{};
  if (sched_setscheduler(0, SCHED_IDLE, &none) == 0) return;  // 0: this thread
  setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), kWriterNice);
}

// How often an interruptible write looks whether the history is stopping.
constexpr std::size_t kRowsBetweenStopChecks = 256;

constexpr const char* kColumns =
    "id, time_ms, verdict, chain, rule, rule_line, config_file, action, reason, interface, proto, "
    "src, sport, "
    "dst, dport, nat, nat_addr, nat_port, packets_original, packets_reply, bytes_original, "
    "bytes_reply, "
    "duration_ms, src_workload, dst_workload, l7";

FlowRecord read_row(const Statement& s) {
  FlowRecord r;
  int c = 0;
  r.id = static_cast<std::uint64_t>(s.int_at(c++));
  r.time_ms = s.int_at(c++);
  r.verdict = flows::parse_verdict(s.text_at(c++)).value_or(flows::Verdict::Allowed);
  r.chain = s.text_at(c++);
  r.rule = s.text_at(c++);
  r.rule_line = static_cast<std::uint32_t>(s.int_at(c++));
  r.config_file = s.text_at(c++);
  r.action = s.text_at(c++);
  r.reason = s.text_at(c++);
  r.interface = s.text_at(c++);
  r.proto = s.text_at(c++);
  r.src = s.text_at(c++);
  r.sport = static_cast<std::uint16_t>(s.int_at(c++));
  r.dst = s.text_at(c++);
  r.dport = static_cast<std::uint16_t>(s.int_at(c++));
  r.nat = s.text_at(c++);
  r.nat_addr = s.text_at(c++);
  r.nat_port = static_cast<std::uint16_t>(s.int_at(c++));
  r.packets[0] = static_cast<std::uint64_t>(s.int_at(c++));
  r.packets[1] = static_cast<std::uint64_t>(s.int_at(c++));
  r.bytes[0] = static_cast<std::uint64_t>(s.int_at(c++));
  r.bytes[1] = static_cast<std::uint64_t>(s.int_at(c++));
  r.duration_ms = static_cast<std::uint64_t>(s.int_at(c++));
  r.src_workload = s.text_at(c++);
  r.dst_workload = s.text_at(c++);
  if (auto l7 = s.text_at(c++); !l7.empty())
    r.l7 = flows::l7_from_json(nlohmann::json::parse(l7, nullptr, false));
  return r;
}

// The WHERE clause for filter, mirroring FlowFilter::matches (the unit
// tests hold the two to the same answers), and its parameters in order.
struct Where {
  std::string sql = "1";
  std::vector<std::string> texts;  // bound as ?1.. in order; numbers are inlined
};

// by_span: the search reads a span's ids at a time, which the time bounds
// must not take the place of (sqlite would otherwise read the time index
// from the bound to the end for every span).
Where where_of(const flows::FlowFilter& f, bool by_span) {
  Where w;
  auto param = [&](const std::string& v) {
    w.texts.push_back(v);
    return "?" + std::to_string(w.texts.size());
  };
  if (f.from) {
    auto p = param(*f.from);
    w.sql += " AND (src = " + p + " OR (nat = 'masquerade' AND nat_addr = " + p + "))";
  }
  if (f.to) {
    auto p = param(*f.to);
    w.sql += " AND (dst = " + p + " OR (nat = 'port-forward' AND nat_addr = " + p + "))";
  }
  if (f.address) {
    auto p = param(*f.address);
    w.sql += " AND (src = " + p + " OR dst = " + p + " OR (nat <> '' AND nat_addr = " + p + "))";
  }
  if (f.port) {
    auto p = std::to_string(*f.port);
    w.sql +=
        " AND (sport = " + p + " OR dport = " + p + " OR (nat <> '' AND nat_port = " + p + "))";
  }
  if (f.verdict) w.sql += " AND verdict = " + param(flows::to_string(*f.verdict));
  if (f.rule) w.sql += " AND rule = " + param(*f.rule);
  const char* time = by_span ? "+time_ms" : "time_ms";  // unary +: not by its index
  if (f.since_ms) w.sql += std::string(" AND ") + time + " >= " + std::to_string(*f.since_ms);
  if (f.until_ms) w.sql += std::string(" AND ") + time + " < " + std::to_string(*f.until_ms);
  if (f.l7) {
    if (*f.l7 == "yes")
      w.sql += " AND l7 <> ''";
    else if (*f.l7 == "no")
      w.sql += " AND l7 = ''";
    else
      w.sql += " AND l7 <> '' AND json_extract(l7, '$.kind') = " + param(*f.l7);
  }
  return w;
}

}  // namespace

FlowHistory::FlowHistory(const std::string& path, Retention retention)
    : path_(path),
      writer_db_(std::make_unique<Database>(path)),
      reader_db_(std::make_unique<Database>(path, Database::Mode::ReadOnly)),
      retention_(retention) {
  apply_retention();  // a daemon that was down for long starts trimmed
  writer_ = std::thread([this] { writer_loop(); });
}

FlowHistory::~FlowHistory() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  writer_.join();
  // What the writer left: stored here, at this thread's priority.
  std::vector<FlowRecord> rest;
  {
    std::lock_guard lock(mutex_);
    rest = std::move(queue_);
    queue_.clear();
  }
  if (!rest.empty()) write_batch(rest, false);
}

void FlowHistory::set_retention(Retention r) {
  {
    std::lock_guard lock(mutex_);
    retention_ = r;
    retention_due_ = true;  // a shorter retention applies now, not in a while
  }
  wake_.notify_all();
}

void FlowHistory::add(const FlowRecord& r) { add_batch({r}); }

void FlowHistory::add_batch(std::vector<FlowRecord>&& batch) {
  bool wake;
  {
    std::lock_guard lock(mutex_);
    for (auto& r : batch) {
      ++queued_total_;
      if (queue_.size() >= kMaxQueued) {
        lost_.fetch_add(1, std::memory_order_relaxed);
        ++done_total_;
        continue;
      }
      queue_.push_back(std::move(r));
    }
    wake = queue_.size() >= kWriteAtOnce;
  }
  if (wake) wake_.notify_all();
}

void FlowHistory::flush() {
  std::unique_lock lock(mutex_);
  std::uint64_t target = queued_total_;
  flush_requested_ = true;
  wake_.notify_all();
  flushed_.wait(lock, [&] { return done_total_ >= target || stopping_; });
}

void FlowHistory::writer_loop() {
  // Named for top -H and ps; lowering one's own priority is always
  // allowed (the unit's seccomp filter lets setpriority through), and
  // failing either changes nothing else.
  pthread_setname_np(pthread_self(), "sluice-history");
  lower_writer_priority();
  auto next_retention = std::chrono::steady_clock::now() + kRetentionEvery;
  for (;;) {
    std::shared_ptr<std::vector<FlowRecord>> batch;
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, kWriteEvery, [&] {
        return stopping_ || flush_requested_ || retention_due_ || queue_.size() >= kWriteAtOnce;
      });
      if (stopping_) return;  // the destructor stores the queue
      flush_requested_ = false;
      if (retention_due_) {
        retention_due_ = false;
        next_retention = std::chrono::steady_clock::now();
      }
      if (!queue_.empty()) {
        batch = std::make_shared<std::vector<FlowRecord>>(std::move(queue_));
        queue_.clear();
        writing_ = batch;
      }
    }
    std::size_t done = batch ? write_batch(*batch, true) : 0;
    {
      std::lock_guard lock(mutex_);
      done_total_ += done;
      if (batch && done < batch->size())  // stopping: back to the front, in order
        queue_.insert(queue_.begin(), std::make_move_iterator(batch->begin() + done),
                      std::make_move_iterator(batch->end()));
      writing_.reset();
    }
    flushed_.notify_all();
    if (std::chrono::steady_clock::now() >= next_retention) {
      apply_retention();
      next_retention = std::chrono::steady_clock::now() + kRetentionEvery;
    }
  }
}

std::size_t FlowHistory::write_batch(const std::vector<FlowRecord>& batch, bool interruptible) {
  std::lock_guard lock(write_mutex_);
  std::size_t stored = 0;
  try {
    Transaction t(*writer_db_);
    // A plain INSERT: ids only grow (FlowRing::continue_after), and an
    // INSERT OR REPLACE may delete rows, for which sqlite keeps a statement
    // journal of every page the row touches (tests/bench/history_rate:
    // most of the 59 KB a row wrote before, 2.2 KB now; docs/benchmarks.md,
    // flow history).
    Statement insert(*writer_db_,
                     std::string("INSERT INTO flows (") + kColumns +
                         ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
                         "?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26)");
    for (const auto& r : batch) {
      if (interruptible && stored % kRowsBetweenStopChecks == 0 && stopping_) break;
      int c = 0;
      auto number = [&](auto v) { insert.bind(++c, static_cast<std::int64_t>(v)); };
      auto text = [&](const std::string& v) { insert.bind(++c, v); };
      number(r.id);
      number(r.time_ms);
      text(flows::to_string(r.verdict));
      text(r.chain);
      text(r.rule);
      number(r.rule_line);
      text(r.config_file);
      text(r.action);
      text(r.reason);
      text(r.interface);
      text(r.proto);
      text(r.src);
      number(r.sport);
      text(r.dst);
      number(r.dport);
      text(r.nat);
      text(r.nat_addr);
      number(r.nat_port);
      for (auto v : {r.packets[0], r.packets[1], r.bytes[0], r.bytes[1], r.duration_ms}) number(v);
      text(r.src_workload);
      text(r.dst_workload);
      text(r.l7.kind.empty() ? std::string() : flows::l7_to_json(r.l7).dump());
      insert.step();
      insert.reset();
      ++stored;
    }
    Statement span(*writer_db_,
                   "INSERT INTO flow_spans (last_id, key, first_id) VALUES (?1, ?2, ?3)");
    for (const auto& sp : spans_of(std::span(batch).first(stored))) {
      span.bind(1, static_cast<std::int64_t>(sp.last_id))
          .bind(2, sp.key)
          .bind(3, static_cast<std::int64_t>(sp.first_id));
      span.step();
      span.reset();
    }
    t.commit();
    written_.fetch_add(stored, std::memory_order_relaxed);
    if (failing_.load()) set_last_error("");
    return stored;
  } catch (const Error& e) {
    lost_.fetch_add(batch.size(), std::memory_order_relaxed);
    write_errors_.fetch_add(1, std::memory_order_relaxed);
    set_last_error(e.what());
    return batch.size();
  }
}

std::uint64_t FlowHistory::apply_retention() {
  Retention r;
  {
    std::lock_guard lock(mutex_);
    r = retention_;
  }
  std::lock_guard lock(write_mutex_);
  std::uint64_t removed = 0;
  try {
    Statement old(*writer_db_, "DELETE FROM flows WHERE time_ms < ?1");
    old.bind(1, now_ms() - static_cast<std::int64_t>(r.max_age_seconds) * 1000);
    old.step();
    removed += static_cast<std::uint64_t>(sqlite3_changes(writer_db_->handle()));
    // Spans wholly below the oldest record left find nothing any more.
    auto drop_old_spans = [&] {
      writer_db_->exec(
          "DELETE FROM flow_spans WHERE last_id < "
          "coalesce((SELECT min(id) FROM flows), 9223372036854775807)");
    };
    drop_old_spans();
    // Over the size: the oldest tenth at a time, until it fits. Only the
    // flows count: the config history and audit log in the same file
    // have limits of their own (StateStore) and must not push flows out.
    auto flow_bytes = [&] {
      auto used = writer_db_->used_bytes();
      auto others = writer_db_->bytes_besides({"flows", "flow_spans"}).value_or(0);
      return used > others ? used - others : 0;
    };
    while (flow_bytes() > r.max_bytes) {
      Statement count(*writer_db_, "SELECT count(*) FROM flows");
      count.step();
      std::int64_t rows = count.int_at(0);
      if (rows == 0) break;
      Statement trim(*writer_db_,
                     "DELETE FROM flows WHERE id IN (SELECT id FROM flows ORDER BY id LIMIT ?1)");
      trim.bind(1, std::max<std::int64_t>(1, rows / 10));
      trim.step();
      removed += static_cast<std::uint64_t>(sqlite3_changes(writer_db_->handle()));
      drop_old_spans();
    }
    if (removed) writer_db_->exec("PRAGMA incremental_vacuum");
    removed_.fetch_add(removed, std::memory_order_relaxed);
  } catch (const Error& e) {
    write_errors_.fetch_add(1, std::memory_order_relaxed);
    set_last_error(e.what());
  }
  return removed;
}

std::vector<FlowRecord> FlowHistory::query(const flows::FlowFilter& filter, std::uint64_t after_id,
                                           std::uint64_t before_id, std::size_t limit,
                                           bool newest_first) const {
  // Pending first, then the table: a record the writer commits in
  // between is then in both (one copy is kept), never in neither.
  auto pending = pending_matching(filter, after_id, before_id);
  auto out = stored_matching(filter, after_id, before_id, limit, newest_first);
  if (newest_first) std::reverse(out.begin(), out.end());
  if (pending.empty()) return out;
  // The limit newest (or oldest) of both: the table's limit newest (or
  // oldest) and every pending one cover them.
  out.insert(out.end(), std::make_move_iterator(pending.begin()),
             std::make_move_iterator(pending.end()));
  auto by_id = [](const FlowRecord& a, const FlowRecord& b) { return a.id < b.id; };
  std::stable_sort(out.begin(), out.end(), by_id);
  out.erase(std::unique(out.begin(), out.end(),
                        [](const FlowRecord& a, const FlowRecord& b) { return a.id == b.id; }),
            out.end());
  if (out.size() > limit) {
    if (newest_first)
      out.erase(out.begin(), out.end() - static_cast<std::ptrdiff_t>(limit));
    else
      out.resize(limit);
  }
  return out;
}

std::vector<FlowRecord> FlowHistory::stored_matching(const flows::FlowFilter& filter,
                                                     std::uint64_t after_id,
                                                     std::uint64_t before_id, std::size_t limit,
                                                     bool newest_first) const {
  auto key = span_key_of(filter);
  Where w = where_of(filter, key.has_value());
  std::string sql = std::string("SELECT ") + kColumns + " FROM flows WHERE " + w.sql +
                    " AND id > " + std::to_string(after_id);
  if (before_id) sql += " AND id < " + std::to_string(before_id);
  // With a key, the records of one span at a time: ?k+1 to ?k+2 its ids,
  // ?k+3 how many are still wanted.
  int span_param = static_cast<int>(w.texts.size()) + 1;
  if (key)
    sql += " AND id BETWEEN ?" + std::to_string(span_param) + " AND ?" +
           std::to_string(span_param + 1);
  sql += newest_first ? " ORDER BY id DESC" : " ORDER BY id";
  sql += key ? " LIMIT ?" + std::to_string(span_param + 2) : " LIMIT " + std::to_string(limit);
  std::vector<FlowRecord> out;  // in the order read: by id, down when newest_first
  std::lock_guard lock(read_mutex_);
  // One snapshot for the spans and the records they point to.
  Transaction snapshot(*reader_db_, Transaction::Kind::Read);
  {
    Statement rows(*reader_db_, sql);
    auto read = [&] {  // reset() clears the bindings: the filter's each time
      for (std::size_t i = 0; i < w.texts.size(); ++i)
        rows.bind(static_cast<int>(i + 1), w.texts[i]);
      while (rows.step()) out.push_back(read_row(rows));
    };
    if (!key) {
      read();
    } else {
      // A key's spans never overlap (ids grow), so reading them in order
      // reads the records in order, and the first limit found are the ones.
      Statement spans(*reader_db_,
                      std::string("SELECT first_id, last_id FROM flow_spans WHERE key = ?1 AND "
                                  "last_id > ?2 AND first_id < ?3 ORDER BY last_id ") +
                          (newest_first ? "DESC" : "ASC"));
      spans.bind(1, *key)
          .bind(2, static_cast<std::int64_t>(after_id))
          .bind(3, before_id ? static_cast<std::int64_t>(before_id)
                             : std::numeric_limits<std::int64_t>::max());
      while (out.size() < limit && spans.step()) {
        rows.bind(span_param, spans.int_at(0))
            .bind(span_param + 1, spans.int_at(1))
            .bind(span_param + 2, static_cast<std::int64_t>(limit - out.size()));
        read();
        rows.reset();
      }
    }
  }  // the statements end before the snapshot does
  snapshot.commit();
  return out;
}

std::vector<FlowRecord> FlowHistory::pending_matching(const flows::FlowFilter& filter,
                                                      std::uint64_t after_id,
                                                      std::uint64_t before_id) const {
  auto wanted = [&](const FlowRecord& r) {
    return r.id > after_id && (before_id == 0 || r.id < before_id) && filter.matches(r);
  };
  std::shared_ptr<const std::vector<FlowRecord>> writing;
  std::vector<FlowRecord> queued;
  {
    std::lock_guard lock(mutex_);
    writing = writing_;
    for (const auto& r : queue_)
      if (wanted(r)) queued.push_back(r);
  }
  std::vector<FlowRecord> out;
  if (writing)  // older than anything queued; no one changes it while we hold it
    for (const auto& r : *writing)
      if (wanted(r)) out.push_back(r);
  out.insert(out.end(), std::make_move_iterator(queued.begin()),
             std::make_move_iterator(queued.end()));
  return out;
}

std::uint64_t FlowHistory::last_id() const {
  std::lock_guard lock(read_mutex_);
  Statement s(*reader_db_, "SELECT coalesce(max(id), 0) FROM flows");
  s.step();
  return static_cast<std::uint64_t>(s.int_at(0));
}

FlowHistory::Stats FlowHistory::stats() const {
  Stats s;
  s.written = written_.load(std::memory_order_relaxed);
  s.lost = lost_.load(std::memory_order_relaxed);
  s.write_errors = write_errors_.load(std::memory_order_relaxed);
  s.removed = removed_.load(std::memory_order_relaxed);
  std::lock_guard lock(error_mutex_);
  s.last_error = last_error_;
  return s;
}

void FlowHistory::set_last_error(std::string error) {
  std::lock_guard lock(error_mutex_);
  failing_.store(!error.empty());
  last_error_ = std::move(error);
}

}  // namespace sluice::store
