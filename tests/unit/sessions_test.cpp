// Web UI sessions kept in a real state database (a temporary file): a
// session outlives its table (a daemon restart), sign-out and idleness end
// it in the database too, and only a hash of the id is ever stored.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "api/credentials.h"
#include "api/sessions.h"
#include "store/state_store.h"

namespace sluice::api {
namespace {

class Sessions : public ::testing::Test {
 protected:
  Sessions() {
    char tmpl[] = "/tmp/sluice-sessions-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  ~Sessions() override { std::filesystem::remove_all(dir_); }
  std::string db() const { return dir_ + "/state.db"; }

 private:
  std::string dir_;
};

TEST_F(Sessions, ASessionOutlivesItsTableWithItsCsrfToken) {
  store::StateStore store(db());
  std::string id, csrf;
  {
    SessionTable before(&store);
    id = before.open("alice", "hash-1");
    csrf = before.use(id)->csrf;
  }
  SessionTable after(&store);  // the daemon restarted
  auto s = after.use(id);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->user, "alice");
  EXPECT_EQ(s->csrf, csrf);
  EXPECT_EQ(s->password_hash, "hash-1");
  EXPECT_FALSE(after.use(id + "0")) << "another id is nobody";
}

TEST_F(Sessions, OnlyTheHashOfTheIdIsStored) {
  store::StateStore store(db());
  SessionTable table(&store);
  auto id = table.open("alice", "hash-1");
  auto stored = store.sessions();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].id_hash, token_hash(id));
  EXPECT_EQ(stored[0].id_hash.find(id), std::string::npos);
}

TEST_F(Sessions, SigningOutEndsTheSessionInTheDatabaseToo) {
  store::StateStore store(db());
  SessionTable table(&store);
  auto id = table.open("alice", "hash-1");
  auto other = table.open("bob", "hash-2");
  table.close(id);
  EXPECT_FALSE(table.use(id));
  ASSERT_EQ(store.sessions().size(), 1u);
  SessionTable after(&store);
  EXPECT_FALSE(after.use(id));
  EXPECT_TRUE(after.use(other));
}

TEST_F(Sessions, SessionsIdlePastTheLimitAreNotTakenUpAndAreRemoved) {
  store::StateStore store(db());
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  auto limit = std::chrono::duration_cast<std::chrono::milliseconds>(SessionTable::kIdleLimit).count();
  store.save_session({token_hash("stale"), "alice", "c1", "h", now - limit - 1000});
  store.save_session({token_hash("fresh"), "bob", "c2", "h", now - limit + 60000});
  SessionTable table(&store);
  EXPECT_FALSE(table.use("stale"));
  EXPECT_TRUE(table.use("fresh"));
  auto left = store.sessions();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].user, "bob");
}

TEST_F(Sessions, WithoutAStoreSessionsLiveInMemory) {
  SessionTable table(nullptr);
  auto id = table.open("alice", "hash-1");
  EXPECT_TRUE(table.use(id));
  table.close(id);
  EXPECT_FALSE(table.use(id));
}

}  // namespace
}  // namespace sluice::api
