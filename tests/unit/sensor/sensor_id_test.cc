// The sensor's name when sensor.id is not set: made once from the host name, kept in the data
// folder, and checked when read back like a configured one (it travels in a header).
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "core/config_load.h"
#include "sensor/sensor.h"
#include "temp_dir.h"

namespace drosera::sensor {
namespace {

using testutil::readFile;
using testutil::TempDir;

TEST(SensorId, IsMadeOnceKeptAndAValidName) {
  TempDir dir;
  auto first = loadOrCreateSensorId(dir.path(), "");
  ASSERT_TRUE(first.isOk()) << first.status().message();
  EXPECT_FALSE(core::sensorIdProblem(*first).has_value()) << *first;
  auto again = loadOrCreateSensorId(dir.path(), "");
  ASSERT_TRUE(again.isOk());
  EXPECT_EQ(*again, *first);
  EXPECT_EQ(readFile(dir.file("sensor-id")), *first + "\n");
  // A configured id wins over the file.
  EXPECT_EQ(*loadOrCreateSensorId(dir.path(), "dmz-1"), "dmz-1");
}

TEST(SensorId, AKeptIdThatCannotNameASensorIsAnErrorNamingTheFile) {
  TempDir dir;
  std::ofstream(dir.file("sensor-id")) << "web 01\r\n";
  auto id = loadOrCreateSensorId(dir.path(), "");
  ASSERT_FALSE(id.isOk());
  EXPECT_NE(id.status().message().find(dir.file("sensor-id") + ": a sensor name is letters"),
            std::string::npos)
      << id.status().message();
  EXPECT_NE(id.status().message().find("set sensor.id"), std::string::npos);
}

}  // namespace
}  // namespace drosera::sensor
