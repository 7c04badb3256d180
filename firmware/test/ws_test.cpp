// The RFC 6455 client: handshake, masking, fragmentation, control frames, close codes.
#include <gtest/gtest.h>

#include "fakes.h"
#include "sha1.h"
#include "ws.h"

using namespace c2m;
using c2m::test::FakeRandom;
using c2m::test::FakeSocket;

namespace {

struct Recorder : WsHandler {
  int opens = 0;
  std::vector<std::string> texts;
  std::vector<std::vector<uint8_t>> binaries;
  std::vector<std::pair<uint16_t, std::string>> closes;
  void onWsOpen() override { ++opens; }
  void onWsText(const char* d, size_t n) override { texts.emplace_back(d, n); }
  void onWsBinary(const uint8_t* d, size_t n) override { binaries.emplace_back(d, d + n); }
  void onWsClose(uint16_t code, const std::string& reason) override { closes.emplace_back(code, reason); }
};

struct WsFixture : ::testing::Test {
  FakeSocket sock;
  FakeRandom rnd;
  WsClient ws{sock, rnd};
  Recorder rec;

  void open() {
    Url u;
    std::string err;
    ASSERT_TRUE(parseUrl("ws://127.0.0.1:9090/api/camera", u, err));
    ASSERT_TRUE(ws.connect(u, 0, "test", err)) << err;
    sock.acceptHandshake();
    const int before = rec.opens;
    ws.poll(1, rec);
    ASSERT_EQ(rec.opens, before + 1);
    ASSERT_TRUE(ws.open());
  }
};

}  // namespace

TEST(Sha1, KnownVectorsAndTheRfc6455Example) {
  uint8_t d[20];
  sha1(reinterpret_cast<const uint8_t*>("abc"), 3, d);
  EXPECT_EQ(base64(d, 20), "qZk+NkcGgWq6PiVxeFDCbJzQ2J0=");  // a9993e36 4706816a ...
  std::string key = "dGhlIHNhbXBsZSBub25jZQ==258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  sha1(reinterpret_cast<const uint8_t*>(key.data()), key.size(), d);
  EXPECT_EQ(base64(d, 20), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  std::string million(1000000, 'a');
  sha1(reinterpret_cast<const uint8_t*>(million.data()), million.size(), d);
  EXPECT_EQ(base64(d, 20), "NKqXPNTE2qT2Husr260nMWU0AW8=");  // 34aa973c d4c4daa4 ...
  EXPECT_EQ(base64(reinterpret_cast<const uint8_t*>("ab"), 2), "YWI=");
  EXPECT_EQ(base64(reinterpret_cast<const uint8_t*>("a"), 1), "YQ==");
}

TEST(Url, ForgivingForms) {
  Url u;
  std::string err;
  ASSERT_TRUE(parseUrl("ws://bridge.local:9090/api/camera", u, err));
  EXPECT_EQ(u.host, "bridge.local");
  EXPECT_EQ(u.port, 9090);
  EXPECT_EQ(u.path, "/api/camera");
  EXPECT_FALSE(u.tls);
  ASSERT_TRUE(parseUrl("192.168.1.5", u, err));
  EXPECT_EQ(u.port, 9090);
  EXPECT_EQ(u.path, "/api/camera");
  ASSERT_TRUE(parseUrl("wss://cams.example.org/api/camera", u, err));
  EXPECT_TRUE(u.tls);
  EXPECT_EQ(u.port, 443);
  ASSERT_TRUE(parseUrl("http://10.0.0.2:8080", u, err));
  EXPECT_EQ(u.port, 8080);
  EXPECT_FALSE(u.tls);
  ASSERT_TRUE(parseUrl("ws://[::1]:9000/x", u, err));
  EXPECT_EQ(u.host, "::1");
  EXPECT_EQ(u.port, 9000);
  EXPECT_EQ(u.path, "/x");
  EXPECT_FALSE(parseUrl("ftp://x", u, err));
  EXPECT_FALSE(parseUrl("ws://host:99999/", u, err));
  EXPECT_FALSE(parseUrl("ws://:80/", u, err));
}

TEST_F(WsFixture, HandshakeRequestIsRfc6455) {
  Url u;
  std::string err;
  parseUrl("ws://127.0.0.1:9090/api/camera", u, err);
  ASSERT_TRUE(ws.connect(u, 0, "cam2mqtt-firmware/1.0.0", err));
  std::string req(sock.out.begin(), sock.out.end());
  EXPECT_EQ(req.rfind("GET /api/camera HTTP/1.1\r\n", 0), 0u);
  EXPECT_NE(req.find("\r\nHost: 127.0.0.1:9090\r\n"), std::string::npos);
  EXPECT_NE(req.find("\r\nUpgrade: websocket\r\n"), std::string::npos);
  EXPECT_NE(req.find("\r\nConnection: Upgrade\r\n"), std::string::npos);
  EXPECT_NE(req.find("\r\nSec-WebSocket-Version: 13\r\n"), std::string::npos);
  size_t k = req.find("Sec-WebSocket-Key: ");
  ASSERT_NE(k, std::string::npos);
  EXPECT_EQ(req.find("\r\n", k) - k - 19, 24u);  // base64 of 16 bytes
  EXPECT_EQ(req.substr(req.size() - 4), "\r\n\r\n");
}

TEST_F(WsFixture, WrongAcceptOrStatusFailsTheConnection) {
  Url u;
  std::string err;
  parseUrl("ws://h:1/api/camera", u, err);
  ASSERT_TRUE(ws.connect(u, 0, "t", err));
  sock.acceptHandshake("AAAAAAAAAAAAAAAAAAAAAAAAAAA=");
  ws.poll(1, rec);
  ASSERT_EQ(rec.closes.size(), 1u);
  EXPECT_EQ(rec.closes[0].first, 1006);
  EXPECT_EQ(rec.opens, 0);

  ASSERT_TRUE(ws.connect(u, 0, "t", err));
  sock.out.clear();
  sock.feed("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
  ws.poll(1, rec);
  ASSERT_EQ(rec.closes.size(), 2u);
  EXPECT_NE(rec.closes[1].second.find("404"), std::string::npos);
}

TEST_F(WsFixture, HandshakeTimesOut) {
  Url u;
  std::string err;
  parseUrl("ws://h:1/", u, err);
  ASSERT_TRUE(ws.connect(u, 0, "t", err));
  ws.poll(9000, rec);
  EXPECT_TRUE(rec.closes.empty());
  ws.poll(10001, rec);
  ASSERT_EQ(rec.closes.size(), 1u);
  EXPECT_NE(rec.closes[0].second.find("timed out"), std::string::npos);
}

TEST_F(WsFixture, SendsMaskedFramesAndOneBinaryMessageFromTwoParts) {
  open();
  ASSERT_TRUE(ws.sendText("{\"type\":\"log\"}"));
  std::vector<uint8_t> header(16, 0x11), jpeg(70000, 0x22);  // > 65535: 64-bit length
  jpeg.front() = 0xFF;
  ASSERT_TRUE(ws.sendBinary(header.data(), header.size(), jpeg.data(), jpeg.size()));
  auto frames = sock.takeFrames();
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_TRUE(frames[0].masked);
  EXPECT_TRUE(frames[0].fin);
  EXPECT_EQ(frames[0].opcode, 1);
  EXPECT_EQ(std::string(frames[0].payload.begin(), frames[0].payload.end()), "{\"type\":\"log\"}");
  EXPECT_EQ(frames[1].opcode, 2);
  EXPECT_TRUE(frames[1].masked);
  std::vector<uint8_t> want = header;
  want.insert(want.end(), jpeg.begin(), jpeg.end());
  EXPECT_EQ(frames[1].payload, want);
}

TEST_F(WsFixture, ReassemblesFragmentsAndAnswersPingsInBetween) {
  open();
  std::vector<uint8_t> in;
  auto add = [&](const std::vector<uint8_t>& f) { in.insert(in.end(), f.begin(), f.end()); };
  add(FakeSocket::frame(0x1, "{\"type\":", false));
  add(FakeSocket::frame(0x9, "pi"));  // a ping may come between fragments
  add(FakeSocket::frame(0x0, "\"demand\",", false));
  add(FakeSocket::frame(0x0, "\"watching\":true}", true));
  add(FakeSocket::frame(0x1, std::string(300, 'x')));  // 16-bit length
  // Byte by byte: the parser must cope with any split.
  for (uint8_t b : in) {
    sock.in.push_back(b);
    ws.poll(2, rec);
  }
  ASSERT_EQ(rec.texts.size(), 2u);
  EXPECT_EQ(rec.texts[0], "{\"type\":\"demand\",\"watching\":true}");
  EXPECT_EQ(rec.texts[1], std::string(300, 'x'));
  auto out = sock.takeFrames();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].opcode, 0xA);
  EXPECT_EQ(std::string(out[0].payload.begin(), out[0].payload.end()), "pi");
  EXPECT_TRUE(out[0].masked);
}

TEST_F(WsFixture, ServerCloseIsEchoedAndReportedWithItsCode) {
  open();
  std::string payload = "\x0f\xa1unauthorized";  // 4001
  sock.feed(FakeSocket::frame(0x8, payload));
  ws.poll(3, rec);
  ASSERT_EQ(rec.closes.size(), 1u);
  EXPECT_EQ(rec.closes[0].first, 4001);
  EXPECT_EQ(rec.closes[0].second, "unauthorized");
  auto out = sock.takeFrames();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].opcode, 0x8);
  EXPECT_EQ(out[0].payload, (std::vector<uint8_t>{0x0f, 0xa1}));
  EXPECT_EQ(ws.state(), WsClient::State::Closed);
}

TEST_F(WsFixture, LostTcpIs1006) {
  open();
  sock.peerClosed = true;
  ws.poll(3, rec);
  ASSERT_EQ(rec.closes.size(), 1u);
  EXPECT_EQ(rec.closes[0].first, 1006);
}

TEST_F(WsFixture, ProtocolViolationsCloseWithTheRightCode) {
  open();
  std::vector<uint8_t> masked = {0x81, 0x82, 1, 2, 3, 4, 'a' ^ 1, 'b' ^ 2};
  sock.feed(masked);
  ws.poll(3, rec);
  ASSERT_EQ(rec.closes.size(), 1u);
  EXPECT_EQ(rec.closes[0].first, 1002);

  open();
  ws.setMaxMessageBytes(1000);
  sock.feed(FakeSocket::frame(0x2, std::string(2000, 'x')));
  ws.poll(4, rec);
  ASSERT_EQ(rec.closes.size(), 2u);
  EXPECT_EQ(rec.closes[1].first, 1009);
  auto out = sock.takeFrames();
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.back().opcode, 0x8);
}

TEST_F(WsFixture, ClientCloseWaitsForTheEchoOrTimesOut) {
  open();
  ws.close(1000, "bye", 10);
  EXPECT_EQ(ws.state(), WsClient::State::Closing);
  auto out = sock.takeFrames();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].opcode, 0x8);
  ws.poll(100, rec);
  EXPECT_TRUE(rec.closes.empty());
  ws.poll(2011, rec);
  ASSERT_EQ(rec.closes.size(), 1u);
  EXPECT_EQ(rec.closes[0].first, 1000);
}
