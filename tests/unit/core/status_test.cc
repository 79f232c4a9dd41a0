// Status and Result<T>: codes, messages, toString, errno mapping, the allocation-free OK, and
// DROSERA_CHECK crashing loudly.
#include "core/status.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

// Counts every plain operator new in this test binary, so that "OK costs no allocation" can be
// checked. The replacement is process-wide; only the difference across a statement matters.
// GCC pairs malloc/free with the replaced new/delete only after inlining, and then warns.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
namespace {
std::atomic<uint64_t> g_allocations{0};
}  // namespace

void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace drosera::core {
namespace {

TEST(Status, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.isOk());
  EXPECT_TRUE(static_cast<bool>(s));
  EXPECT_EQ(s.code(), Status::Code::kOk);
  EXPECT_EQ(s.message(), "");
  EXPECT_EQ(s.toString(), "OK");
  EXPECT_TRUE(Status::ok().isOk());
}

TEST(Status, OkCostsNoAllocation) {
  const uint64_t before = g_allocations.load();
  {
    Status a = Status::ok();
    Status b = a;             // copy
    Status c = std::move(b);  // move
    Status d;
    d = c;
    EXPECT_TRUE(d.isOk());
    EXPECT_EQ(d.message(), "");
  }
  EXPECT_EQ(g_allocations.load(), before);
}

TEST(Status, ErrorAllocatesSoTheCounterWorks) {
  // Guards the test above: the counting operator new really is in use.
  const uint64_t before = g_allocations.load();
  Status s = Status::internal("a message long enough to defeat the small string buffer");
  EXPECT_GT(g_allocations.load(), before);
  EXPECT_FALSE(s.isOk());
}

struct CodeCase {
  Status status;
  Status::Code code;
  const char* prefix;
};

TEST(Status, FactoriesSetCodeMessageAndName) {
  const std::vector<CodeCase> cases = {
      {Status::invalidArgument("m1"), Status::Code::kInvalidArgument, "invalid argument"},
      {Status::notFound("m2"), Status::Code::kNotFound, "not found"},
      {Status::ioError("m3"), Status::Code::kIoError, "I/O error"},
      {Status::unavailable("m4"), Status::Code::kUnavailable, "unavailable"},
      {Status::corruption("m5"), Status::Code::kCorruption, "corruption"},
      {Status::resourceExhausted("m6"), Status::Code::kResourceExhausted, "resource exhausted"},
      {Status::internal("m7"), Status::Code::kInternal, "internal error"},
  };
  int i = 1;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.prefix);
    EXPECT_FALSE(c.status.isOk());
    EXPECT_FALSE(static_cast<bool>(c.status));
    EXPECT_EQ(c.status.code(), c.code);
    const std::string msg = "m" + std::to_string(i++);
    EXPECT_EQ(c.status.message(), msg);
    EXPECT_EQ(c.status.toString(), std::string(c.prefix) + ": " + msg);
  }
}

TEST(Status, ErrorWithEmptyMessageIsStillAnError) {
  Status s = Status::internal("");
  EXPECT_FALSE(s.isOk());
  EXPECT_EQ(s.code(), Status::Code::kInternal);
  EXPECT_EQ(s.toString(), "internal error: ");
}

TEST(Status, MessageKeepsArbitraryBytes) {
  const std::string bytes("a\0b\xff\n", 5);
  Status s = Status::corruption(bytes);
  EXPECT_EQ(s.message(), bytes);
}

TEST(Status, CopiesAreIndependentValues) {
  Status a = Status::notFound("x");
  Status b = a;
  a = Status::ok();
  EXPECT_TRUE(a.isOk());
  EXPECT_FALSE(b.isOk());
  EXPECT_EQ(b.message(), "x");
  EXPECT_EQ(b.code(), Status::Code::kNotFound);
}

TEST(Status, FromErrnoAppendsStrerror) {
  Status s = Status::fromErrno("cannot open /x", ENOENT);
  EXPECT_EQ(s.code(), Status::Code::kIoError);
  EXPECT_EQ(s.message(), std::string("cannot open /x: ") + std::strerror(ENOENT));
}

TEST(Status, FromErrnoDiskFullIsResourceExhausted) {
  Status s = Status::fromErrno("write", ENOSPC);
  EXPECT_EQ(s.code(), Status::Code::kResourceExhausted);
  EXPECT_EQ(s.message(), std::string("write: ") + std::strerror(ENOSPC));
  EXPECT_EQ(Status::fromErrno("w", EIO).code(), Status::Code::kIoError);
}

TEST(Result, HoldsAValue) {
  Result<int> r(42);
  EXPECT_TRUE(r.isOk());
  EXPECT_TRUE(static_cast<bool>(r));
  EXPECT_EQ(r.value(), 42);
  EXPECT_EQ(*r, 42);
  EXPECT_TRUE(r.status().isOk());
  *r = 7;
  EXPECT_EQ(r.value(), 7);
}

TEST(Result, HoldsAStatus) {
  Result<int> r(Status::unavailable("collector away"));
  EXPECT_FALSE(r.isOk());
  EXPECT_FALSE(static_cast<bool>(r));
  EXPECT_EQ(r.status().code(), Status::Code::kUnavailable);
  EXPECT_EQ(r.status().message(), "collector away");
}

TEST(Result, ArrowAndConstAccess) {
  const Result<std::string> r(std::string("hello"));
  EXPECT_EQ(r->size(), 5u);
  EXPECT_EQ(*r, "hello");
  Result<std::string> m(std::string("x"));
  m->append("y");
  EXPECT_EQ(m.value(), "xy");
}

TEST(Result, MoveOnlyValueCanBeTakenOut) {
  Result<std::unique_ptr<int>> r(std::make_unique<int>(5));
  ASSERT_TRUE(r.isOk());
  std::unique_ptr<int> p = std::move(r).value();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, 5);
}

TEST(Result, FunctionsReturnEitherImplicitly) {
  auto half = [](int x) -> Result<int> {
    if (x % 2) return Status::invalidArgument("odd");
    return x / 2;
  };
  EXPECT_EQ(half(8).value(), 4);
  EXPECT_EQ(half(3).status().message(), "odd");
}

TEST(StatusDeathTest, CheckFailureAbortsWithExpressionAndLocation) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  int accounting = -1;
  EXPECT_DEATH(DROSERA_CHECK(accounting >= 0), "invariant broken: accounting >= 0 at .*status_test.cc");
}

TEST(StatusDeathTest, CheckThatHoldsDoesNothing) {
  int evaluated = 0;
  DROSERA_CHECK(++evaluated == 1);
  EXPECT_EQ(evaluated, 1);  // evaluated exactly once
}

}  // namespace
}  // namespace drosera::core
