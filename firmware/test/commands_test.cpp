// Command validation mirrors the bridge's (src/hub/controls.ts): same names, ranges and lenient forms.
#include <gtest/gtest.h>

#include "commands.h"

using namespace c2m;

static bool parse(const char* name, const Json& v, Command& c, std::string& err) { return parseCommand(name, &v, c, err); }

TEST(Commands, RangesMatchTheBridge) {
  struct Case {
    const char* name;
    Json ok;
    Json bad;
  } cases[] = {
      {"quality", 4, 3},      {"quality", 63, 64},    {"brightness", -2, -3}, {"contrast", 2, 3},
      {"pan", 0, -1},         {"tilt", 180, 181},     {"lamp", 100, 101},     {"lamp", 0, -1},
      {"fps", 1, 0.5},        {"fps", 60, 61},        {"quality", 12, 12.5},  {"pan", "90", "ninety"},
  };
  for (const Case& k : cases) {
    Command c;
    std::string err;
    EXPECT_TRUE(parse(k.name, k.ok, c, err)) << k.name << " " << k.ok.dump() << ": " << err;
    EXPECT_FALSE(parse(k.name, k.bad, c, err)) << k.name << " " << k.bad.dump();
    EXPECT_NE(err.find(k.name), std::string::npos) << "error names the control: " << err;
  }
}

TEST(Commands, ValuesAreNormalised) {
  Command c;
  std::string err;
  ASSERT_TRUE(parse("lamp", true, c, err));
  EXPECT_EQ(c.integer, 100);
  ASSERT_TRUE(parse("lamp", "off", c, err));
  EXPECT_EQ(c.integer, 0);
  ASSERT_TRUE(parse("lamp", "40", c, err));
  EXPECT_EQ(c.integer, 40);
  ASSERT_TRUE(parse("fps", 7.5, c, err));
  EXPECT_DOUBLE_EQ(c.number, 7.5);
  ASSERT_TRUE(parse("vflip", "ON", c, err));
  EXPECT_TRUE(c.flag);
  ASSERT_TRUE(parse("hmirror", 0, c, err));
  EXPECT_FALSE(c.flag);
  EXPECT_FALSE(parse("vflip", 2, c, err));
  ASSERT_TRUE(parse("framesize", "vga", c, err));
  EXPECT_EQ(c.text, "VGA");
  EXPECT_EQ(c.integer, 10);
  ASSERT_TRUE(parseCommand("  SNAPSHOT ", nullptr, c, err));
  EXPECT_EQ(c.control, Control::Snapshot);
}

TEST(Commands, EveryFramesizeOfTheProtocolIsKnown) {
  const char* names = "96X96 QQVGA 128X128 QCIF HQVGA 240X240 QVGA 320X320 CIF HVGA VGA SVGA XGA HD SXGA UXGA FHD P_HD P_3MP QXGA QHD WQXGA P_FHD QSXGA";
  int count = 0;
  std::string all(names);
  size_t pos = 0;
  while (pos < all.size()) {
    size_t sp = all.find(' ', pos);
    std::string n = all.substr(pos, sp - pos);
    EXPECT_EQ(frameSizeIndex(n), count) << n;
    ++count;
    pos = sp == std::string::npos ? all.size() : sp + 1;
  }
  EXPECT_EQ(count, kFrameSizeCount);
  int w, h;
  ASSERT_TRUE(frameSizeDims(frameSizeIndex("VGA"), w, h));
  EXPECT_EQ(w, 640);
  EXPECT_EQ(h, 480);
  ASSERT_TRUE(frameSizeDims(frameSizeIndex("UXGA"), w, h));
  EXPECT_EQ(w, 1600);
  EXPECT_FALSE(frameSizeDims(99, w, h));
}

TEST(Commands, UnknownAndMissingValuesGiveReadableErrors) {
  Command c;
  std::string err;
  EXPECT_FALSE(parseCommand("dance", nullptr, c, err));
  EXPECT_EQ(err, "unknown command \"dance\"");
  EXPECT_FALSE(parseCommand("quality", nullptr, c, err));
  EXPECT_EQ(err, "quality: expected an integer from 4 to 63, got nothing");
  EXPECT_FALSE(parse("framesize", "HUGE", c, err));
  EXPECT_NE(err.find("HUGE"), std::string::npos);
  EXPECT_FALSE(parse("raw", "  ", c, err));
}

TEST(Commands, TextFormUsedByRawAndTheConsole) {
  Command c;
  std::string err;
  ASSERT_TRUE(parseCommandText("quality=10", c, err)) << err;
  EXPECT_EQ(c.control, Control::Quality);
  EXPECT_EQ(c.integer, 10);
  ASSERT_TRUE(parseCommandText(" framesize = svga ", c, err)) << err;
  EXPECT_EQ(c.text, "SVGA");
  ASSERT_TRUE(parseCommandText("status", c, err));
  EXPECT_EQ(c.control, Control::Status);
  EXPECT_FALSE(parseCommandText("xclk=20", c, err));
  EXPECT_EQ(err.rfind("unknown command", 0), 0u);
  EXPECT_FALSE(parseCommandText("raw=status", c, err));
}
