// The collector's secrets on disk: tokens made on first start, secrets read from files.
#include "collector/auth.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

namespace drosera::collector {
namespace {

namespace fs = std::filesystem;

class SecretFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("auth-" + std::to_string(std::random_device{}()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static mode_t modeOf(const fs::path& p) {
    struct stat st {};
    EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
    return st.st_mode;
  }
  static std::string contents(const fs::path& p) {
    std::ifstream in(p);
    std::string s;
    std::getline(in, s);
    return s;
  }

  fs::path dir_;
};

TEST_F(SecretFilesTest, ATokenMadeInASharedFolderLeavesTheFolderAloneAndFollowsNoLink) {
  // A token file configured in a shared folder (mode 1777): the folder was made 0700 (locking
  // its other users out), and a link planted at <token>.tmp was written through, so its target
  // got the token.
  const fs::path shared = dir_ / "shared";
  fs::create_directories(shared);
  ASSERT_EQ(::chmod(shared.c_str(), 01777), 0);
  const fs::path victim = dir_ / "victim";
  std::ofstream(victim) << "IMPORTANT DATA\n";
  fs::create_symlink(victim, shared / "api.token.tmp");

  auto token = loadOrCreateToken((shared / "api.token").string());
  ASSERT_TRUE(token.isOk()) << token.status().toString();
  EXPECT_GE(token->size(), 32u);
  EXPECT_EQ(modeOf(shared) & 07777, 01777u);
  EXPECT_EQ(contents(victim), "IMPORTANT DATA");
  EXPECT_TRUE(S_ISREG(modeOf(shared / "api.token")));
  EXPECT_EQ(modeOf(shared / "api.token") & 0777, 0600u);
  EXPECT_EQ(contents(shared / "api.token"), *token);
  // Made once: the next start reads the same token.
  auto again = loadOrCreateToken((shared / "api.token").string());
  ASSERT_TRUE(again.isOk());
  EXPECT_EQ(*again, *token);
}

TEST_F(SecretFilesTest, AFolderMadeForATokenIsPrivate) {
  const fs::path made = dir_ / "new" / "secrets";
  ASSERT_TRUE(loadOrCreateToken((made / "api.token").string()).isOk());
  EXPECT_EQ(modeOf(made) & 0777, 0700u);
}

TEST_F(SecretFilesTest, ASecretAnybodyCanWriteOrPlantIsRefused) {
  const fs::path f = dir_ / "token";
  std::ofstream(f) << "0123456789abcdef0123\n";
  ASSERT_EQ(::chmod(f.c_str(), 0640), 0);
  ASSERT_TRUE(readSecretFile(f.string(), "k").isOk());
  ASSERT_EQ(::chmod(f.c_str(), 0666), 0);
  auto writable = readSecretFile(f.string(), "collector.sensor.token_file");
  ASSERT_FALSE(writable.isOk());
  EXPECT_NE(writable.status().message().find("collector.sensor.token_file"), std::string::npos);
  EXPECT_NE(writable.status().message().find("writable by anybody"), std::string::npos);
  if (::geteuid() != 0) GTEST_SKIP() << "only root can give a file away";
  // The service user's token in the (private) data folder, read by root at a restart: fine.
  ASSERT_EQ(::chmod(f.c_str(), 0600), 0);
  ASSERT_EQ(::chown(f.c_str(), 65534, 65534), 0);
  EXPECT_TRUE(readSecretFile(f.string(), "k").isOk());
  EXPECT_TRUE(loadOrCreateToken(f.string()).isOk());
  // Another user's file, or link, in a folder anybody may write: planted.
  const fs::path shared = dir_ / "shared";
  fs::create_directories(shared);
  ASSERT_EQ(::chmod(shared.c_str(), 01777), 0);
  std::ofstream(shared / "api.token") << "known-to-the-planter-0123\n";
  ASSERT_EQ(::chown((shared / "api.token").c_str(), 65534, 65534), 0);
  EXPECT_FALSE(loadOrCreateToken((shared / "api.token").string()).isOk());
  fs::create_symlink(f, shared / "link.token");
  ASSERT_EQ(::lchown((shared / "link.token").c_str(), 65534, 65534), 0);
  EXPECT_FALSE(readSecretFile((shared / "link.token").string(), "k").isOk());
}

TEST_F(SecretFilesTest, EachSensorHasANameAndATokenOfItsOwn) {
  // Two sensors with one token: the second's events were stored under the first's name.
  core::CollectorConfig c;
  c.api_token_file = (dir_ / "api.token").string();
  c.sensors = {{"sensor-a", "0123456789abcdef-a", ""}, {"sensor-b", "0123456789abcdef-b", ""}};
  ASSERT_TRUE(Credentials::load(c, dir_.string()).isOk());
  c.sensors[1].token = c.sensors[0].token;
  auto shared = Credentials::load(c, dir_.string());
  ASSERT_FALSE(shared.isOk());
  EXPECT_NE(shared.status().message().find("has the token of 'sensor-a'"), std::string::npos);
  c.sensors[1] = {"sensor-a", "0123456789abcdef-c", ""};
  EXPECT_FALSE(Credentials::load(c, dir_.string()).isOk());
  c.sensors[1] = {"", "0123456789abcdef-c", ""};
  EXPECT_FALSE(Credentials::load(c, dir_.string()).isOk());
}

}  // namespace
}  // namespace drosera::collector
