// The firmware main loop against in-memory fakes and a scripted bridge: what goes on the wire, in
// which order, at which rate. (The host integration test does the same against the real bridge.)
#include <gtest/gtest.h>

#include "app.h"
#include "fakes.h"

using namespace c2m;
using namespace c2m::test;

namespace {

const std::vector<uint8_t> kJpeg = {0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, 'J', 'F', 'I', 'F', 0, 0xFF, 0xD9};

struct FakeCamera : Camera {
  std::vector<Command> applied;
  std::vector<uint8_t> gray = std::vector<uint8_t>(40 * 30, 100);
  int captures = 0, fullCaptures = 0, released = 0;
  bool fail = false;
  bool capture(CameraFrame& f, bool full, std::string& err) override {
    if (fail) return err = "sensor timeout", false;
    ++captures;
    fullCaptures += full;
    f.jpeg = kJpeg.data();
    f.len = kJpeg.size();
    f.width = full ? 1600 : 640;
    f.height = full ? 1200 : 480;
    return true;
  }
  void release(CameraFrame&) override { ++released; }
  bool toGray(const CameraFrame&, std::vector<uint8_t>& g, int& w, int& h) override {
    g = gray;
    w = 40;
    h = 30;
    return true;
  }
  bool apply(const Command& c, std::string& err) override {
    if (c.control == Control::Framesize && c.integer > 15) return err = "unsupported framesize " + c.text, false;
    applied.push_back(c);
    return true;
  }
  std::string sensor() override { return "FAKE"; }
};

struct FakeBoard : Board {
  int lamp = -1, pan = -1, tilt = -1, restarts = 0;
  bool servo = false;
  std::string model() override { return "Fake-Board"; }
  bool hasLamp() override { return true; }
  void setLamp(int p) override { lamp = p; }
  bool hasServo() override { return servo; }
  void setServo(int p, int t) override { pan = p, tilt = t; }
  void restart() override { ++restarts; }
  void addStatus(Json& i) override { i.set("heap", 123456); }
};

struct FakeNet : Network {
  bool up = true;
  bool connected() override { return up; }
  int rssi() override { return -55; }
  std::string ip() override { return "10.0.0.9"; }
};

struct Lines : Logger {
  std::vector<std::string> lines;
  void write(LogLevel, const std::string& m) override { lines.push_back(m); }
  bool has(const std::string& s) const {
    for (auto& l : lines)
      if (l.find(s) != std::string::npos) return true;
    return false;
  }
};

struct AppFixture : ::testing::Test {
  FakeClock clock;
  FakeRandom rnd;
  FakeSocket sock;
  FakeNet net;
  FakeCamera cam;
  FakeBoard board;
  MemStore store;
  Lines logs;
  std::unique_ptr<App> app;

  void SetUp() override {
    Config cfg;
    cfg.url = "ws://127.0.0.1:9090/api/camera";
    cfg.id = "garage";
    cfg.token = "s3cret";
    cfg.name = "Garage";
    app = std::make_unique<App>(AppEnv{clock, rnd, sock, net, cam, board, store, logs}, cfg);
    app->begin();
  }
  /** The scripted bridge answers pings (as a real one does) unless a test wants it silent. */
  bool bridgeAnswersPings = true;
  /** Advance the fake time in 5 ms steps, running the loop. */
  void run(uint64_t ms) {
    for (uint64_t end = clock.now + ms; clock.now < end; clock.now += 5) {
      app->loop();
      if (bridgeAnswersPings && sock.open && clock.now % 5000 == 0) sock.feed(FakeSocket::frame(0xA, ""));
    }
  }
  void connectAndWelcome(bool watching = false) {
    run(5);
    ASSERT_EQ(sock.connects, 1);
    sock.acceptHandshake();
    run(5);
    auto texts = sock.takeTexts();
    ASSERT_EQ(texts.size(), 1u);
    CameraMessage m;
    std::string err;
    ASSERT_TRUE(decodeCameraText(texts[0].data(), texts[0].size(), m, &err)) << err;
    ASSERT_EQ(m.type, MsgType::Hello);
    sock.feed(FakeSocket::frame(1, encode(Welcome{1, "garage", 1763734575000, watching})));
    run(5);
  }
  std::vector<FakeSocket::Sent> binaries() {
    std::vector<FakeSocket::Sent> b;
    for (auto& f : sock.takeFrames())
      if (f.opcode == 2) b.push_back(f);
    return b;
  }
  void cmd(int64_t id, const std::string& name, const Json* value = nullptr) {
    Cmd c;
    c.id = id;
    c.name = name;
    if (value) c.hasValue = true, c.value = *value;
    sock.feed(FakeSocket::frame(1, encode(c)));
    run(5);
  }
};

}  // namespace

TEST_F(AppFixture, HelloFirstWithTokenCapsAndInfoThenNoFramesBeforeWelcome) {
  run(5);
  sock.acceptHandshake();
  run(5);
  auto frames = sock.takeFrames();
  ASSERT_GE(frames.size(), 1u);
  ASSERT_EQ(frames[0].opcode, 1);
  std::string hello(frames[0].payload.begin(), frames[0].payload.end());
  EXPECT_EQ(hello.rfind(R"({"type":"hello","v":1,"id":"garage","token":"s3cret","name":"Garage","model":"Fake-Board","fw":")", 0), 0u)
      << hello;
  EXPECT_NE(hello.find(R"("caps":["lamp","framesize","quality","fps","flip","brightness","contrast","motion","snapshot","restart"])"),
            std::string::npos);
  EXPECT_NE(hello.find(R"("framesize":"VGA")"), std::string::npos);
  run(2000);
  EXPECT_TRUE(binaries().empty()) << "no frames before welcome";
  EXPECT_EQ(cam.captures, 0);
}

TEST_F(AppFixture, IdleRateUntilSomeoneWatchesThenFullRate) {
  connectAndWelcome(false);
  run(10000);
  auto idle = binaries();
  EXPECT_GE(idle.size(), 2u);
  EXPECT_LE(idle.size(), 3u);  // t=0, 5 s, 10 s
  // Frames: seq counts up from 0, flags say synced (time from welcome), the JPEG is untouched.
  FrameHeader h;
  ASSERT_TRUE(decodeFrameHeader(idle[0].payload.data(), idle[0].payload.size(), h));
  EXPECT_EQ(h.seq, 0u);
  EXPECT_EQ(h.flags, kFlagTimeSynced);
  EXPECT_NEAR(static_cast<double>(h.time), 1763734575000.0, 50);
  EXPECT_EQ(std::vector<uint8_t>(idle[0].payload.begin() + 16, idle[0].payload.end()), kJpeg);
  ASSERT_TRUE(decodeFrameHeader(idle[1].payload.data(), idle[1].payload.size(), h));
  EXPECT_EQ(h.seq, 1u);

  sock.feed(FakeSocket::frame(1, encode(Demand{true})));
  run(3000);
  auto full = binaries();
  EXPECT_NEAR(static_cast<double>(full.size()), 30, 2);  // 10 fps
  sock.feed(FakeSocket::frame(1, encode(Demand{false})));
  run(5);
  binaries();
  run(6000);
  EXPECT_LE(binaries().size(), 2u);
}

TEST_F(AppFixture, CommandsAreAppliedAcknowledgedAndAnnounced) {
  connectAndWelcome(true);
  sock.takeFrames();
  Json v100(100);
  cmd(1, "lamp", &v100);
  auto texts = sock.takeTexts();
  ASSERT_GE(texts.size(), 2u);
  EXPECT_EQ(texts[0], R"({"type":"ack","id":1,"ok":true,"result":{"lamp":100}})");
  EXPECT_EQ(texts[1], R"({"type":"info","info":{"lamp":100}})");
  EXPECT_EQ(board.lamp, 100);

  Json vga("VGA");
  cmd(2, "framesize", &vga);
  texts = sock.takeTexts();
  EXPECT_EQ(texts[0], R"({"type":"ack","id":2,"ok":true,"result":{"framesize":"VGA"}})");
  EXPECT_EQ(cam.applied.back().text, "VGA");
  EXPECT_EQ(store.kv["framesize"], "10");

  Json big("QSXGA");
  cmd(3, "framesize", &big);
  texts = sock.takeTexts();
  EXPECT_EQ(texts[0], R"({"type":"ack","id":3,"ok":false,"error":"unsupported framesize QSXGA"})");

  Json q(99);
  cmd(4, "quality", &q);
  EXPECT_EQ(sock.takeTexts()[0], R"({"type":"ack","id":4,"ok":false,"error":"quality: expected an integer from 4 to 63, got 99"})");
  cmd(5, "dance");
  EXPECT_EQ(sock.takeTexts()[0], R"({"type":"ack","id":5,"ok":false,"error":"unknown command \"dance\""})");
  Json p(120);
  cmd(6, "pan", &p);
  EXPECT_EQ(sock.takeTexts()[0], R"({"type":"ack","id":6,"ok":false,"error":"this camera has no pan/tilt servos"})");

  Json raw("quality=20");
  cmd(7, "raw", &raw);
  EXPECT_EQ(sock.takeTexts()[0], R"({"type":"ack","id":7,"ok":true,"result":{"quality":20}})");
  Json idle("idle_ms=2000");
  cmd(8, "raw", &idle);
  EXPECT_EQ(sock.takeTexts()[0], R"({"type":"ack","id":8,"ok":true,"result":{"idle_ms":2000}})");
  Json bad("xclk=20");
  cmd(9, "raw", &bad);
  EXPECT_EQ(sock.takeTexts()[0], R"({"type":"ack","id":9,"ok":false,"error":"unknown raw command \"xclk=20\""})");

  cmd(10, "status");
  std::string status = sock.takeTexts()[0];
  EXPECT_EQ(status.rfind(R"({"type":"ack","id":10,"ok":true,"result":{"rssi":-55,"uptime":)", 0), 0u) << status;
  EXPECT_NE(status.find(R"("quality":20)"), std::string::npos);
  EXPECT_NE(status.find(R"("lamp":100)"), std::string::npos);
}

TEST_F(AppFixture, SnapshotSendsAFullResolutionFrameBeforeTheAck) {
  connectAndWelcome(false);
  run(100);
  sock.takeFrames();
  cmd(11, "snapshot");
  auto frames = sock.takeFrames();
  ASSERT_GE(frames.size(), 2u);
  EXPECT_EQ(frames[0].opcode, 2);
  FrameHeader h;
  ASSERT_TRUE(decodeFrameHeader(frames[0].payload.data(), frames[0].payload.size(), h));
  EXPECT_EQ(h.flags, kFlagTimeSynced | kFlagSnapshot);
  EXPECT_EQ(cam.fullCaptures, 1);
  std::string ack(frames[1].payload.begin(), frames[1].payload.end());
  EXPECT_EQ(ack, R"({"type":"ack","id":11,"ok":true,"result":{"width":1600,"height":1200,"bytes":13}})");
  EXPECT_EQ(cam.captures, cam.released);
}

TEST_F(AppFixture, RestartAcksFirstThenRestarts) {
  connectAndWelcome(false);
  sock.takeFrames();
  cmd(12, "restart");
  EXPECT_EQ(sock.takeTexts()[0], R"({"type":"ack","id":12,"ok":true,"result":{"restart":true}})");
  EXPECT_EQ(board.restarts, 0);
  run(400);
  EXPECT_EQ(board.restarts, 1);
}

TEST_F(AppFixture, MotionStartRaisesTheRateAndReportsTheRegion) {
  connectAndWelcome(false);
  run(2000);
  sock.takeFrames();
  // Something bright appears in the top-left quarter of the picture.
  for (int y = 0; y < 15; ++y)
    for (int x = 0; x < 20; ++x) cam.gray[y * 40 + x] = 250;
  run(1000);
  auto frames = sock.takeFrames();
  std::string motion;
  int binary = 0;
  for (auto& f : frames) {
    if (f.opcode == 1 && motion.empty()) motion.assign(f.payload.begin(), f.payload.end());
    if (f.opcode == 2) ++binary;
  }
  CameraMessage m;
  ASSERT_TRUE(decodeCameraText(motion.data(), motion.size(), m)) << motion;
  ASSERT_EQ(m.type, MsgType::Motion);
  EXPECT_TRUE(m.motion.start);
  ASSERT_TRUE(m.motion.hasRegion);
  // The top-left quarter, to the detector's 4-pixel block grid (40x30 gray frame).
  EXPECT_EQ(m.motion.region.x, 0);
  EXPECT_EQ(m.motion.region.y, 0);
  EXPECT_NEAR(m.motion.region.w, 500, 100);
  EXPECT_NEAR(m.motion.region.h, 500, 134);
  EXPECT_GE(binary, 6) << "full rate while motion is on";
  // The scene stays like this: it becomes background and motion ends.
  bool ended = false;
  for (int i = 0; i < 120 && !ended; ++i) {
    run(500);
    for (auto& t : sock.takeTexts()) ended |= t.find(R"("state":"end")") != std::string::npos;
  }
  EXPECT_TRUE(ended);
}

TEST_F(AppFixture, ReconnectsWithBackoffAndBacksOffFullyOnWrongToken) {
  connectAndWelcome(false);
  sock.peerClosed = true;
  run(10);
  EXPECT_TRUE(logs.has("disconnected: code=1006"));
  sock.refuse = true;
  const int before = sock.connects;
  run(700);
  EXPECT_EQ(sock.connects, before) << "first retry after 1 s -25 % at the earliest";
  run(3000);
  EXPECT_GE(sock.connects, before + 1);
  EXPECT_LE(sock.connects, before + 2);

  // The bridge refuses the token: the next attempt waits the maximum (60 s -25 %).
  sock.refuse = false;
  for (int i = 0; i < 12000 && !sock.open; ++i) run(5);
  ASSERT_TRUE(sock.open);
  sock.acceptHandshake();
  sock.feed(FakeSocket::frame(8, std::string("\x0f\xa1", 2) + "unauthorized"));
  run(10);
  EXPECT_TRUE(logs.has("refused the token"));
  const int afterRefusal = sock.connects;
  run(44000);
  EXPECT_EQ(sock.connects, afterRefusal);
}

TEST_F(AppFixture, KeepalivePingsAndGivesUpOnASilentBridge) {
  connectAndWelcome(false);
  bridgeAnswersPings = false;
  sock.takeFrames();
  run(6000);
  int pings = 0;
  for (auto& f : sock.takeFrames()) pings += f.opcode == 9;
  EXPECT_GE(pings, 1);
  run(30000);  // no pong, nothing at all
  EXPECT_TRUE(logs.has("nothing from the bridge"));
  EXPECT_FALSE(app->ready());
}

TEST_F(AppFixture, NoNtpAndNoWelcomeYetMeansMonotonicTimeWithoutTheSyncedFlag) {
  // Once NTP is synced, frame times come from it (flag set).
  clock.synced = true;
  connectAndWelcome(true);
  run(50);
  auto b = binaries();
  ASSERT_FALSE(b.empty());
  FrameHeader h;
  ASSERT_TRUE(decodeFrameHeader(b[0].payload.data(), b[0].payload.size(), h));
  EXPECT_EQ(h.flags, kFlagTimeSynced);
  EXPECT_NEAR(static_cast<double>(h.time), static_cast<double>(clock.unixBase + clock.now), 60);
}
