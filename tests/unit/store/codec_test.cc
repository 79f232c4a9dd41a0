// The store's row codec: bodies, keys and sets round-trip exactly; truncated or random blobs
// decode to a corruption error, never a crash; compression with and without a dictionary.
#include "store/codec.h"

#include <gtest/gtest.h>

#include <functional>
#include <random>

#include "store/packed.h"

namespace drosera::store::internal {
namespace {

core::Event richEvent() {
  core::Event e;
  e.sensor = std::string("s\0x", 3);
  e.unique_id = "u1";
  e.format = "drosera";
  e.time_us = -5;
  e.src_ip = "203.0.113.9";
  e.src_port = 65535;
  e.dst_port = 443;
  e.tls = true;
  e.method = "GET";
  e.uri = "/a?b=\xff";
  e.user_agent = "UA";
  e.status = -1;
  e.request_headers = {{"Host", "x"}, {"", ""}};
  core::RuleHit r;
  r.id = 942100;
  r.severity = -1;
  r.message = "m";
  r.tags = {"t2", "t1", "t1"};
  r.line = -7;
  e.rules = {r, r};
  e.rules[1].id = 949110;
  e.scores = {{"x", -9}};
  e.inbound_score = 1LL << 40;
  e.categories = {"attack-sqli"};
  core::TrapHit t;
  t.kind = "robots";
  e.traps = {t, t};
  e.attacker_flagged = true;
  e.anomalies = {"a"};
  e.limits_hit = {"l"};
  e.inspected = false;
  e.raw_record = std::string(3000, 'r');
  e.request_body = "body";
  return e;
}

TEST(Codec, BodyRoundTripsEveryField) {
  const core::Event e = richEvent();
  const std::string body = encodeBody(e);
  core::Event back;
  ASSERT_TRUE(decodeBody(body, true, &back).isOk());
  EXPECT_EQ(back.sensor, e.sensor);
  EXPECT_EQ(back.time_us, -5);
  EXPECT_EQ(back.uri, e.uri);
  EXPECT_EQ(back.status, -1);
  ASSERT_EQ(back.rules.size(), 2u);
  EXPECT_EQ(back.rules[0].tags, e.rules[0].tags);
  EXPECT_EQ(back.rules[0].line, -7);
  EXPECT_EQ(back.scores, e.scores);
  EXPECT_EQ(back.inbound_score, 1LL << 40);
  EXPECT_EQ(back.traps.size(), 2u);
  EXPECT_TRUE(back.attacker_flagged);
  EXPECT_FALSE(back.inspected);
  EXPECT_EQ(back.raw_record, e.raw_record);
  EXPECT_EQ(back.request_body, "body");
  core::Event lean;
  lean.raw_record = "stale";
  ASSERT_TRUE(decodeBody(body, false, &lean).isOk());
  EXPECT_EQ(lean.raw_record, "");
  EXPECT_EQ(lean.uri, e.uri);
}

// A reader decodes many events into one (its strings' storage reused): nothing of the event
// decoded before may remain, neither in full nor in the indexed-only decoding.
TEST(Codec, DecodingIntoAUsedEventLeavesNothingOfTheOld) {
  const core::Event big = richEvent();
  core::Event small;
  small.sensor = "s";
  small.unique_id = "u2";
  small.uri = "/";
  small.rules.resize(1);
  small.rules[0].tags = {"only"};
  small.categories = {"c"};
  const std::string big_body = encodeBody(big), small_body = encodeBody(small);
  core::Event reused, fresh;
  ASSERT_TRUE(decodeBody(big_body, true, &reused).isOk());
  ASSERT_TRUE(decodeBody(small_body, true, &reused).isOk());
  EXPECT_EQ(encodeBody(reused), small_body);
  // And back to the larger one: every item again.
  ASSERT_TRUE(decodeBody(big_body, true, &reused).isOk());
  EXPECT_EQ(encodeBody(reused), big_body);
  ASSERT_TRUE(decodeDetail(detailOfBody(big_body), &reused).isOk());
  ASSERT_TRUE(decodeDetail(detailOfBody(small_body), &reused).isOk());
  ASSERT_TRUE(decodeDetail(detailOfBody(small_body), &fresh).isOk());
  EXPECT_EQ(encodeBody(reused), encodeBody(fresh));
  ASSERT_TRUE(decodeDetail(detailOfBody(big_body), &reused).isOk());
  ASSERT_TRUE(decodeDetail(detailOfBody(big_body), &fresh).isOk());
  EXPECT_EQ(encodeBody(reused), encodeBody(fresh));
  EXPECT_EQ(reused.request_headers.size(), 0u);  // indexed only: skipped
  EXPECT_EQ(reused.rules.size(), 2u);
}

TEST(Codec, TruncatedAndRandomBlobsAreCorruptNotCrashes) {
  const std::string body = encodeBody(richEvent());
  for (size_t n = 0; n < body.size(); n += (n < 200 ? 1 : 97)) {
    core::Event e;
    EXPECT_FALSE(decodeBody(std::string_view(body).substr(0, n), true, &e).isOk()) << n;
  }
  std::mt19937_64 rng(1);
  for (int i = 0; i < 2000; ++i) {
    std::string junk(rng() % 300, '\0');
    for (auto& c : junk) c = static_cast<char>(rng());
    if (!junk.empty()) junk[0] = 1;  // a plausible version byte
    core::Event e;
    KeysView k;
    std::vector<std::string> set;
    (void)decodeBody(junk, true, &e);
    (void)decodeKeys(junk, &k);
    (void)decodeSet(junk, &set);
  }
  // A huge count must not allocate its way into trouble.
  std::string liar = "\x01\xff\xff\xff\xff\x0f";
  std::vector<std::string> set;
  EXPECT_FALSE(decodeSet(liar, &set).isOk());
}

// A packed detail comes from a sensor: counts over the parser's limits are refused, at the
// limit taken; and a record without a body is malformed.
TEST(Codec, PackedDetailsKeepTheParsersLimits) {
  auto decodes = [](const core::Event& e) {
    core::Event out;
    return decodeDetail(detailOfBody(encodeBody(e)), &out).isOk();
  };
  const core::Event base = richEvent();
  ASSERT_TRUE(decodes(base));
  struct Case {
    const char* what;
    size_t limit;
    std::function<void(core::Event&, size_t)> grow;
  };
  const std::vector<Case> cases = {
      {"rule hits", kPackedMaxRules, [](core::Event& e, size_t n) { e.rules.resize(n); }},
      {"request headers", kPackedMaxHeaders,
       [](core::Event& e, size_t n) { e.request_headers.resize(n); }},
      {"tags of a hit", kPackedMaxTags,
       [](core::Event& e, size_t n) { e.rules[1].tags.resize(n); }},
      {"scores", kPackedMaxItems, [](core::Event& e, size_t n) { e.scores.resize(n); }},
      {"categories", kPackedMaxItems, [](core::Event& e, size_t n) { e.categories.resize(n); }},
      {"trap hits", kPackedMaxItems, [](core::Event& e, size_t n) { e.traps.resize(n); }},
      {"anomalies", kPackedMaxItems, [](core::Event& e, size_t n) { e.anomalies.resize(n); }},
      {"limits hit", kPackedMaxItems, [](core::Event& e, size_t n) { e.limits_hit.resize(n); }},
  };
  for (const auto& c : cases) {
    core::Event e = base;
    c.grow(e, c.limit);
    EXPECT_TRUE(decodes(e)) << c.what << " at the limit";
    c.grow(e, c.limit + 1);
    EXPECT_FALSE(decodes(e)) << c.what << " over the limit";
    // The store's own bodies keep no such limit.
    core::Event whole;
    EXPECT_TRUE(decodeBody(encodeBody(e), true, &whole).isOk()) << c.what;
  }
  // A kind 1 record with an empty body.
  std::string batch(kPackedMagic);
  batch += std::string(
      "\x01\x02"
      "ab\x00",
      5);
  std::string_view in = batch;
  ASSERT_TRUE(openPackedBatch(&in).isOk());
  PackedRecord rec;
  auto st = nextPackedRecord(&in, &rec);
  ASSERT_FALSE(st.isOk());
  EXPECT_NE(st.message().find("no body"), std::string::npos) << st.message();
}

TEST(Codec, FactsKeysAndFlags) {
  const core::Event e = richEvent();
  const EventFacts f = factsOf(e);
  EXPECT_EQ(f.rule_ids, (std::vector<int>{942100, 949110}));
  EXPECT_EQ(f.tags, (std::vector<std::string_view>{"t1", "t2"}));
  EXPECT_EQ(f.traps, std::vector<std::string_view>{"robots"});
  EXPECT_EQ(f.path, "/a");
  EXPECT_TRUE(f.has_rules);
  EXPECT_TRUE(f.alert);
  EXPECT_TRUE(f.flagged);
  EXPECT_EQ(flagsOf(f), kFlagHasRules | kFlagHasTraps | kFlagAttackerFlagged);
  KeysView k;
  const std::string blob = encodeKeys(f);
  ASSERT_TRUE(decodeKeys(blob, &k).isOk());
  EXPECT_EQ(k.rule_ids, f.rule_ids);
  EXPECT_EQ(k.tags, f.tags);
  EXPECT_EQ(k.categories, f.categories);
  // A scoring rule alone is not evidence.
  core::Event s;
  s.rules.resize(1);
  s.rules[0].id = 949110;
  EXPECT_FALSE(factsOf(s).has_rules);
  EXPECT_FALSE(isAlert(flagsOf(factsOf(s))));
}

TEST(Codec, SetsRoundTrip) {
  const std::vector<std::string> v = {"", std::string("\0", 1), "b"};
  std::vector<std::string> back;
  ASSERT_TRUE(decodeSet(encodeSet(v), &back).isOk());
  EXPECT_EQ(back, v);
}

TEST(Codec, CompressionWithAndWithoutADictionary) {
  Compressor c(1);
  Decompressor d;
  std::string z, out;
  c.compress("tiny", &z);
  EXPECT_EQ(z[0], 0);  // stored
  ASSERT_TRUE(d.decompress(z, &out, nullptr).isOk());
  EXPECT_EQ(out, "tiny");
  std::mt19937_64 rng(2);
  std::string noise(5000, '\0');
  for (auto& ch : noise) ch = static_cast<char>(rng());
  c.compress(noise, &z);
  EXPECT_EQ(z[0], 0);  // incompressible: stored
  ASSERT_TRUE(d.decompress(z, &out, nullptr).isOk());
  EXPECT_EQ(out, noise);

  std::vector<std::string> samples;
  for (int i = 0; i < 500; ++i) {
    core::Event e = richEvent();
    e.unique_id = "id-" + std::to_string(i * 7919);
    e.raw_record = "{\"transaction\":{\"client_ip\":\"203.0.113." + std::to_string(i % 200) +
                   "\",\"n\":" + std::to_string(rng() % 100000) + "}}" + std::string(500, 'x');
    samples.push_back(encodeBody(e));
  }
  auto dict = trainDictionary(samples, 16 * 1024);
  ASSERT_TRUE(dict.has_value());
  const uint32_t id = dictionaryId(*dict);
  EXPECT_NE(id, 0u);
  std::string plain;
  c.compress(samples[42], &plain);
  c.useDictionary(*dict);
  EXPECT_EQ(c.dictionary(), id);
  c.compress(samples[42], &z);
  EXPECT_EQ(z[0], 1);
  EXPECT_LT(z.size(), plain.size());
  // The frame names its dictionary; the loader is asked once.
  int asked = 0;
  auto load = [&](uint32_t want) -> core::Result<std::optional<std::string>> {
    ++asked;
    if (want != id) return std::optional<std::string>();
    return std::optional<std::string>(*dict);
  };
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(d.decompress(z, &out, load).isOk());
    EXPECT_EQ(out, samples[42]);
  }
  EXPECT_EQ(asked, 1);
  // Without it: corruption.
  Decompressor blind;
  auto none = [](uint32_t) -> core::Result<std::optional<std::string>> {
    return std::optional<std::string>();
  };
  EXPECT_EQ(blind.decompress(z, &out, none).code(), core::Status::Code::kCorruption);
  // A damaged frame: corruption.
  std::string bad = z;
  bad.resize(bad.size() / 2);
  EXPECT_FALSE(d.decompress(bad, &out, load).isOk());
  EXPECT_FALSE(d.decompress("", &out, load).isOk());
  EXPECT_FALSE(d.decompress(std::string("\x07xyz"), &out, load).isOk());
}

TEST(Codec, CaseInsensitiveSearchOnBytes) {
  EXPECT_TRUE(containsIgnoreCase("/Index.PHP?x", asciiLower("index.php")));
  EXPECT_TRUE(containsIgnoreCase(std::string("a\0B", 3), std::string("\0b", 2)));
  EXPECT_TRUE(containsIgnoreCase("abc", ""));
  EXPECT_FALSE(containsIgnoreCase("ab", "abc"));
  EXPECT_FALSE(containsIgnoreCase("\xc3\x89", asciiLower("\xc3\xa9")));  // ASCII only
}

TEST(Codec, SearchingManyHaystacksAgreesWithTheSimpleSearch) {
  // IgnoreCaseSearch (Horspool over folded bytes) finds exactly what containsIgnoreCase does,
  // on random bytes from a small alphabet (so that matches and near misses are common), with
  // needles of any case.
  const std::string alphabet("aAbBzZ@[`{\0\x80\xff\xc3", 14);
  std::mt19937_64 rng(3);
  auto random = [&](size_t max_len) {
    std::string s(rng() % (max_len + 1), 'a');
    for (auto& c : s) c = alphabet[rng() % alphabet.size()];
    return s;
  };
  size_t found = 0;
  for (int i = 0; i < 20000; ++i) {
    const std::string needle = random(i % 7);
    const std::string hay = random(40);
    const IgnoreCaseSearch search(needle);
    const bool want = containsIgnoreCase(hay, asciiLower(needle));
    ASSERT_EQ(search.in(hay), want) << "needle of " << needle.size() << ", case " << i;
    found += want ? 1 : 0;
  }
  EXPECT_GT(found, 5000u);
  EXPECT_LT(found, 19000u);
  // '@' '[' '`' '{' sit next to the letters: not folded.
  EXPECT_FALSE(IgnoreCaseSearch("`").in("@"));
  EXPECT_FALSE(IgnoreCaseSearch("{").in("["));
  EXPECT_TRUE(IgnoreCaseSearch("WP-Login").in("/wp-LOGIN.php"));
  EXPECT_TRUE(IgnoreCaseSearch("").in(""));
}

TEST(Codec, KeyPatternsOccurInTheKeysOfTheirEvents) {
  // The substrings a database looks for in the keys blob before the store decodes it.
  core::Event e = richEvent();
  const EventFacts f = factsOf(e);
  const std::string keys = encodeKeys(f);
  for (int id : f.rule_ids) EXPECT_NE(keys.find(keysRulePattern(id)), std::string::npos) << id;
  for (const auto* list : {&f.tags, &f.categories, &f.traps}) {
    for (auto k : *list) EXPECT_NE(keys.find(keysPattern(k)), std::string::npos) << k;
  }
  ASSERT_FALSE(f.rule_ids.empty());
  ASSERT_FALSE(f.traps.empty());
  EXPECT_EQ(keys.find(keysPattern("no-such-tag")), std::string::npos);
  EXPECT_EQ(keys.find(keysRulePattern(123456789)), std::string::npos);
}

}  // namespace
}  // namespace drosera::store::internal
