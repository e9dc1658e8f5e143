// Web UI sessions kept in a real state database (a temporary file): a
// session outlives its table (a daemon restart), sign-out and idleness end
// it in the database too, and only a hash of the id is ever stored.
#include "auth/sessions.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "auth/credentials.h"
#include "auth/sign_in_limits.h"
#include "store/state_store.h"

namespace sluice::auth {
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
  auto limit =
      std::chrono::duration_cast<std::chrono::milliseconds>(SessionTable::kIdleLimit).count();
  store.save_session(
      {token_hash("stale"), "alice", "c1", "h", now - limit - 1000, now - limit - 1000});
  store.save_session(
      {token_hash("fresh"), "bob", "c2", "h", now - limit + 60000, now - limit + 60000});
  SessionTable table(&store);
  EXPECT_FALSE(table.use("stale"));
  EXPECT_TRUE(table.use("fresh"));
  auto left = store.sessions();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].user, "bob");
}

TEST_F(Sessions, ASessionEndsAFixedTimeAfterSignInHoweverBusy) {
  store::StateStore store(db());
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  auto limit =
      std::chrono::duration_cast<std::chrono::milliseconds>(SessionTable::kAbsoluteLimit).count();
  // Used a second ago, but signed in longer ago than the limit.
  store.save_session({token_hash("old"), "alice", "c1", "h", now - 1000, now - limit - 1000});
  store.save_session({token_hash("young"), "bob", "c2", "h", now - 1000, now - limit + 60000});
  SessionTable table(&store);
  EXPECT_FALSE(table.peek("old"));
  EXPECT_FALSE(table.use("old"));
  EXPECT_TRUE(table.peek("young"));
  EXPECT_TRUE(table.use("young"));
  ASSERT_EQ(store.sessions().size(), 1u);
}

TEST_F(Sessions, PeekingDoesNotKeepASessionAlive) {
  SessionTable table(nullptr);
  auto id = table.open("alice", "hash-1");
  auto before = table.peek(id)->last_used;
  auto again = table.peek(id)->last_used;
  EXPECT_EQ(before, again);
  table.close(id);
  EXPECT_FALSE(table.peek(id));
}

TEST(LoginLimiter, AttemptsCountAsTheyBeginSoParallelOnesCannotSlipThrough) {
  LoginLimiter limiter;
  for (int i = 0; i < LoginLimiter::kFailures; ++i)
    EXPECT_EQ(limiter.begin("192.0.2.1", false), 0) << i;
  // None of them has failed yet (all still being checked): the next waits all the same.
  EXPECT_GT(limiter.begin("192.0.2.1", false), 0);
  EXPECT_EQ(limiter.begin("192.0.2.2", false), 0) << "another source is not held up";
}

TEST(LoginLimiter, ASuccessForgivesTheSource) {
  LoginLimiter limiter;
  for (int i = 0; i < LoginLimiter::kFailures - 1; ++i) limiter.begin("192.0.2.1", false);
  limiter.succeeded("192.0.2.1");
  for (int i = 0; i < LoginLimiter::kFailures; ++i)
    EXPECT_EQ(limiter.begin("192.0.2.1", false), 0) << i;
}

TEST(LoginLimiter, AnAbandonedAttemptIsNotCounted) {
  LoginLimiter limiter;
  for (int i = 0; i < 3 * LoginLimiter::kFailures; ++i) {
    ASSERT_EQ(limiter.begin("192.0.2.1", false), 0) << i;
    limiter.abandon("192.0.2.1", false);
  }
}

TEST(LoginLimiter, ManySourcesShareAGlobalBudgetThatTrustedDevicesAreOutside) {
  LoginLimiter limiter;
  int allowed = 0;
  for (int i = 0; i < 2 * LoginLimiter::kGlobalFailures; ++i)
    if (limiter.begin("198.51.100." + std::to_string(i % 250) + "-" + std::to_string(i), false) ==
        0)
      ++allowed;
  EXPECT_EQ(allowed, LoginLimiter::kGlobalFailures);
  EXPECT_GT(limiter.begin("203.0.113.9", false), 0) << "a fresh address waits too";
  EXPECT_EQ(limiter.begin("device abc", true), 0) << "a browser that signed in before does not";
}

TEST(TrustedDevices, ADeviceIsTrustedForItsUserOnly) {
  TrustedDevices devices;
  auto id = devices.issue("alice");
  EXPECT_TRUE(devices.trusted(id, "alice"));
  EXPECT_FALSE(devices.trusted(id, "bob"));
  EXPECT_FALSE(devices.trusted(id + "0", "alice"));
  EXPECT_FALSE(devices.trusted("", "alice"));
}

TEST_F(Sessions, WithoutAStoreSessionsLiveInMemory) {
  SessionTable table(nullptr);
  auto id = table.open("alice", "hash-1");
  EXPECT_TRUE(table.use(id));
  table.close(id);
  EXPECT_FALSE(table.use(id));
}

}  // namespace
}  // namespace sluice::auth
