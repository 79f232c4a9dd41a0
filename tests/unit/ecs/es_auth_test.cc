// Credentials for Elasticsearch come from a variable or a file, never from the configuration, and
// errors name where they looked, never the secret.
#include "ecs/es_auth.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "core/base64.h"

namespace drosera::ecs {
namespace {

// Files written by a test, removed when it ends.
class EsAuth : public ::testing::Test {
 protected:
  void TearDown() override {
    for (const auto& f : files_) std::remove(f.c_str());
  }
  std::string tempFile(const std::string& name, const std::string& text) {
    const std::string path = ::testing::TempDir() + "/" + std::to_string(::getpid()) + "-" + name;
    std::ofstream(path, std::ios::binary) << text;
    files_.push_back(path);
    return path;
  }

 private:
  std::vector<std::string> files_;
};

TEST_F(EsAuth, NoneSendsNothing) {
  EcsBulkConfig c;
  auto h = authorizationHeader(c);
  ASSERT_TRUE(h);
  EXPECT_EQ(*h, "");
}

TEST_F(EsAuth, BasicFromTheVariableBeforeTheFile) {
  EcsBulkConfig c;
  c.auth = "basic";
  c.username = "elastic";
  c.password_env = "DROSERA_TEST_ES_PASSWORD";
  c.password_file = tempFile("drosera_pw_file", "from-file\n");
  ::unsetenv("DROSERA_TEST_ES_PASSWORD");
  EXPECT_EQ(*authorizationHeader(c), "Basic " + core::base64Encode("elastic:from-file"));
  ::setenv("DROSERA_TEST_ES_PASSWORD", "from-env", 1);
  EXPECT_EQ(*authorizationHeader(c), "Basic " + core::base64Encode("elastic:from-env"));
  ::setenv("DROSERA_TEST_ES_PASSWORD", "", 1);  // empty counts as unset
  EXPECT_EQ(*authorizationHeader(c), "Basic " + core::base64Encode("elastic:from-file"));
  ::unsetenv("DROSERA_TEST_ES_PASSWORD");
  c.username.clear();
  EXPECT_FALSE(authorizationHeader(c));
}

TEST_F(EsAuth, ApiKeyEncodedOrIdColonKey) {
  EcsBulkConfig c;
  c.auth = "api_key";
  c.api_key_env.clear();
  c.api_key_file = tempFile("drosera_key_file",
                            "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==  \r\n");
  EXPECT_EQ(*authorizationHeader(c),
            "ApiKey VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==");
  c.api_key_file = tempFile("drosera_key_file2", "VuaCfGcBCdbkQm-e5aOx:ui2lp2axTNmsyakw9tvNnw\n");
  EXPECT_EQ(*authorizationHeader(c),
            "ApiKey " + core::base64Encode("VuaCfGcBCdbkQm-e5aOx:ui2lp2axTNmsyakw9tvNnw"));
}

TEST_F(EsAuth, ErrorsNameTheSourceNotTheSecret) {
  EcsBulkConfig c;
  c.auth = "api_key";
  c.api_key_env = "DROSERA_TEST_SURELY_UNSET";
  c.api_key_file.clear();
  auto r = authorizationHeader(c);
  ASSERT_FALSE(r);
  EXPECT_NE(r.status().message().find("DROSERA_TEST_SURELY_UNSET"), std::string::npos);
  c.api_key_file = "/nonexistent/key";
  r = authorizationHeader(c);
  ASSERT_FALSE(r);
  EXPECT_NE(r.status().message().find("/nonexistent/key"), std::string::npos);
  c.api_key_file = tempFile("drosera_empty_key", "\n");
  EXPECT_FALSE(authorizationHeader(c));
  c.auth = "bearer";
  EXPECT_FALSE(authorizationHeader(c));
}

}  // namespace
}  // namespace drosera::ecs
