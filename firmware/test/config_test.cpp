#include <gtest/gtest.h>

#include "config.h"
#include "fakes.h"

using namespace c2m;

using c2m::test::MemStore;

TEST(Config, SlugifyLikeTheBridge) {
  EXPECT_EQ(slugify("Front Door"), "front_door");
  EXPECT_EQ(slugify("  --Garage #2!! "), "garage_2");
  EXPECT_EQ(slugify("cam-1_ok"), "cam-1_ok");
  EXPECT_EQ(slugify(std::string(60, 'a')).size(), 48u);
  EXPECT_TRUE(isValidId("garage"));
  EXPECT_FALSE(isValidId("Garage"));
  EXPECT_FALSE(isValidId(""));
}

TEST(Config, StoredValuesWinOverBuildDefaultsAndCorruptOnesAreIgnored) {
  MemStore st;
  Config defaults;
  defaults.wifiSsid = "build-ssid";
  defaults.url = "ws://build:9090/api/camera";
  defaults.id = "build-id";
  st.kv = {{"ssid", "home"}, {"url", "ws://10.0.0.2:9090/api/camera"}, {"quality", "99"}, {"framesize", "6"},
           {"vflip", "1"}, {"fps", "12.5"}, {"id", "Not A Slug"}};
  Config c = defaults;
  loadConfig(st, c);
  EXPECT_EQ(c.wifiSsid, "home");
  EXPECT_EQ(c.url, "ws://10.0.0.2:9090/api/camera");
  EXPECT_EQ(c.id, "build-id");          // invalid stored id ignored
  EXPECT_EQ(c.camera.quality, 12);      // out of range: default kept
  EXPECT_EQ(c.camera.framesize, 6);     // QVGA
  EXPECT_TRUE(c.camera.vflip);
  EXPECT_DOUBLE_EQ(c.camera.fps, 12.5);
}

TEST(Config, CameraSettingsRoundTrip) {
  MemStore st;
  Config a;
  a.camera.framesize = 15;
  a.camera.quality = 20;
  a.camera.fps = 7.5;
  a.camera.hmirror = true;
  a.camera.brightness = -2;
  a.camera.motionDetection = false;
  a.camera.pan = 10;
  a.camera.idleIntervalMs = 2000;
  ASSERT_TRUE(saveCameraSettings(st, a.camera));
  Config b;
  loadConfig(st, b);
  EXPECT_EQ(b.camera.framesize, 15);
  EXPECT_EQ(b.camera.quality, 20);
  EXPECT_DOUBLE_EQ(b.camera.fps, 7.5);
  EXPECT_TRUE(b.camera.hmirror);
  EXPECT_EQ(b.camera.brightness, -2);
  EXPECT_FALSE(b.camera.motionDetection);
  EXPECT_EQ(b.camera.pan, 10);
  EXPECT_EQ(b.camera.idleIntervalMs, 2000u);
}

TEST(Config, SerialSetupConsole) {
  MemStore st;
  Config c;
  SetupConsole con(c, st);
  EXPECT_NE(con.handle("help").find("set <ssid"), std::string::npos);
  EXPECT_EQ(con.handle("set ssid My Home WiFi"), "ok: ssid = My Home WiFi (not saved yet: save)");
  EXPECT_EQ(con.handle("set password short").rfind("error: password", 0), 0u);
  EXPECT_EQ(con.handle("set password correct horse"), "ok: password set (not saved yet: save)");
  EXPECT_EQ(con.handle("set url ftp://x").rfind("error: url", 0), 0u);
  EXPECT_EQ(con.handle("set url 192.168.1.5:9090"), "ok: url = 192.168.1.5:9090 (not saved yet: save)");
  EXPECT_EQ(con.handle("set id Front Door"), "ok: id = front_door (not saved yet: save)");
  EXPECT_EQ(con.handle("set token s3cret\r\n"), "ok: token set (not saved yet: save)");
  EXPECT_EQ(con.handle("set colour red").rfind("error: unknown setting", 0), 0u);
  std::string shown = con.handle("show");
  EXPECT_NE(shown.find("ssid=My Home WiFi"), std::string::npos);
  EXPECT_EQ(shown.find("correct horse"), std::string::npos) << "secrets are masked";
  EXPECT_EQ(shown.find("s3cret"), std::string::npos);
  EXPECT_TRUE(st.kv.empty());
  EXPECT_EQ(con.handle("save"), "saved; restart to connect");
  EXPECT_EQ(st.kv["ssid"], "My Home WiFi");
  EXPECT_EQ(st.kv["id"], "front_door");
  EXPECT_EQ(st.kv["token"], "s3cret");
  EXPECT_FALSE(con.restartRequested());
  con.handle("restart");
  EXPECT_TRUE(con.restartRequested());
  EXPECT_EQ(configProblem(c, true), "");
}

TEST(Config, ProblemsAreNamedForTheUser) {
  Config c;
  EXPECT_EQ(configProblem(c, true), "no WiFi network (ssid) set");
  EXPECT_EQ(configProblem(c, false), "no bridge URL set");
  c.url = "ws://h:1/x";
  EXPECT_EQ(configProblem(c, false), "no valid camera id set");
  c.id = "x";
  EXPECT_EQ(configProblem(c, false), "");
}
