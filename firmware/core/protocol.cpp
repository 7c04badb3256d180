#include "protocol.h"

#include <cstring>

namespace c2m {

// ---- binary frames ----------------------------------------------------------------------------

static void put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
static void put32(uint8_t* p, uint32_t v) {
  for (int i = 3; i >= 0; --i, v >>= 8) p[i] = static_cast<uint8_t>(v);
}
static uint32_t get32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}

void writeFrameHeader(uint8_t out[kFrameHeaderBytes], uint32_t seq, uint64_t timeMs, uint8_t flags) {
  out[0] = kFrameKind;
  out[1] = flags;
  put16(out + 2, static_cast<uint16_t>(kFrameHeaderBytes));
  put32(out + 4, seq);
  put32(out + 8, static_cast<uint32_t>(timeMs >> 32));
  put32(out + 12, static_cast<uint32_t>(timeMs));
}

static bool bad(std::string* err, const std::string& what) {
  if (err) *err = what;
  return false;
}

bool decodeFrameHeader(const uint8_t* d, size_t len, FrameHeader& out, std::string* err) {
  if (len < kFrameHeaderBytes)
    return bad(err, "binary message of " + std::to_string(len) + " bytes is shorter than the 16-byte frame header");
  if (d[0] != kFrameKind) return bad(err, "unknown binary message kind " + std::to_string(d[0]) + " (expected 1 = frame)");
  size_t headerLen = (size_t(d[2]) << 8) | d[3];
  if (headerLen < kFrameHeaderBytes || headerLen > len)
    return bad(err, "frame header length " + std::to_string(headerLen) + " is invalid for a " + std::to_string(len) + "-byte message");
  // Same test as codec.ts: room for SOI and EOI, and the payload starts with FF D8.
  if (len < headerLen + 4 || d[headerLen] != 0xFF || d[headerLen + 1] != 0xD8)
    return bad(err, "frame payload is not a JPEG (no FF D8 start marker)");
  out.flags = d[1];
  out.seq = get32(d + 4);
  out.time = (uint64_t(get32(d + 8)) << 32) | get32(d + 12);
  out.offset = headerLen;
  return true;
}

// ---- encoding ---------------------------------------------------------------------------------
// Keys are written in the order of docs/protocol.md, which is what makes the bytes exact.

namespace {

struct Obj {
  std::string s = "{";
  bool first = true;
  void key(const char* k) {
    if (!first) s += ',';
    first = false;
    jsonQuote(s, k);
    s += ':';
  }
  Obj& str(const char* k, const std::string& v) { key(k); jsonQuote(s, v); return *this; }
  Obj& i64(const char* k, int64_t v) { key(k); s += std::to_string(static_cast<long long>(v)); return *this; }
  Obj& u64(const char* k, uint64_t v) { key(k); s += std::to_string(static_cast<unsigned long long>(v)); return *this; }
  Obj& boolean(const char* k, bool v) { key(k); s += v ? "true" : "false"; return *this; }
  Obj& json(const char* k, const Json& v) { key(k); v.dumpTo(s); return *this; }
  std::string done() { s += '}'; return std::move(s); }
};

}  // namespace

std::string encode(const Hello& m) {
  Obj o;
  o.str("type", "hello").i64("v", m.v).str("id", m.id);
  if (m.hasToken) o.str("token", m.token);
  if (!m.name.empty()) o.str("name", m.name);
  if (!m.model.empty()) o.str("model", m.model);
  if (!m.fw.empty()) o.str("fw", m.fw);
  if (m.hasCaps) {
    o.key("caps");
    o.s += '[';
    for (size_t i = 0; i < m.caps.size(); ++i) {
      if (i) o.s += ',';
      jsonQuote(o.s, m.caps[i]);
    }
    o.s += ']';
  }
  if (m.hasInfo) o.json("info", m.info);
  return o.done();
}

std::string encode(const MotionMsg& m) {
  Obj o;
  o.str("type", "motion").str("state", m.start ? "start" : "end").u64("time", m.time);
  if (m.hasRegion) {
    o.key("region");
    Obj r;
    r.i64("x", m.region.x).i64("y", m.region.y).i64("w", m.region.w).i64("h", m.region.h);
    o.s += r.done();
  }
  return o.done();
}

std::string encode(const InfoMsg& m) { return Obj().str("type", "info").json("info", m.info).done(); }

std::string encode(const LogMsg& m) { return Obj().str("type", "log").str("level", m.level).str("msg", m.msg).done(); }

std::string encode(const Ack& m) {
  Obj o;
  o.str("type", "ack").i64("id", m.id).boolean("ok", m.ok);
  if (m.ok && m.hasResult) o.json("result", m.result);
  if (!m.ok) o.str("error", m.error.empty() ? std::string("failed") : m.error);
  return o.done();
}

std::string encode(const Welcome& m) {
  return Obj().str("type", "welcome").i64("v", m.v).str("id", m.id).u64("time", m.time).boolean("watching", m.watching).done();
}

std::string encode(const Demand& m) { return Obj().str("type", "demand").boolean("watching", m.watching).done(); }

std::string encode(const Cmd& m) {
  Obj o;
  o.str("type", "cmd").i64("id", m.id).str("name", m.name);
  if (m.hasValue) o.json("value", m.value);
  return o.done();
}

std::string encode(const Bye& m) { return Obj().str("type", "bye").str("reason", m.reason).done(); }

// ---- decoding ---------------------------------------------------------------------------------

const char* msgTypeName(MsgType t) {
  switch (t) {
    case MsgType::Hello: return "hello";
    case MsgType::Motion: return "motion";
    case MsgType::Info: return "info";
    case MsgType::Log: return "log";
    case MsgType::Ack: return "ack";
    case MsgType::Welcome: return "welcome";
    case MsgType::Demand: return "demand";
    case MsgType::Cmd: return "cmd";
    case MsgType::Bye: return "bye";
    default: return "unknown";
  }
}

static MsgType typeOf(const std::string& s) {
  static const MsgType all[] = {MsgType::Hello, MsgType::Motion, MsgType::Info, MsgType::Log, MsgType::Ack,
                                MsgType::Welcome, MsgType::Demand, MsgType::Cmd, MsgType::Bye};
  for (MsgType t : all)
    if (s == msgTypeName(t)) return t;
  return MsgType::Unknown;
}

namespace {

// Field accessors that also check the JSON type; a missing optional field is fine.
const Json* field(const Json& o, const char* k) { return o.get(k); }
bool isStr(const Json* v) { return v && v->isString(); }
bool isInt(const Json* v) { return v && v->isInt(); }
bool isBool(const Json* v) { return v && v->isBool(); }
bool absentOr(const Json* v, bool ok) { return !v || ok; }

bool parseObject(const char* data, size_t len, Json& o, std::string* err) {
  std::string perr;
  if (!Json::parse(data, len, o, &perr)) return bad(err, "text message is not JSON (" + perr + ")");
  if (!o.isObject()) return bad(err, "text message is not a JSON object");
  return true;
}

}  // namespace

bool decodeBridgeText(const char* data, size_t len, BridgeMessage& out, std::string* err) {
  Json o;
  if (!parseObject(data, len, o, err)) return false;
  const Json* type = field(o, "type");
  out.type = isStr(type) ? typeOf(type->asString()) : MsgType::Unknown;
  switch (out.type) {
    case MsgType::Welcome: {
      const Json *v = field(o, "v"), *id = field(o, "id"), *t = field(o, "time"), *w = field(o, "watching");
      if (!isInt(v)) return bad(err, "welcome: \"v\" must be an integer protocol version");
      if (!isStr(id)) return bad(err, "welcome: \"id\" must be a string");
      if (!isInt(t) || t->asInt() < 0) return bad(err, "welcome: \"time\" must be a non-negative integer (Unix ms)");
      if (!isBool(w)) return bad(err, "welcome: \"watching\" must be true or false");
      out.welcome.v = v->asInt();
      out.welcome.id = id->asString();
      out.welcome.time = static_cast<uint64_t>(t->asInt());
      out.welcome.watching = w->asBool();
      return true;
    }
    case MsgType::Demand: {
      const Json* w = field(o, "watching");
      if (!isBool(w)) return bad(err, "demand: \"watching\" must be true or false");
      out.demand.watching = w->asBool();
      return true;
    }
    case MsgType::Cmd: {
      const Json *id = field(o, "id"), *name = field(o, "name"), *value = field(o, "value");
      if (!isInt(id)) return bad(err, "cmd: \"id\" must be an integer");
      if (!isStr(name) || name->asString().empty()) return bad(err, "cmd: \"name\" must be a non-empty string");
      out.cmd.id = id->asInt();
      out.cmd.name = name->asString();
      out.cmd.hasValue = value != nullptr;
      out.cmd.value = value ? *value : Json();
      return true;
    }
    case MsgType::Bye: {
      const Json* r = field(o, "reason");
      if (!absentOr(r, isStr(r))) return bad(err, "bye: \"reason\" must be a string");
      out.bye.reason = r ? r->asString() : std::string();
      return true;
    }
    default:
      out.type = MsgType::Unknown;
      return bad(err, "unknown message type " + (type ? type->dump() : std::string("undefined")));
  }
}

bool decodeCameraText(const char* data, size_t len, CameraMessage& out, std::string* err) {
  Json o;
  if (!parseObject(data, len, o, err)) return false;
  const Json* type = field(o, "type");
  out.type = isStr(type) ? typeOf(type->asString()) : MsgType::Unknown;
  switch (out.type) {
    case MsgType::Hello: {
      Hello& h = out.hello;
      const Json *v = field(o, "v"), *id = field(o, "id"), *token = field(o, "token"), *caps = field(o, "caps"),
                 *info = field(o, "info");
      if (!isInt(v)) return bad(err, "hello: \"v\" must be an integer protocol version");
      if (!isStr(id) || id->asString().empty()) return bad(err, "hello: \"id\" must be a non-empty string");
      if (!absentOr(token, isStr(token))) return bad(err, "hello: \"token\" must be a string");
      bool capsOk = !caps || caps->isArray();
      if (caps && capsOk)
        for (const Json& c : caps->items()) capsOk = capsOk && c.isString();
      if (!capsOk) return bad(err, "hello: \"caps\" must be an array of strings");
      if (!absentOr(info, info && info->isObject())) return bad(err, "hello: \"info\" must be an object");
      for (const char* k : {"name", "model", "fw"}) {
        const Json* s = field(o, k);
        if (!absentOr(s, isStr(s))) return bad(err, std::string("hello: \"") + k + "\" must be a string");
      }
      h = Hello{};
      h.v = v->asInt();
      h.id = id->asString();
      h.hasToken = token != nullptr;
      if (token) h.token = token->asString();
      if (const Json* s = field(o, "name")) h.name = s->asString();
      if (const Json* s = field(o, "model")) h.model = s->asString();
      if (const Json* s = field(o, "fw")) h.fw = s->asString();
      h.hasCaps = caps != nullptr;
      if (caps)
        for (const Json& c : caps->items()) h.caps.push_back(c.asString());
      h.hasInfo = info != nullptr;
      if (info) h.info = *info;
      return true;
    }
    case MsgType::Motion: {
      const Json *state = field(o, "state"), *t = field(o, "time"), *region = field(o, "region");
      if (!isStr(state) || (state->asString() != "start" && state->asString() != "end"))
        return bad(err, "motion: \"state\" must be \"start\" or \"end\"");
      if (!isInt(t) || t->asInt() < 0) return bad(err, "motion: \"time\" must be a non-negative integer (ms)");
      out.motion = MotionMsg{};
      out.motion.start = state->asString() == "start";
      out.motion.time = static_cast<uint64_t>(t->asInt());
      if (region) {
        int vals[4];
        const char* keys[4] = {"x", "y", "w", "h"};
        bool ok = region->isObject();
        for (int i = 0; ok && i < 4; ++i) {
          const Json* c = region->get(keys[i]);
          ok = isInt(c) && c->asInt() >= 0 && c->asInt() <= 1000;
          if (ok) vals[i] = static_cast<int>(c->asInt());
        }
        if (!ok) return bad(err, "motion: \"region\" must be {x,y,w,h} integers 0..1000 (per mille of the frame)");
        out.motion.hasRegion = true;
        Region& r = out.motion.region;
        r.x = vals[0], r.y = vals[1], r.w = vals[2], r.h = vals[3];
      }
      return true;
    }
    case MsgType::Info: {
      const Json* info = field(o, "info");
      if (!info || !info->isObject()) return bad(err, "info: \"info\" must be an object");
      out.info.info = *info;
      return true;
    }
    case MsgType::Log: {
      const Json *level = field(o, "level"), *msg = field(o, "msg");
      bool levelOk = isStr(level);
      if (levelOk) {
        const std::string& l = level->asString();
        levelOk = l == "debug" || l == "info" || l == "warn" || l == "error";
      }
      if (!levelOk) return bad(err, "log: \"level\" must be debug, info, warn or error");
      if (!isStr(msg)) return bad(err, "log: \"msg\" must be a string");
      out.log.level = level->asString();
      out.log.msg = msg->asString();
      return true;
    }
    case MsgType::Ack: {
      const Json *id = field(o, "id"), *ok = field(o, "ok"), *result = field(o, "result"), *error = field(o, "error");
      if (!isInt(id)) return bad(err, "ack: \"id\" must be an integer");
      if (!isBool(ok)) return bad(err, "ack: \"ok\" must be true or false");
      if (!ok->asBool() && !isStr(error)) return bad(err, "ack: a failed ack needs an \"error\" string");
      out.ack = Ack{};
      out.ack.id = id->asInt();
      out.ack.ok = ok->asBool();
      out.ack.hasResult = result != nullptr;
      if (result) out.ack.result = *result;
      if (isStr(error)) out.ack.error = error->asString();
      return true;
    }
    default:
      out.type = MsgType::Unknown;
      return bad(err, "unknown message type " + (type ? type->dump() : std::string("undefined")));
  }
}

}  // namespace c2m
