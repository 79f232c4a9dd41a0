// Access to the real audit logs under tests/data (made by tests/data/make_fixtures.sh), and
// independent ways of reading what the servers logged, to compare the parsers against.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <regex>
#include <string>
#include <vector>

namespace drosera::testutil {

inline std::string fixturePath(const std::string& name) {
  return std::string(DROSERA_SOURCE_DIR) + "/tests/data/" + name;
}

inline std::string readFixture(const std::string& name) {
  std::ifstream in(fixturePath(name), std::ios::binary);
  EXPECT_TRUE(in.good()) << "missing fixture " << name;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Non-empty lines, without their newline.
inline std::vector<std::string> fixtureLines(const std::string& name) {
  std::vector<std::string> out;
  const std::string text = readFixture(name);
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    if (nl > pos) out.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return out;
}

// Every first capture group of `re` in `text`, as integers, in order.
inline std::vector<int> allInts(const std::string& text, const std::regex& re) {
  std::vector<int> out;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator();
       ++it) {
    out.push_back(std::stoi((*it)[1].str()));
  }
  return out;
}

inline std::string firstMatch(const std::string& text, const std::regex& re) {
  std::smatch m;
  return std::regex_search(text, m, re) ? m[1].str() : std::string();
}

// The same eight requests went to Apache, nginx and the drosera sensor, in this order
// (tests/data/fixture_requests.py); drosera then got robots.txt, the robots.txt bait with
// credentials, and a request on a fake port.
enum FixtureRequest {
  kBenign,
  kSqli,
  kXssPost,
  kScanner,
  kTraversal,
  kNonUtf8,
  kForged,
  kQuoteInPath
};
inline constexpr int kFixtureRequests = 8;

}  // namespace drosera::testutil
