// Hostile and broken input: truncation at every length, random and mutated bytes, huge and deep
// JSON, native entries without Z, bytes that are not UTF-8, forged metadata, bounds. Nothing may
// crash or throw; a broken record is an error Result with a message that says what is wrong.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>

#include "collector/parse.h"
#include "collector/parse_util.h"
#include "fixtures.h"

namespace drosera::collector {
namespace {

using testutil::fixtureLines;
using testutil::readFixture;

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// Every parser on the same bytes: none may crash; results are checked for basic sanity.
void parseEverything(std::string_view bytes, const ParseContext& ctx) {
  for (auto r : {parseRecord(bytes, ctx), parseV3Json(bytes, ctx), parseV2Json(bytes, ctx),
                 parseV2Native(bytes, ctx)}) {
    if (r.isOk()) {
      EXPECT_FALSE(r->unique_id.empty());
      EXPECT_LE(r->rules.size(), ctx.max_rules);
      EXPECT_LE(r->request_headers.size(), ctx.max_headers);
      EXPECT_LE(r->request_body.size(), ctx.max_body_bytes);
    } else {
      EXPECT_FALSE(r.status().message().empty());
    }
  }
  (void)parseMlogcIndexLine(bytes);
  for (NativeTail tail : {NativeTail::kGrowing, NativeTail::kSettled, NativeTail::kFinished}) {
    const NativeSplit split = splitNativeEntries(bytes, 4096, tail);
    EXPECT_LE(split.consumed, bytes.size());
    if (tail == NativeTail::kFinished) {
      EXPECT_EQ(split.consumed, bytes.size());
    }
    for (auto e : split.entries) {
      EXPECT_GE(e.data(), bytes.data());
      EXPECT_LE(e.data() + e.size(), bytes.data() + bytes.size());
    }
  }
}

TEST(ParseHostile, TruncatedJsonAtEveryLengthIsAnError) {
  const std::vector<std::string> records = {
      fixtureLines("drosera_events.log")[testutil::kSqli],
      fixtureLines("modsec3_json.log")[testutil::kForged],
      fixtureLines("modsec3_json.log")[testutil::kNonUtf8],  // not UTF-8
      fixtureLines("modsec2_json.log")[testutil::kXssPost],
  };
  ParseContext ctx;
  for (const std::string& full : records) {
    const std::string line = trimmed(full);
    ASSERT_TRUE(parseRecord(line, ctx).isOk());
    for (size_t n = 0; n < line.size(); ++n) {
      const std::string_view cut(line.data(), n);
      auto v3 = parseV3Json(cut, ctx);
      auto v2 = parseV2Json(cut, ctx);
      ASSERT_FALSE(v3.isOk()) << "length " << n;
      ASSERT_FALSE(v2.isOk()) << "length " << n;
      EXPECT_NE(v3.status().message().find("v3 json: not a JSON record"), std::string::npos)
          << v3.status().message();
      (void)parseRecord(cut, ctx);
    }
  }
}

TEST(ParseHostile, TruncatedNativeEntryAtEveryLength) {
  const std::string text = readFixture("modsec2_native.log");
  const NativeSplit split = splitNativeEntries(text);
  ASSERT_GE(split.entries.size(), 3u);
  const std::string entry(split.entries[testutil::kSqli]);
  const size_t z = entry.rfind("-Z--");
  ParseContext ctx;
  for (size_t n = 0; n < entry.size(); ++n) {
    auto r = parseV2Native(std::string_view(entry.data(), n), ctx);
    if (n < z + 4) {  // up to the end of "-Z--"
      ASSERT_FALSE(r.isOk()) << n;
    } else {
      ASSERT_TRUE(r.isOk()) << n << r.status().toString();
    }
    // The splitter never hands out a part of it.
    const NativeSplit s = splitNativeEntries(std::string_view(entry.data(), n));
    ASSERT_TRUE(s.entries.empty()) << n;
    ASSERT_EQ(s.consumed, 0u) << n;
  }
}

TEST(ParseHostile, NativeEntryWithoutZ) {
  const std::string text = readFixture("modsec3_native.log");
  std::string entry(splitNativeEntries(text).entries[testutil::kSqli]);
  entry.resize(entry.rfind("---Z--") - 11);
  auto r = parseV2Native(entry, ParseContext{});
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().message(), "native: entry has no Z marker (truncated)");
  auto none = parseV2Native("GET / HTTP/1.1\r\n\r\n", ParseContext{});
  ASSERT_FALSE(none.isOk());
  EXPECT_EQ(none.status().message(), "native: no A marker");
}

// A writer that died in the middle of the first entry; the others follow.
struct TornStream {
  std::vector<std::string_view> whole;
  std::string stream;
  size_t skipped = 0;
};
TornStream tornFirstEntry(const std::string& text) {
  TornStream t;
  t.whole = splitNativeEntries(text).entries;
  const std::string_view first = t.whole[0];
  const std::string torn = std::string(first.substr(0, first.size() / 2)) + "\n";
  t.stream = "junk before\n" + torn + text.substr(first.size() + 1);  // +1: the blank line
  t.skipped = std::string("junk before\n").size() + torn.size();
  return t;
}

TEST(ParseHostile, SplitterSkipsATornV2Entry) {
  // mod_security2's boundaries may repeat (this log has 4 for 8 entries): the next A marker with
  // the torn entry's boundary shows at once that it was torn.
  const std::string text = readFixture("modsec2_native.log");
  const TornStream t = tornFirstEntry(text);
  ASSERT_EQ(t.whole.size(), static_cast<size_t>(testutil::kFixtureRequests));
  const NativeSplit s = splitNativeEntries(t.stream, t.stream.size());
  ASSERT_EQ(s.entries.size(), t.whole.size() - 1);
  for (size_t i = 0; i < s.entries.size(); ++i) EXPECT_EQ(s.entries[i], t.whole[i + 1]);
  EXPECT_EQ(s.consumed, t.stream.size());
  EXPECT_EQ(s.skipped_bytes, t.skipped);
}

TEST(ParseHostile, SplitterGivesUpOnATornV3EntryPastTheBound) {
  // No later entry of the torn one's boundary here: while a writer may still be writing it, a
  // torn entry shows only when its Z does not come within max_entry_bytes. Until then the
  // splitter waits for it.
  const std::string text = readFixture("modsec3_native.log");
  const TornStream t = tornFirstEntry(text);
  const NativeSplit waiting = splitNativeEntries(t.stream, t.stream.size());
  EXPECT_TRUE(waiting.entries.empty());
  EXPECT_EQ(waiting.consumed, std::string("junk before\n").size());
  size_t largest = 0;
  for (auto e : t.whole) largest = std::max(largest, e.size());
  const NativeSplit resumed = splitNativeEntries(t.stream, largest);
  ASSERT_EQ(resumed.entries.size(), t.whole.size() - 1);
  for (size_t i = 0; i < resumed.entries.size(); ++i) {
    EXPECT_EQ(resumed.entries[i], t.whole[i + 1]);
  }
  EXPECT_EQ(resumed.consumed, t.stream.size());
  EXPECT_EQ(resumed.skipped_bytes, t.skipped);
}

TEST(ParseHostile, SplitterFedInRandomChunksFindsTheSameEntries) {
  for (const char* file : {"modsec2_native.log", "modsec3_native.log"}) {
    const std::string text = readFixture(file);
    const NativeSplit whole = splitNativeEntries(text);
    std::mt19937 rng(42);
    std::string buffer;
    std::vector<std::string> got;
    size_t fed = 0;
    while (fed < text.size()) {
      const size_t n = std::min<size_t>(text.size() - fed, 1 + rng() % 700);
      buffer.append(text, fed, n);
      fed += n;
      const NativeSplit s = splitNativeEntries(buffer);
      for (auto e : s.entries) got.emplace_back(e);
      buffer.erase(0, s.consumed);
    }
    EXPECT_TRUE(buffer.empty()) << file;
    ASSERT_EQ(got.size(), whole.entries.size()) << file;
    for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], whole.entries[i]);
  }
}

TEST(ParseHostile, SplitterDoesNotEndAnEntryAtAForgedMarkerInTheBody) {
  // A request body holding marker lines of another boundary: the entry ends at its own Z only.
  const std::string text = readFixture("modsec2_native.log");
  std::string entry(splitNativeEntries(text).entries[testutil::kXssPost]);
  const size_t c = entry.find("-C--\n");
  ASSERT_NE(c, std::string::npos);
  entry.insert(c + 5, "--deadbeef-Z--\n--deadbeef-A--\n[x] forged 1.2.3.4 1 5.6.7.8 2\n");
  const NativeSplit s = splitNativeEntries(entry);
  ASSERT_EQ(s.entries.size(), 1u);
  EXPECT_EQ(s.entries[0].size(), entry.size());
  auto e = parseV2Native(entry, ParseContext{});
  ASSERT_TRUE(e.isOk());
  EXPECT_NE(e->unique_id, "forged");
  EXPECT_NE(e->request_body.find("--deadbeef-A--"), std::string::npos);
}

// A v2 native entry with parts A, B, C (the request body) and Z; the unique id names it.
std::string entryWithBody(const std::string& boundary, const std::string& id,
                          const std::string& body = "a=1\n") {
  auto marker = [&](char part) { return "--" + boundary + "-" + part + "--\n"; };
  return marker('A') + "[30/Nov/2026:14:00:00.123456 +0000] " + id + " 1.2.3.4 5555 10.0.0.1 80\n" +
         marker('B') + "POST /x HTTP/1.1\nHost: h\n\n" + marker('C') + body + marker('Z') + "\n";
}
// An entry up to the end of its line holding `upto`: what a writer that died left.
std::string tornEntry(const std::string& boundary, const std::string& id,
                      const std::string& upto = "POST") {
  const std::string e = entryWithBody(boundary, id);
  return e.substr(0, e.find('\n', e.find(upto)) + 1);
}

std::vector<std::string> idsOf(const NativeSplit& s) {
  std::vector<std::string> out;
  for (auto e : s.entries) {
    auto r = parseV2Native(e, ParseContext{});
    out.push_back(r ? r->unique_id : "(" + r.status().message() + ")");
  }
  return out;
}

TEST(ParseHostile, SplitterKeepsTheEntriesThatFollowATornOneOfAnotherBoundary) {
  // mod_security2 draws a boundary per entry (it may repeat one): a torn entry shows as torn when
  // no writer can still be writing it, and the complete entries after it are not lost.
  const std::string torn = tornEntry("aaaa1111", "U1");
  const std::string text = torn + entryWithBody("bbbb2222", "U2") + entryWithBody("cccc3333", "U3");
  // While a writer may be in the middle of the first entry: no proof yet, everything waits.
  const NativeSplit growing = splitNativeEntries(text);
  EXPECT_TRUE(growing.entries.empty());
  EXPECT_EQ(growing.consumed, 0u);
  // No writer in the middle of an entry (a quiet file): the last entry may still be waited for,
  // those before it are done.
  const NativeSplit settled = splitNativeEntries(text, 16u << 20, NativeTail::kSettled);
  EXPECT_EQ(idsOf(settled), (std::vector<std::string>{"U2", "U3"}));
  EXPECT_EQ(settled.consumed, text.size());
  EXPECT_EQ(settled.skipped_bytes, torn.size());
  const NativeSplit finished = splitNativeEntries(text, 16u << 20, NativeTail::kFinished);
  EXPECT_EQ(idsOf(finished), (std::vector<std::string>{"U2", "U3"}));
  EXPECT_EQ(finished.consumed, text.size());
  EXPECT_EQ(finished.skipped_bytes, torn.size());
  // Torn in the middle of a line: the next entry's A marker ends that line.
  const std::string mid = torn.substr(0, torn.size() - 6);
  const std::string glued = mid + entryWithBody("bbbb2222", "U2") + entryWithBody("cccc3333", "U3");
  for (NativeTail tail : {NativeTail::kSettled, NativeTail::kFinished}) {
    const NativeSplit g = splitNativeEntries(glued, 16u << 20, tail);
    EXPECT_EQ(idsOf(g), (std::vector<std::string>{"U2", "U3"}));
    EXPECT_EQ(g.skipped_bytes, mid.size());
  }
  // A torn entry at the end of a settled buffer waits; a finished one drops it.
  const std::string last_torn = entryWithBody("bbbb2222", "U2") + torn;
  const NativeSplit waits = splitNativeEntries(last_torn, 16u << 20, NativeTail::kSettled);
  EXPECT_EQ(idsOf(waits), std::vector<std::string>{"U2"});
  EXPECT_EQ(waits.consumed, last_torn.size() - torn.size());
  const NativeSplit dropped = splitNativeEntries(last_torn, 16u << 20, NativeTail::kFinished);
  EXPECT_EQ(idsOf(dropped), std::vector<std::string>{"U2"});
  EXPECT_EQ(dropped.consumed, last_torn.size());
  EXPECT_EQ(dropped.skipped_bytes, torn.size());
}

TEST(ParseHostile, SplitterSkipsOnlyTheTornEntryWhenItsBoundaryComesBack) {
  // The boundary of the torn entry starts a later entry: the entries between are kept.
  const std::string torn = tornEntry("aaaa1111", "U1");
  const std::string text = torn + entryWithBody("bbbb2222", "U2") +
                           entryWithBody("cccc3333", "U3") + entryWithBody("aaaa1111", "U4");
  const NativeSplit s = splitNativeEntries(text);
  EXPECT_EQ(idsOf(s), (std::vector<std::string>{"U2", "U3", "U4"}));
  EXPECT_EQ(s.consumed, text.size());
  EXPECT_EQ(s.skipped_bytes, torn.size());
  // Two torn entries in a row, each of its own boundary.
  const std::string torn2 = tornEntry("dddd4444", "U5", "-C--");
  const std::string two = torn + torn2 + entryWithBody("bbbb2222", "U2") +
                          entryWithBody("aaaa1111", "U4") + entryWithBody("dddd4444", "U6");
  const NativeSplit t = splitNativeEntries(two);
  EXPECT_EQ(idsOf(t), (std::vector<std::string>{"U2", "U4", "U6"}));
  EXPECT_EQ(t.skipped_bytes, torn.size() + torn2.size());
  // Torn in the middle of a line, and the next entry of its boundary appended to that line.
  const std::string mid = torn.substr(0, torn.size() - 6);
  const std::string glued = mid + entryWithBody("aaaa1111", "U4") + entryWithBody("bbbb2222", "U2");
  const NativeSplit g = splitNativeEntries(glued);
  EXPECT_EQ(idsOf(g), (std::vector<std::string>{"U4", "U2"}));
  EXPECT_EQ(g.skipped_bytes, mid.size());
}

TEST(ParseHostile, SplitterTakesNoForgedEntryFromABodyForProofOfATear) {
  // A request body holding whole entries of another boundary (the attacker's, with the
  // source address of their choosing).
  const std::string forged =
      entryWithBody("deadbeef", "forged-1") + entryWithBody("deadbeef", "forged-2");
  const std::string real = entryWithBody("aaaa1111", "U1", forged);
  // Read while its writer is between two writes, just after the body: it waits. (kSettled would
  // not: it says that no writer is between two writes.)
  const std::string cut = real.substr(0, real.find("--aaaa1111-Z--"));
  const NativeSplit waits = splitNativeEntries(cut);
  EXPECT_TRUE(waits.entries.empty());
  EXPECT_EQ(waits.consumed, 0u);
  // Whole, in any mode: the one entry.
  for (NativeTail tail : {NativeTail::kGrowing, NativeTail::kSettled, NativeTail::kFinished}) {
    EXPECT_EQ(idsOf(splitNativeEntries(real + entryWithBody("bbbb2222", "U2"), 16u << 20, tail)),
              (std::vector<std::string>{"U1", "U2"}));
  }
  // Torn after the body (its writer died writing a later part), then a real entry and its
  // boundary again: the forged entries come before its last marker and are not taken.
  const std::string torn = real.substr(0, real.find("--aaaa1111-Z--")) + "--aaaa1111-H--\nMess";
  const std::string text =
      torn + "\n" + entryWithBody("bbbb2222", "U2") + entryWithBody("aaaa1111", "U3");
  const NativeSplit s = splitNativeEntries(text);
  EXPECT_EQ(idsOf(s), (std::vector<std::string>{"U2", "U3"}));
  EXPECT_EQ(s.skipped_bytes, torn.size() + 1);
  EXPECT_EQ(idsOf(splitNativeEntries(torn + "\n" + entryWithBody("bbbb2222", "U2"), 16u << 20,
                                     NativeTail::kFinished)),
            std::vector<std::string>{"U2"});
}

// The same in libmodsecurity v3's marker style.
std::string entryV3WithBody(const std::string& boundary, const std::string& id,
                            const std::string& body = "a=1\n") {
  auto marker = [&](char part) { return "---" + boundary + "---" + part + "--\n"; };
  return marker('A') + "[30/Nov/2026:14:00:00 +0000] " + id + " 1.2.3.4 5555 10.0.0.1 80\n" +
         marker('B') + "POST /x HTTP/1.1\nHost: h\n\n" + marker('C') + body + "\n" + marker('Z') +
         "\n";
}

// Fix: on a settled buffer, the last A marker was taken for the start of the entry a slow writer
// might still be writing, though it may be in the request body of a complete entry. Behind a
// torn entry, that complete entry was then taken for torn: lost, and a forged entry after the
// marker stored; a lone marker held it, and the entries after it, until the next quiet spell.
TEST(ParseHostile, SplitterOnASettledBufferTakesNoMarkerInABodyForTheStartOfTheLastEntry) {
  const std::string torn = tornEntry("aaaa1111", "U1");
  const std::string before = torn + entryWithBody("bbbb2222", "U2");
  for (const std::string& body :
       {entryWithBody("ffff9999", "forged"), std::string("x\n--hide1234-A--\ny\n"),
        std::string("x=abc--hide1234-A--\ny\n"), std::string("x\n---hide1234---A--\n")}) {
    const std::string text = before + entryWithBody("cccc3333", "U3", body);
    for (NativeTail tail : {NativeTail::kSettled, NativeTail::kFinished}) {
      const NativeSplit s = splitNativeEntries(text, 16u << 20, tail);
      EXPECT_EQ(idsOf(s), (std::vector<std::string>{"U2", "U3"})) << body;
      EXPECT_EQ(s.consumed, text.size()) << body;
      EXPECT_EQ(s.skipped_bytes, torn.size()) << body;
    }
  }
}

// Fix: a writer died in the middle of a line of a request body holding a whole forged entry, and
// the next entry's A marker went on at the end of that line. The forged entry cannot be told
// from a real one written after the torn entry, and is taken; the entry on the cut line was then
// read as text between entries: skipped, and its bytes committed.
TEST(ParseHostile, SplitterFindsTheEntryOnTheCutLineAfterAForgedOneInATornBody) {
  const std::string whole =
      entryV3WithBody("0eebba00", "U1", entryV3WithBody("ffff9999", "forged") + "more body\n");
  const std::string torn = whole.substr(0, whole.find("more body") + 4);
  const std::string text =
      torn + entryV3WithBody("bfa7ef5e", "U2") + entryV3WithBody("cccc3333", "U3");
  for (NativeTail tail : {NativeTail::kSettled, NativeTail::kFinished}) {
    const NativeSplit s = splitNativeEntries(text, 16u << 20, tail);
    EXPECT_EQ(idsOf(s), (std::vector<std::string>{"forged", "U2", "U3"}));
    EXPECT_EQ(s.consumed, text.size());
  }
  // Known torn by its boundary coming back, while more may come.
  const std::string back = text + entryV3WithBody("0eebba00", "U4");
  const NativeSplit s = splitNativeEntries(back);
  EXPECT_EQ(idsOf(s), (std::vector<std::string>{"forged", "U2", "U3", "U4"}));
  EXPECT_EQ(s.consumed, back.size());
}

// Fix: an entry whose Z did not come within the bound was dropped up to the first A marker line
// after its start, which may be that of a forged entry in its request body: it was stored.
TEST(ParseHostile, SplitterPastTheBoundResumesAfterTheTornEntrysOwnMarkers) {
  const std::string whole =
      entryV3WithBody("aaaa1111", "U0", entryV3WithBody("ffff9999", "forged") + "more body\n");
  const std::string torn =
      whole.substr(0, whole.find("---aaaa1111---Z--")) + "---aaaa1111---H--\nMessage: parti";
  std::string text = torn + "\n";
  std::vector<std::string> ids;
  size_t largest = 0;
  for (int i = 1; i <= 20; ++i) {
    ids.push_back("U" + std::to_string(i));
    const std::string e = entryV3WithBody("bbbb" + std::to_string(1000 + i), ids.back());
    largest = std::max(largest, e.size());
    text += e;
  }
  ASSERT_GT(text.size() - torn.size(), 2 * largest);
  const NativeSplit s = splitNativeEntries(text, 2 * largest);
  EXPECT_EQ(idsOf(s), ids);
  EXPECT_EQ(s.consumed, text.size());
  EXPECT_EQ(s.skipped_bytes, torn.size() + 1);
}

// Logs of random entries, some torn at a random byte (their writer died), some with a forged
// entry (whole, or without its Z) in their request body, fed in random chunks: every complete
// entry is taken once, and no forged one but one whole in what a torn entry left (it cannot be
// told from a real entry written after the torn one). Half the logs are settled at entry ends;
// the others only grow, with a bound that torn entries pass, and are finished.
TEST(ParseHostile, SplitterTakesEveryCompleteEntryOfRandomLogsOnce) {
  std::mt19937 rng(1);
  for (int round = 0; round < 1000; ++round) {
    const bool v3 = rng() % 2 == 1;
    const bool settle = round % 2 == 0;
    auto marker = [&](const std::string& b, char part) {
      return v3 ? "---" + b + "---" + part + "--\n" : "--" + b + "-" + part + "--\n";
    };
    std::vector<std::string> boundaries;
    std::multiset<std::string> expected;
    std::set<std::string> allowed;  // forged entries whole in what a torn entry left
    std::vector<size_t> ends;
    std::string file;
    const int n = 2 + static_cast<int>(rng() % 6);
    for (int i = 0; i < n; ++i) {
      std::string b;
      if (!v3 && !boundaries.empty() && rng() % 3 == 0) {
        b = boundaries[rng() % boundaries.size()];  // mod_security2's may repeat
      } else {
        char hex[9];
        std::snprintf(hex, sizeof hex, "%08x", static_cast<unsigned>(rng()));
        b = hex;
        boundaries.push_back(b);
      }
      const std::string id = "R" + std::to_string(i);
      std::string e = marker(b, 'A') + "[30/Nov/2026:14:00:00 +0000] " + id +
                      " 1.2.3.4 5 6.7.8.9 80\n" + marker(b, 'B') + "GET /" + id +
                      " HTTP/1.1\nHost: h\n\n" + marker(b, 'C');
      for (int k = static_cast<int>(rng() % 4); k > 0; --k) {
        e += "body line " + std::to_string(rng()) + "\n";
      }
      size_t forged_z = 0;  // where the forged entry's Z marker text ends
      if (rng() % 3 == 0) {
        const std::string f = "ffff" + std::to_string(i);
        e += marker(f, 'A') + "[30/Nov/2026:14:00:00 +0000] F" + std::to_string(i) +
             " 6.6.6.6 1 2.2.2.2 80\n";
        if (rng() % 2 == 0) {
          e += marker(f, 'Z');
          forged_z = e.size() - 1;
        }
      }
      e += marker(b, 'H') + "Message: x\n\n" + marker(b, 'Z') + "\n";
      if (rng() % 4 == 0) {
        const size_t cut = 20 + rng() % (e.size() - 40);
        if (forged_z != 0 && cut >= forged_z) allowed.insert("F" + std::to_string(i));
        e.resize(cut);
      } else {
        expected.insert(id);
      }
      file += e;
      ends.push_back(file.size());
    }
    const size_t bound = settle ? 16u << 20 : 1024;
    std::string buffer;
    std::multiset<std::string> got;
    auto split = [&](NativeTail tail) {
      const NativeSplit s = splitNativeEntries(buffer, bound, tail);
      for (const std::string& id : idsOf(s)) got.insert(id);
      buffer.erase(0, s.consumed);
    };
    size_t fed = 0;
    while (fed < file.size()) {
      const size_t k = std::min<size_t>(file.size() - fed, 1 + rng() % 200);
      buffer.append(file, fed, k);
      fed += k;
      split(NativeTail::kGrowing);
      if (settle && std::find(ends.begin(), ends.end(), fed) != ends.end() && rng() % 2 == 0) {
        split(NativeTail::kSettled);
      }
    }
    if (settle) split(NativeTail::kSettled);
    split(NativeTail::kFinished);
    EXPECT_TRUE(buffer.empty()) << "round " << round;
    std::multiset<std::string> real;
    for (const std::string& id : got) {
      if (allowed.count(id) == 0) real.insert(id);
    }
    EXPECT_EQ(real, expected) << "round " << round << "\n" << file;
    if (HasFailure()) break;
  }
}

TEST(ParseHostile, NativeLogWithCrlfLineEnds) {
  // The same log as a Windows writer (ModSecurity for IIS) would end its lines.
  const std::string text = readFixture("modsec2_native.log");
  std::string crlf;
  for (char c : text) {
    if (c == '\n') crlf += '\r';
    crlf += c;
  }
  const NativeSplit lf = splitNativeEntries(text);
  const NativeSplit s = splitNativeEntries(crlf);
  ASSERT_EQ(s.entries.size(), lf.entries.size());
  EXPECT_EQ(s.consumed, crlf.size());
  for (size_t i = 0; i < s.entries.size(); ++i) {
    auto a = parseV2Native(lf.entries[i], ParseContext{});
    auto b = parseV2Native(s.entries[i], ParseContext{});
    ASSERT_TRUE(a.isOk() && b.isOk()) << i;
    EXPECT_EQ(a->unique_id, b->unique_id);
    EXPECT_EQ(a->time_us, b->time_us);
    EXPECT_EQ(a->uri, b->uri);
    EXPECT_EQ(a->status, b->status);
    EXPECT_EQ(a->host, b->host);
    ASSERT_EQ(a->rules.size(), b->rules.size());
    for (size_t k = 0; k < a->rules.size(); ++k) {
      EXPECT_EQ(a->rules[k].id, b->rules[k].id);
      EXPECT_EQ(a->rules[k].tags, b->rules[k].tags);
    }
  }
}

TEST(ParseHostile, RandomBytes) {
  std::mt19937 rng(1234);
  ParseContext ctx;
  ctx.max_rules = 10;
  const std::string alphabet = "{}[]\":,-AZ 0123456789\n\\\xff\xc3";
  for (int i = 0; i < 3000; ++i) {
    std::string s(rng() % 2048, '\0');
    const bool structured = i % 2 == 0;
    for (char& c : s) {
      c = structured ? alphabet[rng() % alphabet.size()] : static_cast<char>(rng());
    }
    if (i % 3 == 0) s.insert(0, "{\"transaction\":");
    if (i % 5 == 0) s.insert(0, "--abcd1234-A--\n");
    parseEverything(s, ctx);
  }
}

TEST(ParseHostile, MutatedRealRecords) {
  std::vector<std::string> records;
  for (const char* f : {"drosera_events.log", "modsec3_json.log", "modsec2_json.log",
                        "modsec2_index.log", "modsec3_index.log"}) {
    for (auto& l : fixtureLines(f)) records.push_back(l);
  }
  for (const char* f : {"modsec2_native.log", "modsec3_native.log"}) {
    const std::string text = readFixture(f);
    for (auto e : splitNativeEntries(text).entries) records.emplace_back(e);
  }
  std::mt19937 rng(99);
  ParseContext ctx;
  for (int i = 0; i < 4000; ++i) {
    std::string s = records[rng() % records.size()];
    const int edits = 1 + static_cast<int>(rng() % 8);
    for (int k = 0; k < edits && !s.empty(); ++k) {
      const size_t at = rng() % s.size();
      switch (rng() % 4) {
        case 0:
          s[at] = static_cast<char>(rng());
          break;
        case 1:
          s.erase(at, 1 + rng() % 16);
          break;
        case 2:
          s.insert(at, std::string(1 + rng() % 4, "\"[]{}\\\n-"[rng() % 8]));
          break;
        default:
          s.insert(at, s.substr(rng() % s.size(), rng() % 64));
          break;
      }
    }
    parseEverything(s, ctx);
  }
}

TEST(ParseHostile, HugeRecordIsRefused) {
  ParseContext ctx;
  ctx.max_record_bytes = 1 << 20;
  std::string huge = "{\"transaction\":{\"unique_id\":\"x\",\"request\":{\"body\":\"" +
                     std::string(2 << 20, 'a') + "\"}}}";
  for (auto r : {parseV3Json(huge, ctx), parseV2Json(huge, ctx), parseRecord(huge, ctx)}) {
    ASSERT_FALSE(r.isOk());
    EXPECT_EQ(r.status().code(), core::Status::Code::kResourceExhausted);
    EXPECT_NE(r.status().message().find("limit 1048576"), std::string::npos);
  }
  const std::string native = "--abcd1234-A--\n" + std::string(2 << 20, 'a') + "\n--abcd1234-Z--\n";
  EXPECT_EQ(parseV2Native(native, ctx).status().code(), core::Status::Code::kResourceExhausted);
  // Below the limit, a big body is kept up to max_body_bytes.
  ctx.max_record_bytes = 4 << 20;
  ctx.max_body_bytes = 1000;
  auto r = parseV3Json(huge, ctx);
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  EXPECT_EQ(r->request_body.size(), 1000u);
}

TEST(ParseHostile, DeepJsonIsRefused) {
  std::string deep = "{\"transaction\":{\"unique_id\":\"x\",\"request\":{\"headers\":";
  for (int i = 0; i < 100000; ++i) deep += "[";
  for (int i = 0; i < 100000; ++i) deep += "]";
  deep += "}}}";
  auto r = parseV3Json(deep, ParseContext{});
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("v3 json: not a JSON record"), std::string::npos);
  // A depth real records never reach, but within the bound: accepted, odd value ignored.
  std::string ok = "{\"transaction\":{\"unique_id\":\"x\",\"request\":{\"headers\":";
  for (int i = 0; i < 50; ++i) ok += "[";
  for (int i = 0; i < 50; ++i) ok += "]";
  ok += "}}}";
  auto r2 = parseV3Json(ok, ParseContext{});
  ASSERT_TRUE(r2.isOk()) << r2.status().toString();
  EXPECT_TRUE(r2->request_headers.empty());
}

// Milliseconds parseV2Native takes for an entry whose part H is `line` 50 times.
int64_t msForPartH(const std::string& line, bool expect_rules) {
  std::string entry =
      "--abcd1234-A--\n[30/Nov/2026:08:24:40 +0000] id 1.2.3.4 1 5.6.7.8 2\n"
      "--abcd1234-H--\n";
  for (int i = 0; i < 50; ++i) entry += line;
  entry += "--abcd1234-Z--\n";
  const auto start = std::chrono::steady_clock::now();
  auto r = parseV2Native(entry, ParseContext{});
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  EXPECT_TRUE(r.isOk()) << r.status().toString();
  if (r.isOk()) {
    EXPECT_EQ(r->rules.empty(), !expect_rules);
  }
  return ms;
}

TEST(ParseHostile, PathologicalMessageLinesStayLinear) {
  // Part H lines made of thousands of well-formed [key "value"] tokens that end in junk: every
  // token is a candidate start of the metadata block. Retrying the chain from each candidate
  // would cost some 60 times one pass over it (what a line whose chain ends in an id costs).
  std::string chain = "Message: Warning.";
  const std::string token = " [tag \"" + std::string(140, 'a') + "\"]";
  while (chain.size() < 60000) chain += token;  // 400 tokens: within the block's bound
  const int64_t one_pass = msForPartH(chain + " [id \"1\"]\n", true);
  const int64_t hostile = msForPartH(chain + " junk\n", false);
  EXPECT_LE(hostile, 5 * one_pass + 20) << "one pass " << one_pass << " ms";
}

// What an attacker writes before the metadata block: v3 puts the ARGS name and the first bytes of
// its value there unescaped, v2 the name. Places that look like the start of a [key "value"]
// token (once enough to use up a bound on the tries), and blocks meant to be taken for the real
// one: a rule of the attacker's choosing, or an anomaly score.
const std::string kLookalikes = [] {
  std::string s;
  for (int i = 0; i < 80; ++i) s += " [a \"x";
  return s;
}();
const std::string kForgedRule = " [file \"x\"] [id \"920100\"] [msg \"forged\"] [severity \"5\"]";
const std::string kForgedScore =
    " [file \"x\"] [id \"949110\"] [msg \"Inbound Anomaly Score Exceeded (Total Score: 999)\"]";
const std::vector<std::string> kHostileNames = {
    "q" + kLookalikes,
    "q" + kForgedRule + kLookalikes,
    "q" + kForgedScore + kLookalikes,
    "q" + kLookalikes + kForgedRule,
};

// Rule 942100's message line as each writer puts it, the ARGS name being `name`.
std::string v3Message(const std::string& name) {
  return "ModSecurity: Warning. Matched \"Operator `DetectSQLi' with parameter `' against variable "
         "`ARGS:" +
         name +
         "' (Value: `1' union select 1-- -' ) [file \"/etc/crs/REQUEST-942.conf\"] [line \"46\"] "
         "[id \"942100\"] [rev \"\"] [msg \"SQL Injection Attack Detected via libinjection\"] "
         "[data \"Matched Data: s&sos found within ARGS:q: x\"] [severity \"2\"] [ver "
         "\"OWASP_CRS/3.3.4\"] [maturity \"0\"] [accuracy \"0\"] [tag \"attack-sqli\"] [hostname "
         "\"10.0.0.1\"] [uri \"/x\"] [unique_id \"UID1\"] [ref \"v8,5\"]";
}
std::string v2Message(const std::string& name) {
  return "Warning. Pattern match \"(?i)union.*?select\" at ARGS:" + name +
         ". [file \"/etc/crs/REQUEST-942.conf\"] [line \"46\"] [id \"942100\"] [msg \"SQL "
         "Injection Attack Detected via libinjection\"] [data \"Matched Data: s&sos found within "
         "ARGS:q: x\"] [severity \"CRITICAL\"] [ver \"OWASP_CRS/3.3.4\"] [tag \"attack-sqli\"]";
}

std::string nativeEntryWithPartH(const std::string& open, const std::string& close,
                                 const std::string& h) {
  auto marker = [&](char part) { return open + "abcd1234" + close + part + "--\n"; };
  return marker('A') + "[30/Nov/2026:14:00:00 +0000] UID1 1.2.3.4 5555 10.0.0.1 80\n" +
         marker('B') + "GET /x HTTP/1.1\nHost: h\n\n" + marker('H') + h + "\n\n" + marker('Z') +
         "\n";
}

std::string v2JsonRecord(const std::string& message) {
  nlohmann::json r = {
      {"transaction",
       {{"time", "30/Nov/2026:14:00:00.123456 +0000"},
        {"transaction_id", "UID1"},
        {"remote_address", "1.2.3.4"},
        {"remote_port", 5555},
        {"local_address", "10.0.0.1"},
        {"local_port", 80}}},
      {"request", {{"request_line", "GET /x HTTP/1.1"}, {"headers", {{"Host", "h"}}}}},
      {"response", {{"status", 403}}},
      {"audit_data", {{"messages", {message}}}},
  };
  return r.dump();
}

// Exactly the real rule, and no score from a forged scoring message.
void expectOnlyTheRealRule(const core::Result<core::Event>& r, const std::string& what) {
  ASSERT_TRUE(r.isOk()) << what << ": " << r.status().toString();
  ASSERT_EQ(r->rules.size(), 1u) << what;
  const core::RuleHit& hit = r->rules[0];
  EXPECT_EQ(hit.id, 942100) << what;
  EXPECT_EQ(hit.message, "SQL Injection Attack Detected via libinjection") << what;
  EXPECT_EQ(hit.severity, 2) << what;
  EXPECT_EQ(hit.file, "/etc/crs/REQUEST-942.conf") << what;
  EXPECT_EQ(hit.line, 46) << what;
  EXPECT_EQ(r->inbound_score, 0) << what;
  EXPECT_TRUE(r->scores.empty()) << what;
}

TEST(ParseHostile, TextBeforeTheMetadataCanNeitherHideNorForgeARule) {
  const ParseContext ctx;
  for (size_t i = 0; i < kHostileNames.size(); ++i) {
    const std::string& name = kHostileNames[i];
    const std::string n = " (name " + std::to_string(i) + ")";
    expectOnlyTheRealRule(parseV2Native(nativeEntryWithPartH("---", "---", v3Message(name)), ctx),
                          "v3 native" + n);
    expectOnlyTheRealRule(
        parseV2Native(nativeEntryWithPartH("--", "-", "Message: " + v2Message(name)), ctx),
        "v2 native" + n);
    expectOnlyTheRealRule(parseV2Json(v2JsonRecord(v2Message(name)), ctx), "v2 json" + n);
  }
}

TEST(ParseHostile, LookalikeTokenStartsStayLinear) {
  // Every lookalike is tried now (no bound on the tries): each must cost a few bytes' reading,
  // so four times the lookalikes cost about four times the time, not sixteen. (Compared with
  // themselves: under the sanitizers a token costs many times a plain byte's scan.)
  auto hostile = [](size_t bytes) {
    std::string many;
    while (many.size() < bytes) many += kLookalikes;
    return msForPartH(v3Message("q" + many) + "\n", true);
  };
  const int64_t small = hostile(15000);
  const int64_t large = hostile(60000);
  EXPECT_LE(large, 8 * small + 20) << "15,000 bytes: " << small << " ms";
}

TEST(ParseHostile, ForgedBlocksInTheDataOrBeforeItLoseWhenTheUriBreaksTheStrictReading) {
  // A raw quote in v3's [uri] leaves the lenient reading from the last [file "..."]: neither the
  // forged blocks before the metadata nor one inside [data] (quotes escaped as \x22) can be it.
  std::string line = v3Message(kHostileNames[1]);
  line.replace(line.find("[data \"") + 7, 0,
               "\\x22] [file \\x22x\\x22] [id \\x22920100\\x22] [severity \\x225\\x22] ");
  line.replace(line.find("[uri \"/x\"]"), 10, "[uri \"/x\" [a \"\"]");
  core::RuleHit hit;
  ASSERT_TRUE(internal::parseRuleMessageText(line, ParseContext{}, hit));
  EXPECT_EQ(hit.id, 942100);
  EXPECT_EQ(hit.severity, 2);
  EXPECT_EQ(hit.file, "/etc/crs/REQUEST-942.conf");
  EXPECT_EQ(hit.message, "SQL Injection Attack Detected via libinjection");
  EXPECT_EQ(hit.data.substr(0, 20), "\"] [file \"x\"] [id \"9");
}

TEST(ParseHostile, BoundsOnCounts) {
  std::string rec = "{\"transaction\":{\"unique_id\":\"x\",\"request\":{\"headers\":{";
  for (int i = 0; i < 1000; ++i) rec += (i ? ",\"h" : "\"h") + std::to_string(i) + "\":\"v\"";
  rec += "}},\"messages\":[";
  for (int i = 0; i < 3000; ++i) {
    rec += (i ? "," : "");
    rec += "{\"message\":\"m\",\"details\":{\"ruleId\":\"942100\",\"tags\":[";
    for (int t = 0; t < 100; ++t) rec += (t ? ",\"t\"" : "\"t\"");
    rec += "]}}";
  }
  rec += "]}}";
  ParseContext ctx;
  auto r = parseV3Json(rec, ctx);
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  EXPECT_EQ(r->request_headers.size(), ctx.max_headers);
  EXPECT_EQ(r->rules.size(), ctx.max_rules);
  EXPECT_EQ(r->rules[0].tags.size(), ctx.max_tags);
}

TEST(ParseHostile, InvalidUtf8InJson) {
  ParseContext ctx;
  // Inside strings: read as Latin-1, whatever the sequence (lone continuation, overlong C0 AF,
  // surrogate ED A0 80, truncated 3-byte sequence at the end of a string).
  const std::string rec =
      "{\"transaction\":{\"unique_id\":\"id\xff\",\"request\":{\"uri\":\"/\x80\xc0\xaf\xed\xa0\x80"
      "\xe2\x82\",\"headers\":{\"X-\xfe\":\"ok \xe2\x82\xac\"}}}}";
  auto r = parseV3Json(rec, ctx);
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  EXPECT_EQ(r->unique_id, "id\u00ff");
  EXPECT_EQ(r->uri, "/\u0080\u00c0\u00af\u00ed\u00a0\u0080\u00e2\u0082");
  ASSERT_EQ(r->request_headers.size(), 1u);
  EXPECT_EQ(r->request_headers[0].name, "X-\u00fe");
  EXPECT_EQ(r->request_headers[0].value, "ok \u20ac");  // valid UTF-8 stays as it is
  EXPECT_EQ(r->raw_record, rec);                        // the record as received
  // Outside strings it is still not JSON.
  auto bad = parseV3Json("{\"transaction\":{\"unique_id\":\"x\"}\xff}", ctx);
  ASSERT_FALSE(bad.isOk());
}

TEST(ParseHostile, DuplicateKeysAndOddTypes) {
  ParseContext ctx;
  ctx.sensor = "s";
  // Duplicate header names (libmodsecurity writes one key per header line), a second
  // "transaction", numbers where strings belong and the reverse.
  const std::string rec =
      R"({"transaction":{"unique_id":"a","client_port":"x","host_port":70000,"request":{"method":5,)"
      R"("http_version":"2","uri":null,"headers":{"host":"first","Host":"second","User-Agent":[1]}},)"
      R"("response":{"http_code":"404"},"messages":[{"details":{"ruleId":942100,"severity":"CRITICAL"}},)"
      R"({"details":{"ruleId":"-5"}},{"details":{"ruleId":"abc"}},7,null]},)"
      R"("transaction":{"unique_id":"b"},"drosera":{"sensor":"","traps":[{"kind":"cookie","rule_id":"12"},{}],)"
      R"("scores":{"inbound_anomaly_score":"9","x":[]},"attacker":{"flagged":"yes"}}})";
  auto r = parseV3Json(rec, ctx);
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  EXPECT_EQ(r->unique_id, "b");
  EXPECT_EQ(r->format, "drosera");
  EXPECT_EQ(r->sensor, "s");  // empty drosera.sensor: the configured name
  EXPECT_EQ(r->host, "first");
  EXPECT_EQ(r->user_agent, "");
  EXPECT_EQ(r->request_headers.size(), 2u);
  EXPECT_EQ(r->src_port, 0);
  EXPECT_EQ(r->dst_port, 0);
  EXPECT_EQ(r->method, "");
  EXPECT_EQ(r->http_version, "2");
  EXPECT_EQ(r->status, 404);
  ASSERT_EQ(r->rules.size(), 1u);
  EXPECT_EQ(r->rules[0].id, 942100);
  EXPECT_EQ(r->rules[0].severity, 2);
  ASSERT_EQ(r->traps.size(), 1u);
  EXPECT_EQ(r->traps[0].rule_id, 12);
  EXPECT_EQ(r->inbound_score, 9);
  EXPECT_FALSE(r->attacker_flagged);
}

// Regression (found by fuzz/v3_json_fuzz.cc, fixed): the JSON parsers kept any response status
// up to a billion ("http_code":2200, -7), where the native parser keeps three digits only; an
// event's status is now an HTTP status or 0 (none) whatever the format.
TEST(ParseHostile, ResponseStatusIsThreeDigitsOrNone) {
  ParseContext ctx;
  ctx.sensor = "s";
  for (const char* code : {"2200", "-7", "99", "1000", "\"2200\"", "1e3"}) {
    const std::string v3 =
        std::string(R"({"transaction":{"unique_id":"a","response":{"http_code":)") + code + "}}}";
    auto r3 = parseV3Json(v3, ctx);
    ASSERT_TRUE(r3.isOk()) << r3.status().toString();
    EXPECT_EQ(r3->status, 0) << code;
    const std::string v2 =
        std::string(R"({"transaction":{"transaction_id":"a"},"response":{"status":)") + code + "}}";
    auto r2 = parseV2Json(v2, ctx);
    ASSERT_TRUE(r2.isOk()) << r2.status().toString();
    EXPECT_EQ(r2->status, 0) << code;
  }
  auto ok = parseV3Json(R"({"transaction":{"unique_id":"a","response":{"http_code":999}}})", ctx);
  ASSERT_TRUE(ok.isOk());
  EXPECT_EQ(ok->status, 999);
}

TEST(ParseHostile, ClearErrors) {
  ParseContext ctx;
  EXPECT_EQ(parseV3Json("", ctx).status().message().substr(0, 26), "v3 json: not a JSON record");
  EXPECT_EQ(parseV3Json("[1,2]", ctx).status().message(), "v3 json: record is not an object");
  EXPECT_EQ(parseV3Json("{\"a\":1}", ctx).status().message(), "v3 json: no transaction object");
  EXPECT_EQ(parseV3Json("{\"transaction\":{}}", ctx).status().message(),
            "v3 json: record has no unique id");
  EXPECT_EQ(parseV2Json("{\"transaction\":{\"time\":\"x\"}}", ctx).status().message(),
            "v2 json: record has no unique id");
  EXPECT_EQ(parseRecord("hello", ctx).status().message(), "record: unknown format");
  EXPECT_EQ(parseV2Native("--abcd1234-A--\n\n--abcd1234-Z--\n", ctx).status().message(),
            "native: no unique id in part A");
  // mlogc names the entry in its index line: that id serves when the record has none.
  ctx.fallback_unique_id = "from-index";
  EXPECT_EQ(parseV2Native("--abcd1234-A--\n\n--abcd1234-Z--\n", ctx)->unique_id, "from-index");
  EXPECT_EQ(parseV2Json("{\"transaction\":{}}", ctx)->unique_id, "from-index");
  EXPECT_EQ(parseV3Json("{\"transaction\":{\"unique_id\":\"own\"}}", ctx)->unique_id, "own");
}

TEST(ParseHostile, IndexLines) {
  const std::string good = fixtureLines("modsec2_index.log")[0];
  ASSERT_TRUE(parseMlogcIndexLine(good).isOk());
  for (const std::string& bad : {
           std::string(),
           std::string(" "),
           std::string("a b c"),
           good.substr(0, good.size() - 10),                  // hash cut
           good.substr(0, good.find(" md5:")) + " md5:xyz ",  // not hex
           std::string(70000, 'a'),
       }) {
    auto r = parseMlogcIndexLine(bad);
    EXPECT_FALSE(r.isOk()) << bad.substr(0, 100);
    EXPECT_FALSE(r.status().message().empty());
  }
  // Quotes and spaces in the request line do not shift the fields read from the right.
  std::string odd = good;
  odd.replace(odd.find("GET /index.html"), 15, "GET /a\\\" 200 5 \\\"x y");
  auto r = parseMlogcIndexLine(odd);
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  EXPECT_EQ(r->unique_id, parseMlogcIndexLine(good)->unique_id);
  EXPECT_EQ(r->size, parseMlogcIndexLine(good)->size);
  EXPECT_EQ(r->status, 200);
}

}  // namespace
}  // namespace drosera::collector
