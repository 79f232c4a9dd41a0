// Parse cost of one audit record, per format the collector reads: drosera event lines (the hot
// path of ingest), libmodsecurity v3 JSON, mod_security2 v2 JSON, native entries, mlogc index
// lines, and splitting a native serial log. Records are the real ones in tests/data.
// Run pinned to one core: taskset -c 1 build/release/bench/parse_bench
#include <benchmark/benchmark.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "collector/parse.h"

namespace {

using drosera::collector::ParseContext;

std::string readData(const std::string& name) {
  std::ifstream in(std::string(DROSERA_SOURCE_DIR) + "/tests/data/" + name, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<std::string> lines(const std::string& name) {
  std::vector<std::string> out;
  const std::string text = readData(name);
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    if (nl > pos) out.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return out;
}

std::vector<std::string> nativeEntries(const std::string& name) {
  const std::string text = readData(name);
  std::vector<std::string> out;
  for (auto e : drosera::collector::splitNativeEntries(text).entries) out.emplace_back(e);
  return out;
}

// The fixtures' second request is the SQL injection: five to seven rule hits.
constexpr size_t kSqli = 1;
constexpr size_t kNonUtf8 = 5;

template <typename Parse>
void run(benchmark::State& state, const std::string& record, Parse parse) {
  if (record.empty()) {
    state.SkipWithError("fixture missing: run tests/data/make_fixtures.sh");
    return;
  }
  ParseContext ctx;
  ctx.sensor = "bench";
  for (auto _ : state) {
    auto r = parse(record, ctx);
    if (!r.isOk()) {
      state.SkipWithError(r.status().message().c_str());
      return;
    }
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * record.size()));
  state.counters["record_bytes"] = static_cast<double>(record.size());
}

void BM_DroseraLine(benchmark::State& state) {
  run(state, lines("drosera_events.log").at(kSqli), drosera::collector::parseV3Json);
}
BENCHMARK(BM_DroseraLine);

void BM_DroseraLineViaDetect(benchmark::State& state) {
  run(state, lines("drosera_events.log").at(kSqli), drosera::collector::parseRecord);
}
BENCHMARK(BM_DroseraLineViaDetect);

void BM_ModSec3Json(benchmark::State& state) {
  run(state, lines("modsec3_json.log").at(kSqli), drosera::collector::parseV3Json);
}
BENCHMARK(BM_ModSec3Json);

// nginx wrote raw bytes: not UTF-8, so the record is escaped and parsed a second time.
void BM_ModSec3JsonNotUtf8(benchmark::State& state) {
  run(state, lines("modsec3_json.log").at(kNonUtf8), drosera::collector::parseV3Json);
}
BENCHMARK(BM_ModSec3JsonNotUtf8);

void BM_ModSec2Json(benchmark::State& state) {
  run(state, lines("modsec2_json.log").at(kSqli), drosera::collector::parseV2Json);
}
BENCHMARK(BM_ModSec2Json);

void BM_ModSec2Native(benchmark::State& state) {
  run(state, nativeEntries("modsec2_native.log").at(kSqli), drosera::collector::parseV2Native);
}
BENCHMARK(BM_ModSec2Native);

void BM_ModSec3Native(benchmark::State& state) {
  run(state, nativeEntries("modsec3_native.log").at(kSqli), drosera::collector::parseV2Native);
}
BENCHMARK(BM_ModSec3Native);

void BM_MlogcIndexLine(benchmark::State& state) {
  const std::string line = lines("modsec2_index.log").at(kSqli);
  for (auto _ : state) {
    auto r = drosera::collector::parseMlogcIndexLine(line);
    benchmark::DoNotOptimize(r);
  }
  state.counters["record_bytes"] = static_cast<double>(line.size());
}
BENCHMARK(BM_MlogcIndexLine);

// Finding the entries of a native serial log (no parsing), per log of eight entries.
void BM_SplitNativeLog(benchmark::State& state) {
  const std::string text = readData("modsec2_native.log");
  for (auto _ : state) {
    auto s = drosera::collector::splitNativeEntries(text);
    benchmark::DoNotOptimize(s);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_SplitNativeLog);

}  // namespace

BENCHMARK_MAIN();
