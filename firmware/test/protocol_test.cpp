// The contract with the bridge: every vector of test/vectors/native-v1.json decodes, and encodes back
// to exactly the same bytes, both from the decoded message and from the vector's "message" values.
// The invalid examples are refused with the reason the bridge gives.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "protocol.h"
#include "test_util.h"

using namespace c2m;
using c2m::test::unhex;
using c2m::test::vectorsFile;

namespace {

const Json& vectors() { return *vectorsFile().get("vectors"); }
const Json& invalids() { return *vectorsFile().get("invalid"); }

std::string str(const Json& o, const char* k) { return o.get(k) ? o.get(k)->asString() : std::string(); }

// Build the firmware's structs from the vector's "message" (independently of the byte decoder).
std::string encodeFromMessage(const Json& m) {
  const std::string type = str(m, "type");
  if (type == "hello") {
    Hello h;
    h.v = m.get("v")->asInt();
    h.id = str(m, "id");
    h.hasToken = m.get("token") != nullptr;
    h.token = str(m, "token");
    h.name = str(m, "name");
    h.model = str(m, "model");
    h.fw = str(m, "fw");
    if (const Json* caps = m.get("caps")) {
      h.hasCaps = true;
      for (const Json& c : caps->items()) h.caps.push_back(c.asString());
    }
    if (const Json* info = m.get("info")) {
      h.hasInfo = true;
      h.info = *info;
    }
    return encode(h);
  }
  if (type == "motion") {
    MotionMsg mm;
    mm.start = str(m, "state") == "start";
    mm.time = static_cast<uint64_t>(m.get("time")->asInt());
    if (const Json* r = m.get("region")) {
      mm.hasRegion = true;
      mm.region = Region{int(r->get("x")->asInt()), int(r->get("y")->asInt()), int(r->get("w")->asInt()),
                         int(r->get("h")->asInt())};
    }
    return encode(mm);
  }
  if (type == "info") return encode(InfoMsg{*m.get("info")});
  if (type == "log") return encode(LogMsg{str(m, "level"), str(m, "msg")});
  if (type == "ack") {
    Ack a;
    a.id = m.get("id")->asInt();
    a.ok = m.get("ok")->asBool();
    if (const Json* r = m.get("result")) a.hasResult = true, a.result = *r;
    a.error = str(m, "error");
    return encode(a);
  }
  if (type == "welcome")
    return encode(Welcome{m.get("v")->asInt(), str(m, "id"), static_cast<uint64_t>(m.get("time")->asInt()),
                          m.get("watching")->asBool()});
  if (type == "demand") return encode(Demand{m.get("watching")->asBool()});
  if (type == "cmd") {
    Cmd c;
    c.id = m.get("id")->asInt();
    c.name = str(m, "name");
    if (const Json* v = m.get("value")) c.hasValue = true, c.value = *v;
    return encode(c);
  }
  if (type == "bye") return encode(Bye{str(m, "reason")});
  ADD_FAILURE() << "no encoder for type " << type;
  return {};
}

}  // namespace

TEST(Vectors, FileHasAllMessageTypesAndFrames) {
  std::vector<std::string> seen;
  for (const Json& v : vectors().items()) seen.push_back(str(v, "name"));
  EXPECT_GE(seen.size(), 26u);
  for (const char* need : {"hello", "frame_synced", "frame_snapshot", "motion_start", "motion_end", "info", "log", "ack_ok",
                           "ack_error", "welcome", "demand_on", "cmd_raw", "bye"})
    EXPECT_NE(std::find(seen.begin(), seen.end(), need), seen.end()) << need;
}

TEST(Vectors, BinaryFramesDecodeAndEncodeByteExactly) {
  int checked = 0;
  for (const Json& v : vectors().items()) {
    if (str(v, "kind") != "binary") continue;
    SCOPED_TRACE(str(v, "name"));
    const std::vector<uint8_t> bytes = unhex(str(v, "hex"));
    const Json& m = *v.get("message");
    FrameHeader h;
    std::string err;
    ASSERT_TRUE(decodeFrameHeader(bytes.data(), bytes.size(), h, &err)) << err;
    EXPECT_EQ(h.flags, m.get("flags")->asInt());
    EXPECT_EQ(h.seq, static_cast<uint32_t>(m.get("seq")->asInt()));
    EXPECT_EQ(h.time, static_cast<uint64_t>(m.get("time")->asInt()));
    EXPECT_EQ(h.offset, 16u);
    const std::vector<uint8_t> jpeg = unhex(str(m, "jpeg_hex"));
    EXPECT_EQ(std::vector<uint8_t>(bytes.begin() + static_cast<long>(h.offset), bytes.end()), jpeg);

    // Encode from the decoded header and from the vector's values: both must give the same bytes.
    for (int from = 0; from < 2; ++from) {
      std::vector<uint8_t> out(kFrameHeaderBytes);
      if (from == 0) writeFrameHeader(out.data(), h.seq, h.time, h.flags);
      else writeFrameHeader(out.data(), static_cast<uint32_t>(m.get("seq")->asInt()), static_cast<uint64_t>(m.get("time")->asInt()),
                            static_cast<uint8_t>(m.get("flags")->asInt()));
      out.insert(out.end(), jpeg.begin(), jpeg.end());
      EXPECT_EQ(out, bytes);
    }
    ++checked;
  }
  EXPECT_GE(checked, 3);
}

TEST(Vectors, TextMessagesDecodeAndEncodeByteExactly) {
  int checked = 0;
  for (const Json& v : vectors().items()) {
    if (str(v, "kind") != "text") continue;
    SCOPED_TRACE(str(v, "name"));
    const std::string bytes = c2m::test::bytesToString(unhex(str(v, "hex")));
    ASSERT_EQ(bytes, str(v, "text"));
    const Json& message = *v.get("message");
    std::string reencoded, err;
    if (str(v, "direction") == "camera->bridge") {
      CameraMessage m;
      ASSERT_TRUE(decodeCameraText(bytes.data(), bytes.size(), m, &err)) << err;
      EXPECT_STREQ(msgTypeName(m.type), str(message, "type").c_str());
      switch (m.type) {
        case MsgType::Hello: reencoded = encode(m.hello); break;
        case MsgType::Motion: reencoded = encode(m.motion); break;
        case MsgType::Info: reencoded = encode(m.info); break;
        case MsgType::Log: reencoded = encode(m.log); break;
        case MsgType::Ack: reencoded = encode(m.ack); break;
        default: FAIL() << "unexpected type";
      }
    } else {
      BridgeMessage m;
      ASSERT_TRUE(decodeBridgeText(bytes.data(), bytes.size(), m, &err)) << err;
      EXPECT_STREQ(msgTypeName(m.type), str(message, "type").c_str());
      switch (m.type) {
        case MsgType::Welcome: reencoded = encode(m.welcome); break;
        case MsgType::Demand: reencoded = encode(m.demand); break;
        case MsgType::Cmd: reencoded = encode(m.cmd); break;
        case MsgType::Bye: reencoded = encode(m.bye); break;
        default: FAIL() << "unexpected type";
      }
    }
    EXPECT_EQ(reencoded, bytes);
    EXPECT_EQ(encodeFromMessage(message), bytes);
    // And the decoded values are the vector's values.
    Json parsed;
    ASSERT_TRUE(Json::parse(reencoded, parsed));
    EXPECT_EQ(parsed, message);
    ++checked;
  }
  EXPECT_GE(checked, 23);
}

TEST(Vectors, InvalidMessagesAreRefusedWithTheBridgesReason) {
  int checked = 0;
  for (const Json& v : invalids().items()) {
    SCOPED_TRACE(str(v, "name"));
    const std::vector<uint8_t> bytes = unhex(str(v, "hex"));
    std::string err;
    if (str(v, "kind") == "binary") {
      FrameHeader h;
      EXPECT_FALSE(decodeFrameHeader(bytes.data(), bytes.size(), h, &err));
    } else {
      CameraMessage m;
      EXPECT_FALSE(decodeCameraText(reinterpret_cast<const char*>(bytes.data()), bytes.size(), m, &err));
    }
    EXPECT_NE(err.find(str(v, "error")), std::string::npos) << "got: " << err;
    ++checked;
  }
  EXPECT_GE(checked, 10);
}

TEST(Protocol, DecodersAcceptAnyOrderAndIgnoreUnknownFields) {
  const std::string text = R"({"value":"VGA","extra":{"a":[1,2]},"name":"framesize","id":2,"type":"cmd"})";
  BridgeMessage m;
  std::string err;
  ASSERT_TRUE(decodeBridgeText(text.data(), text.size(), m, &err)) << err;
  ASSERT_EQ(m.type, MsgType::Cmd);
  EXPECT_EQ(encode(m.cmd), R"({"type":"cmd","id":2,"name":"framesize","value":"VGA"})");
}

TEST(Protocol, UnknownBridgeMessageTypeIsReportedAsUnknown) {
  const std::string text = R"({"type":"future","x":1})";
  BridgeMessage m;
  std::string err;
  EXPECT_FALSE(decodeBridgeText(text.data(), text.size(), m, &err));
  EXPECT_EQ(m.type, MsgType::Unknown);
  EXPECT_NE(err.find("unknown message type"), std::string::npos);
}

TEST(Protocol, MalformedBridgeMessagesAreRefused) {
  for (const char* text : {R"({"type":"welcome","v":1,"id":"a","time":-5,"watching":false})",
                           R"({"type":"demand","watching":"yes"})", R"({"type":"cmd","id":"1","name":"lamp"})",
                           R"({"type":"cmd","id":1,"name":""})", R"([1,2])", R"({"type":"bye","reason":5})"}) {
    BridgeMessage m;
    std::string err;
    EXPECT_FALSE(decodeBridgeText(text, strlen(text), m, &err)) << text;
    EXPECT_FALSE(err.empty());
  }
}

TEST(Protocol, FrameHeaderFieldsAreBigEndianAndSeqWraps) {
  uint8_t h[16];
  writeFrameHeader(h, 0xFFFFFFFFu, 0x0102030405060708ull, kFlagTimeSynced | kFlagSnapshot);
  const uint8_t want[16] = {1, 3, 0, 16, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4, 5, 6, 7, 8};
  EXPECT_EQ(0, memcmp(h, want, 16));
  uint32_t seq = 0xFFFFFFFFu;
  ++seq;
  EXPECT_EQ(seq, 0u);
}

TEST(Protocol, FrameWithLongerHeaderIsReadFromItsOffset) {
  // A later protocol version may append header fields: readers skip to the header length.
  std::vector<uint8_t> b = {1, 1, 0, 20, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 1, 0xAA, 0xBB, 0xCC, 0xDD, 0xFF, 0xD8, 0xFF, 0xD9};
  FrameHeader h;
  ASSERT_TRUE(decodeFrameHeader(b.data(), b.size(), h));
  EXPECT_EQ(h.offset, 20u);
  EXPECT_EQ(h.seq, 9u);
}

TEST(Protocol, AckWithoutErrorTextStillSaysSomething) {
  Ack a;
  a.id = 3;
  a.ok = false;
  EXPECT_EQ(encode(a), R"({"type":"ack","id":3,"ok":false,"error":"failed"})");
}
