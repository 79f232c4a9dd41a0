// Unit tests for the personas' timeouts (src/http/timeouts.h). Each server's is measured by
// tests/integration/test_timeouts.py against the real one; here, what each value means.
#include "http/timeouts.h"

#include <gtest/gtest.h>

namespace drosera::http {
namespace {

const Persona kApache = makePersona("apache", "");
const Persona kNginx = makePersona("nginx", "");
const Persona kIis = makePersona("iis", "");

TEST(TimeoutsTest, ApacheGrowsWithWhatComesUpToItsMost) {
  const ReadTimeout head = headTimeout(kApache, 0);  // header=20-40,MinRate=500
  EXPECT_DOUBLE_EQ(head.seconds(0), 20);
  EXPECT_DOUBLE_EQ(head.seconds(500), 21);
  EXPECT_DOUBLE_EQ(head.seconds(5000), 30);
  EXPECT_DOUBLE_EQ(head.seconds(10000), 40);
  EXPECT_DOUBLE_EQ(head.seconds(1000000), 40);
  EXPECT_FALSE(head.per_read);
  EXPECT_TRUE(head.answers);
  EXPECT_FALSE(head.answers_first_line);  // a partial request line: closed without a word
  const ReadTimeout body = bodyTimeout(kApache, 0);  // body=10,MinRate=500: no most
  EXPECT_DOUBLE_EQ(body.seconds(0), 10);
  EXPECT_DOUBLE_EQ(body.seconds(1000000), 2010);
  EXPECT_TRUE(body.answers);
}

TEST(TimeoutsTest, NginxWaitsAMinuteAndSaysNothing) {
  const ReadTimeout head = headTimeout(kNginx, 0);  // client_header_timeout: the whole head
  EXPECT_DOUBLE_EQ(head.seconds(0), 60);
  EXPECT_DOUBLE_EQ(head.seconds(100000), 60);
  EXPECT_FALSE(head.per_read);
  EXPECT_FALSE(head.answers);
  const ReadTimeout body = bodyTimeout(kNginx, 0);  // client_body_timeout: between two reads
  EXPECT_DOUBLE_EQ(body.seconds(0), 60);
  EXPECT_TRUE(body.per_read);
  EXPECT_FALSE(body.answers);
}

TEST(TimeoutsTest, AConfiguredLimitIsTakenAsItIsWithA408) {
  for (const Persona& p : {kApache, kNginx, kIis}) {
    for (const ReadTimeout& t : {headTimeout(p, 4), bodyTimeout(p, 4)}) {
      EXPECT_DOUBLE_EQ(t.seconds(0), 4) << p.name;
      EXPECT_DOUBLE_EQ(t.seconds(100000), 4) << p.name;
      EXPECT_FALSE(t.per_read) << p.name;
      EXPECT_TRUE(t.answers) << p.name;
      EXPECT_TRUE(t.answers_first_line) << p.name;
    }
    EXPECT_DOUBLE_EQ(writeTimeout(p, 4), 4);
    EXPECT_DOUBLE_EQ(keepAliveTimeout(p, 4), 4);
    EXPECT_EQ(deferAcceptSeconds(p, 4), 0) << p.name;  // a bound for idle connections too
  }
}

TEST(TimeoutsTest, TheRestAsEachServerHasThem) {
  EXPECT_DOUBLE_EQ(headTimeout(kIis, 0).seconds(0), 20);
  EXPECT_DOUBLE_EQ(bodyTimeout(kIis, 0).seconds(0), 30);
  EXPECT_DOUBLE_EQ(writeTimeout(kApache, 0), 300);  // Timeout 300
  EXPECT_DOUBLE_EQ(writeTimeout(kNginx, 0), 60);    // send_timeout
  EXPECT_DOUBLE_EQ(keepAliveTimeout(kApache, 0), 5);
  EXPECT_DOUBLE_EQ(keepAliveTimeout(kNginx, 0), 65);
  EXPECT_DOUBLE_EQ(keepAliveTimeout(kIis, 0), 120);
  EXPECT_EQ(deferAcceptSeconds(kApache, 0), 30);  // AcceptFilter http data
  EXPECT_EQ(deferAcceptSeconds(kNginx, 0), 0);
  EXPECT_EQ(deferAcceptSeconds(kIis, 0), 0);
}

}  // namespace
}  // namespace drosera::http
