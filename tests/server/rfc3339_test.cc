#include "server/rfc3339.h"

#include <gtest/gtest.h>

namespace stampede::http {
namespace {

TEST(Rfc3339, FormatsUtcWithMilliseconds) {
  EXPECT_EQ(format_rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339_ms(1'795'000'000'123), "2026-11-18T11:06:40.123Z");
  EXPECT_EQ(format_rfc3339_ms(951'782'400'000), "2000-02-29T00:00:00.000Z");
}

TEST(Rfc3339, ParsesOffsetsFractionsAndRoundTrips) {
  EXPECT_EQ(parse_rfc3339_ms("2026-11-18T11:06:40.123Z"), 1'795'000'000'123);
  EXPECT_EQ(parse_rfc3339_ms("2026-11-18T12:06:40.123+01:00"), 1'795'000'000'123);
  EXPECT_EQ(parse_rfc3339_ms("2026-11-18T11:06:40Z"), 1'795'000'000'000);
  EXPECT_EQ(parse_rfc3339_ms("2026-11-18T11:06:40.5Z"), 1'795'000'000'500);
  for (int64_t t : {0LL, 1LL, 951'782'400'000LL, 4'102'444'799'999LL})
    EXPECT_EQ(parse_rfc3339_ms(format_rfc3339_ms(t)), t);
}

TEST(Rfc3339, RefusesWhatIsNotATimestamp) {
  for (const char* bad : {"", "2026-11-18", "2026-13-01T00:00:00Z", "2026-11-31T00:00:00Z",
                          "2026-11-18T24:00:00Z", "2026-11-18T09:46:40", "2026-11-18 09:46:40Z",
                          "2026-11-18T09:46:40.Z", "2026-11-18T09:46:40Zjunk", "tomorrow"})
    EXPECT_EQ(parse_rfc3339_ms(bad), std::nullopt) << bad;
}

}  // namespace
}  // namespace stampede::http
