// cam2mqtt native protocol v1, camera side. The bytes are specified in docs/protocol.md and pinned by
// test/vectors/native-v1.json; firmware/test/protocol_test.cpp checks every vector both ways, exactly
// as the bridge's TypeScript codec (src/sources/native/codec.ts) does, so the two cannot drift apart.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "json.h"

namespace c2m {

constexpr int kProtocolVersion = 1;
constexpr uint8_t kFrameKind = 0x01;
constexpr size_t kFrameHeaderBytes = 16;
constexpr uint8_t kFlagTimeSynced = 0x01;
constexpr uint8_t kFlagSnapshot = 0x02;

// ---- binary frames ----------------------------------------------------------------------------

struct FrameHeader {
  uint8_t flags = 0;
  uint32_t seq = 0;
  /** Capture time in ms: Unix ms if kFlagTimeSynced, else ms since boot. */
  uint64_t time = 0;
  /** Offset of the JPEG inside the message (the header length field). */
  size_t offset = kFrameHeaderBytes;
};

/** Write the 16-byte v1 header; the JPEG follows it in the same WebSocket message. */
void writeFrameHeader(uint8_t out[kFrameHeaderBytes], uint32_t seq, uint64_t timeMs, uint8_t flags);
/** Parse a whole binary message; false (with err) for anything that is not a v1 frame with a JPEG. */
bool decodeFrameHeader(const uint8_t* data, size_t len, FrameHeader& out, std::string* err = nullptr);

// ---- text messages ----------------------------------------------------------------------------

enum class MsgType : uint8_t { Unknown, Hello, Motion, Info, Log, Ack, Welcome, Demand, Cmd, Bye };

struct Region {
  // Per mille of the frame, 0..1000: integers so a small MCU needs no floats.
  int x = 0, y = 0, w = 0, h = 0;
};

// camera -> bridge
struct Hello {
  int64_t v = kProtocolVersion;
  std::string id;
  // Optional fields are omitted when empty / absent (the protocol never sends null).
  bool hasToken = false;
  std::string token;
  std::string name, model, fw;  // empty = omitted
  bool hasCaps = false;
  std::vector<std::string> caps;
  bool hasInfo = false;
  Json info;
};

struct MotionMsg {
  bool start = true;
  uint64_t time = 0;
  bool hasRegion = false;
  Region region;
};

struct InfoMsg {
  Json info = Json::object();
};

struct LogMsg {
  std::string level = "info";  // debug | info | warn | error
  std::string msg;
};

struct Ack {
  int64_t id = 0;
  bool ok = true;
  bool hasResult = false;
  Json result;
  std::string error;  // required (non-empty) when !ok
};

// bridge -> camera
struct Welcome {
  int64_t v = kProtocolVersion;
  std::string id;
  uint64_t time = 0;
  bool watching = false;
};

struct Demand {
  bool watching = false;
};

struct Cmd {
  int64_t id = 0;
  std::string name;
  bool hasValue = false;
  Json value;
};

struct Bye {
  std::string reason;
};

std::string encode(const Hello& m);
std::string encode(const MotionMsg& m);
std::string encode(const InfoMsg& m);
std::string encode(const LogMsg& m);
std::string encode(const Ack& m);
std::string encode(const Welcome& m);
std::string encode(const Demand& m);
std::string encode(const Cmd& m);
std::string encode(const Bye& m);

/** A decoded text message from the bridge; only the member named by `type` is meaningful. */
struct BridgeMessage {
  MsgType type = MsgType::Unknown;
  Welcome welcome;
  Demand demand;
  Cmd cmd;
  Bye bye;
};

/** A decoded text message from a camera (used by tests and by anything that plays the bridge). */
struct CameraMessage {
  MsgType type = MsgType::Unknown;
  Hello hello;
  MotionMsg motion;
  InfoMsg info;
  LogMsg log;
  Ack ack;
};

/**
 * Decode a bridge -> camera text message. Field order does not matter and unknown fields are ignored.
 * Returns false with a readable err for malformed messages and for unknown types (type stays Unknown
 * then, so a caller can tell "newer bridge" from "garbage" and ignore the former).
 */
bool decodeBridgeText(const char* data, size_t len, BridgeMessage& out, std::string* err = nullptr);
/** Decode a camera -> bridge text message with the bridge's validation rules (codec.ts). */
bool decodeCameraText(const char* data, size_t len, CameraMessage& out, std::string* err = nullptr);

const char* msgTypeName(MsgType t);

}  // namespace c2m
