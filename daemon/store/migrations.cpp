// The schema's history as data: one SQL step per version, never edited
// once released. Over the function limit: migrations (the list grows with
// every schema change; each step is a string, not logic).
#include "store/migrations.h"

namespace sluice::store {

const std::vector<std::string_view>& migrations() {
  static const std::vector<std::string_view> steps = {
      // 1: flow history, config history, audit log.
      R"(
CREATE TABLE flows (
  id INTEGER PRIMARY KEY,
  time_ms INTEGER NOT NULL,
  verdict TEXT NOT NULL,
  chain TEXT NOT NULL,
  rule TEXT NOT NULL,
  rule_line INTEGER NOT NULL,
  config_file TEXT NOT NULL,
  action TEXT NOT NULL,
  reason TEXT NOT NULL,
  interface TEXT NOT NULL,
  proto TEXT NOT NULL,
  src TEXT NOT NULL,
  sport INTEGER NOT NULL,
  dst TEXT NOT NULL,
  dport INTEGER NOT NULL,
  nat TEXT NOT NULL,
  nat_addr TEXT NOT NULL,
  nat_port INTEGER NOT NULL,
  packets_original INTEGER NOT NULL,
  packets_reply INTEGER NOT NULL,
  bytes_original INTEGER NOT NULL,
  bytes_reply INTEGER NOT NULL,
  duration_ms INTEGER NOT NULL
);
CREATE INDEX flows_by_time ON flows (time_ms);
CREATE INDEX flows_by_src ON flows (src);
CREATE INDEX flows_by_dst ON flows (dst);
CREATE INDEX flows_by_nat_addr ON flows (nat_addr);
CREATE INDEX flows_by_sport ON flows (sport);
CREATE INDEX flows_by_dport ON flows (dport);
CREATE INDEX flows_by_verdict ON flows (verdict, id);
CREATE INDEX flows_by_rule ON flows (rule, id);

CREATE TABLE config_versions (
  id INTEGER PRIMARY KEY,
  time_ms INTEGER NOT NULL,
  author TEXT NOT NULL,
  path TEXT NOT NULL,
  text TEXT NOT NULL,
  diff TEXT NOT NULL
);

CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY,
  time_ms INTEGER NOT NULL,
  who TEXT NOT NULL,
  what TEXT NOT NULL,
  detail TEXT NOT NULL
);
CREATE INDEX audit_log_by_time ON audit_log (time_ms);
)",
      // 2: who may use the API: users (argon2id password hashes) and
      // read-only tokens (stored as hashes; the token itself is shown once).
      R"(
CREATE TABLE users (
  name TEXT PRIMARY KEY,
  password_hash TEXT NOT NULL,
  created_ms INTEGER NOT NULL
);
CREATE TABLE api_tokens (
  name TEXT PRIMARY KEY,
  token_hash TEXT NOT NULL UNIQUE,
  created_ms INTEGER NOT NULL
);
)",
      // 3: web UI sign-ins survive a restart of the daemon. Only a hash of
      // each session id is kept (the id is the browser's secret).
      R"(
CREATE TABLE sessions (
  id_hash TEXT PRIMARY KEY,
  user TEXT NOT NULL,
  csrf TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  last_used_ms INTEGER NOT NULL
);
)",
      // 4: an apply waiting for its confirmation survives a restart: the
      // deadline (wall clock) and the text to return to. At most one row.
      R"(
CREATE TABLE pending_confirm (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  deadline_ms INTEGER NOT NULL,
  restore_text TEXT NOT NULL
);
)",
      // 5: sessions end a fixed time after sign-in, however busy: when each
      // began (sessions from before this step count from their last use).
      R"(
ALTER TABLE sessions ADD COLUMN created_ms INTEGER NOT NULL DEFAULT 0;
UPDATE sessions SET created_ms = last_used_ms;
)",
      // 6: the addresses sluice's IPAM gave containers: one per
      // (network, container, interface, family), never two alike; and the
      // MAC address of the container's end once wired.
      R"(
CREATE TABLE container_addresses (
  network TEXT NOT NULL,
  container_id TEXT NOT NULL,
  ifname TEXT NOT NULL,
  family INTEGER NOT NULL,
  address TEXT NOT NULL UNIQUE,
  created_ms INTEGER NOT NULL,
  mac TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (network, container_id, ifname, family)
);
)",
      // 7: workload identities: a container's name and the labels its
      // runtime gave (JSON object) beside its addresses; flows name the
      // workloads at both ends (name and labels, "" when none).
      R"(
ALTER TABLE container_addresses ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE container_addresses ADD COLUMN labels TEXT NOT NULL DEFAULT '{}';
ALTER TABLE flows ADD COLUMN src_workload TEXT NOT NULL DEFAULT '';
ALTER TABLE flows ADD COLUMN dst_workload TEXT NOT NULL DEFAULT '';
)",
      // 8: the ports a container's runtime asked to publish (CNI
      // portMappings, a JSON array), kept so that they outlive restarts.
      R"(
ALTER TABLE container_addresses ADD COLUMN ports TEXT NOT NULL DEFAULT '[]';
)",
      // 9: the L7 proxy's records: request, answer, timing (JSON, '' for
      // the datapath's records).
      R"(
ALTER TABLE flows ADD COLUMN l7 TEXT NOT NULL DEFAULT '';
)",
      // 10: no index on the flows' ports. The port filter also matches
      // the translated port (nat_port, never indexed), so it always read
      // the table by id and neither index served a query; each made every
      // insert dearer (an entry in a random place of a large b-tree).
      // tests/bench/history_rate measures the writer (docs/benchmarks.md,
      // flow history).
      R"(
DROP INDEX IF EXISTS flows_by_sport;
DROP INDEX IF EXISTS flows_by_dport;
)",
      // 11: spans instead of per-row indexes on the addresses, verdict and
      // rule. Each of those indexes put an entry in a random place of a
      // large b-tree for every row (together about half of what storing a
      // row cost the writer); flow_spans holds one row per run of records
      // that share a key (FlowHistory::write_batch), appended at the end.
      // A search reads the spans of its key, then the records in them by
      // id. The records already stored get spans of at most 1,024 ids.
      R"(
CREATE TABLE flow_spans (
  last_id INTEGER NOT NULL,
  key TEXT NOT NULL,
  first_id INTEGER NOT NULL,
  PRIMARY KEY (last_id, key)
) WITHOUT ROWID;
CREATE INDEX flow_spans_by_key ON flow_spans (key, last_id);
INSERT INTO flow_spans (last_id, key, first_id)
SELECT max(id), key, min(id) FROM (
  SELECT id, 'a:' || src AS key FROM flows
  UNION ALL SELECT id, 'a:' || dst FROM flows
  UNION ALL SELECT id, 'a:' || nat_addr FROM flows WHERE nat <> ''
  UNION ALL SELECT id, 'v:' || verdict FROM flows
  UNION ALL SELECT id, 'r:' || rule FROM flows
) GROUP BY id / 1024, key;
DROP INDEX IF EXISTS flows_by_src;
DROP INDEX IF EXISTS flows_by_dst;
DROP INDEX IF EXISTS flows_by_nat_addr;
DROP INDEX IF EXISTS flows_by_verdict;
DROP INDEX IF EXISTS flows_by_rule;
)",
  };
  return steps;
}

}  // namespace sluice::store
