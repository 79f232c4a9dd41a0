// CPU cost of one inspection (the libmodsecurity adapter with the real CRS), per request kind.
// Run pinned to one core: taskset -c 1 build/release/bench/engine_bench
#include <benchmark/benchmark.h>

#include "engine/modsec_inspector.h"

namespace {

using drosera::core::Capture;

Capture makeCapture(const std::string& target, const std::string& body = {}) {
  Capture c;
  c.unique_id = "bench";
  c.client = {"203.0.113.9", 40000};
  c.local = {"192.0.2.1", 8080};
  c.request.method = body.empty() ? "GET" : "POST";
  c.request.target = target;
  c.request.version = "1.1";
  c.request.headers = {
      {"Host", "www.example.com"},
      {"User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"},
      {"Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"},
      {"Accept-Language", "en-US,en;q=0.5"}};
  if (!body.empty()) {
    c.request.headers.push_back({"Content-Type", "application/x-www-form-urlencoded"});
    c.request.headers.push_back({"Content-Length", std::to_string(body.size())});
    c.request.body = body;
  }
  c.response.status = 200;
  c.response.headers = {{"Server", "Apache/2.4.62 (Debian)"},
                        {"Last-Modified", "Mon, 30 Nov 2026 07:32:37 GMT"},
                        {"ETag", "\"1b62-6617969f7596e\""},
                        {"Content-Type", "text/html"},
                        {"Content-Length", "7010"}};
  return c;
}

drosera::engine::Inspector& inspector() {
  static auto* insp = [] {
    auto r = drosera::engine::makeModSecInspector(drosera::engine::EngineOptions{});
    if (!r) {
      std::fprintf(stderr, "%s\n", r.status().message().c_str());
      std::abort();
    }
    return std::move(*r).release();
  }();
  return *insp;
}

void run(benchmark::State& state, const Capture& c) {
  auto& insp = inspector();
  size_t matches = 0;
  for (auto _ : state) {
    auto v = insp.inspect(c);
    matches += v.matches.size();
    benchmark::DoNotOptimize(v);
  }
  state.counters["rules_matched"] = static_cast<double>(matches) / state.iterations();
  state.SetItemsProcessed(state.iterations());
}

void BM_InspectBenignGet(benchmark::State& s) { run(s, makeCapture("/index.html")); }
void BM_InspectSqliGet(benchmark::State& s) {
  run(s, makeCapture("/products.php?id=1%27%20OR%201=1--%20"));
}
void BM_InspectXssPost(benchmark::State& s) {
  run(s, makeCapture("/contact.php", "name=%3Cscript%3Ealert(1)%3C%2Fscript%3E&email=a%40b.c&msg=hello"));
}
void BM_InspectScannerUa(benchmark::State& s) {
  auto c = makeCapture("/");
  c.request.headers[1].value = "Mozilla/5.00 (Nikto/2.1.6) (Evasions:None) (Test:000003)";
  run(s, c);
}

BENCHMARK(BM_InspectBenignGet)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_InspectSqliGet)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_InspectXssPost)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_InspectScannerUa)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
