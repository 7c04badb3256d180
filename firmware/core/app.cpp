#include "app.h"

#include <algorithm>
#include <cstdio>

namespace c2m {

const char* logLevelName(LogLevel l) {
  switch (l) {
    case LogLevel::Debug: return "debug";
    case LogLevel::Info: return "info";
    case LogLevel::Warn: return "warn";
    default: return "error";
  }
}

namespace {

Json obj1(const char* key, Json value) {
  Json o = Json::object();
  o.set(key, std::move(value));
  return o;
}

/** Motion detection looks at this many frames per second at most: decoding costs ~40 ms on an ESP32. */
constexpr uint32_t kMotionIntervalMs = 250;

}  // namespace

App::App(AppEnv env, Config cfg, AppTiming timing)
    : env_(env), cfg_(std::move(cfg)), timing_(timing), ws_(env.socket, env.random), backoff_(timing.backoff) {}

void App::log(LogLevel level, const std::string& msg) { env_.logger.write(level, msg); }

void App::report(LogLevel level, const std::string& msg) {
  log(level, msg);
  if (!ready_) return;
  LogMsg m;
  m.level = logLevelName(level);
  m.msg = msg;
  sendText(encode(m));
}

void App::begin() {
  std::string err;
  urlOk_ = parseUrl(cfg_.url, url_, err);
  if (!urlOk_) log(LogLevel::Error, "bridge URL \"" + cfg_.url + "\": " + err);
  if (!isValidId(cfg_.id)) log(LogLevel::Error, "camera id \"" + cfg_.id + "\" is not valid (a-z 0-9 _ -, 1-48 chars)");

  // Bring the sensor to the stored settings; a failure (e.g. a frame size the sensor lacks) is logged
  // and the sensor's own value stays.
  const CameraSettings& s = cfg_.camera;
  Json value;
  auto apply = [&](const char* name, Json v) {
    Command c;
    std::string e;
    if (parseCommand(name, &v, c, e) && env_.camera.apply(c, e)) return;
    log(LogLevel::Warn, std::string("could not apply stored ") + name + ": " + e);
  };
  apply("framesize", Json(kFrameSizes[s.framesize]));
  apply("quality", Json(s.quality));
  apply("vflip", Json(s.vflip));
  apply("hmirror", Json(s.hmirror));
  apply("brightness", Json(s.brightness));
  apply("contrast", Json(s.contrast));
  if (env_.board.hasServo()) env_.board.setServo(s.pan, s.tilt);
  if (env_.board.hasLamp()) env_.board.setLamp(0);
  rate_.setFps(s.fps);
  rate_.setIdleInterval(s.idleIntervalMs);
  rate_.setMotionDetection(s.motionDetection);
  log(LogLevel::Info, std::string("cam2mqtt firmware ") + C2M_FIRMWARE_VERSION + " on " + env_.board.model() + ", camera id " +
                          cfg_.id + ", bridge " + cfg_.url);
}

uint32_t App::loop() {
  const uint64_t now = env_.clock.millis();
  env_.board.poll(now);
  env_.network.poll(now);

  if (restartAt_ && now >= restartAt_) {
    log(LogLevel::Warn, "restarting (restart command)");
    ws_.close(1001, "restarting", now);
    env_.board.restart();
    restartAt_ = 0;
  }

  const bool up = env_.network.connected();
  if (up != wifiUp_) {
    wifiUp_ = up;
    log(up ? LogLevel::Info : LogLevel::Warn, up ? "network up, ip " + env_.network.ip() : std::string("network down"));
    if (!up) ws_.abort("network down");
  }

  ws_.poll(now, *this);

  if (ws_.state() == WsClient::State::Closed && up && urlOk_ && now >= nextAttempt_) connect(now);

  if (ws_.open()) {
    if (!ready_ && now - helloAt_ >= timing_.welcomeTimeoutMs) {
      ws_.close(1000, "no welcome", now);
    } else if (now - ws_.lastReceivedMs() >= timing_.silenceTimeoutMs) {
      ws_.abort("nothing from the bridge for " + std::to_string(timing_.silenceTimeoutMs / 1000) + " s");
    } else {
      if (now - lastPing_ >= timing_.pingIntervalMs) {
        ws_.sendPing();
        lastPing_ = now;
      }
      if (ready_ && now - lastInfo_ >= timing_.infoIntervalMs) {
        lastInfo_ = now;
        sendInfo(info());
      }
    }
  }

  captureAndSend(now);

  // Sleep until the next capture, but wake often enough to answer commands promptly.
  return ready_ ? std::min<uint32_t>(rate_.msUntilCapture(env_.clock.millis(), 20), 20) : 20;
}

void App::shutdown() {
  stopping_ = true;
  const uint64_t start = env_.clock.millis();
  ws_.close(1001, "camera shutting down", start);
  while (ws_.state() != WsClient::State::Closed && env_.clock.millis() - start < 1000) ws_.poll(env_.clock.millis(), *this);
}

void App::connect(uint64_t now) {
  log(LogLevel::Info, "connecting to " + std::string(url_.tls ? "wss://" : "ws://") + url_.host + ":" +
                          std::to_string(url_.port) + url_.path + " (attempt " + std::to_string(backoff_.attempt() + 1) + ")");
  std::string err;
  if (!ws_.connect(url_, now, std::string("cam2mqtt-firmware/") + C2M_FIRMWARE_VERSION, err)) onWsClose(1006, err);
}

// ---- WebSocket events ---------------------------------------------------------------------------

void App::onWsOpen() {
  const uint64_t now = env_.clock.millis();
  helloAt_ = now;
  lastPing_ = now;
  sendText(encode(makeHello()));
  log(LogLevel::Debug, "sent hello as " + cfg_.id);
}

void App::onWsText(const char* data, size_t len) {
  BridgeMessage m;
  std::string err;
  if (!decodeBridgeText(data, len, m, &err)) {
    // An unknown type is a newer bridge talking: ignore it. Anything else is worth a warning.
    log(m.type == MsgType::Unknown ? LogLevel::Debug : LogLevel::Warn, "ignoring message from the bridge: " + err);
    return;
  }
  const uint64_t now = env_.clock.millis();
  switch (m.type) {
    case MsgType::Welcome: {
      const uint32_t attempts = backoff_.attempt();
      ready_ = true;
      backoff_.connected(now);
      uint64_t unixNow;
      if (!env_.clock.unixMs(unixNow)) {
        haveBridgeTime_ = true;
        welcomeUnix_ = m.welcome.time;
        welcomeMono_ = now;
      }
      // A fresh session: the bridge starts with motion off, and the old background may be stale.
      motion_.reset();
      rate_.setMotion(false);
      rate_.setWatching(m.welcome.watching);
      rate_.sendNext();
      lastInfo_ = now;
      log(LogLevel::Info, "welcome: registered as " + m.welcome.id + ", watching=" + (m.welcome.watching ? "true" : "false"));
      if (m.welcome.id != cfg_.id) log(LogLevel::Warn, "the bridge registered this camera as \"" + m.welcome.id + "\"");
      if (attempts > 1 || lastCloseCode_ != 0) {
        report(LogLevel::Info, "reconnected after " + std::to_string(attempts) + " attempt(s), last close code " +
                                   std::to_string(lastCloseCode_));
      }
      break;
    }
    case MsgType::Demand:
      rate_.setWatching(m.demand.watching);
      log(LogLevel::Info, std::string("demand: watching=") + (m.demand.watching ? "true" : "false"));
      break;
    case MsgType::Cmd:
      handleCmd(m.cmd);
      break;
    case MsgType::Bye:
      log(LogLevel::Info, "bridge says bye: " + m.bye.reason);
      break;
    default:
      break;
  }
}

void App::onWsBinary(const uint8_t* data, size_t len) {
  (void)data;
  log(LogLevel::Debug, "ignoring a binary message of " + std::to_string(len) + " bytes from the bridge");
}

void App::onWsClose(uint16_t code, const std::string& reason) {
  const uint64_t now = env_.clock.millis();
  ready_ = false;
  if (stopping_) return;
  lastCloseCode_ = code;
  rate_.setMotion(false);
  const uint32_t delay = backoff_.nextDelay(now, code, env_.random.next());
  nextAttempt_ = now + delay;
  log(LogLevel::Warn, "disconnected: code=" + std::to_string(code) + " (" + reason + "); reconnecting in " +
                          std::to_string(delay) + " ms (attempt " + std::to_string(backoff_.attempt()) + ")");
  if (code == 4001) log(LogLevel::Error, "the bridge refused the token: check the token for \"" + cfg_.id + "\"");
  if (code == 4003) log(LogLevel::Error, "the bridge does not know camera \"" + cfg_.id + "\" (allow_unknown_cameras is off)");
  if (code == 4004) log(LogLevel::Warn, "another connection took over camera id \"" + cfg_.id + "\": two cameras with one id?");
}

// ---- frames and motion --------------------------------------------------------------------------

uint64_t App::wireTime(uint64_t monoMs, uint8_t& flags) {
  uint64_t unixNow;
  if (env_.clock.unixMs(unixNow)) {
    flags |= kFlagTimeSynced;
    return unixNow - (env_.clock.millis() - monoMs);
  }
  if (haveBridgeTime_) {
    flags |= kFlagTimeSynced;
    return welcomeUnix_ + (monoMs - welcomeMono_);
  }
  return monoMs;
}

bool App::sendFrame(const CameraFrame& f, uint64_t monoMs, uint8_t extraFlags) {
  uint8_t flags = extraFlags;
  uint64_t t = wireTime(monoMs, flags);
  uint8_t header[kFrameHeaderBytes];
  writeFrameHeader(header, seq_, t, flags);
  if (!ws_.sendBinary(header, sizeof header, f.jpeg, f.len)) return false;
  ++seq_;  // uint32: wraps to 0 after 4294967295, as the protocol says
  ++framesSent_;
  return true;
}

void App::captureAndSend(uint64_t now) {
  if (!ready_ || !rate_.captureDue(now)) return;
  CameraFrame f;
  std::string err;
  if (!env_.camera.capture(f, false, err)) {
    if (lastCaptureError_ == 0 || now - lastCaptureError_ >= 10000) {
      lastCaptureError_ = now;
      report(LogLevel::Error, "capture failed: " + err);
    }
    rate_.onCapture(now);  // keep the cadence; do not retry in a tight loop
    return;
  }
  if (cfg_.camera.motionDetection && (lastMotionCheck_ == 0 || now - lastMotionCheck_ >= kMotionIntervalMs)) {
    lastMotionCheck_ = now;
    int w = 0, h = 0;
    if (env_.camera.toGray(f, gray_, w, h)) {
      MotionEvent ev = motion_.feed(gray_.data(), w, h, now);
      if (ev.kind == MotionEvent::Start) setMotion(true, &ev.region, now);
      else if (ev.kind == MotionEvent::End) setMotion(false, nullptr, now);
    }
  }
  if (rate_.onCapture(now)) sendFrame(f, now, 0);
  env_.camera.release(f);
}

void App::setMotion(bool on, const Region* region, uint64_t now) {
  rate_.setMotion(on);
  MotionMsg m;
  m.start = on;
  uint8_t flags = 0;
  m.time = wireTime(now, flags);
  if (region) {
    m.hasRegion = true;
    m.region = *region;
  }
  if (ready_) sendText(encode(m));
  char buf[96];
  if (region)
    snprintf(buf, sizeof buf, "motion start: %u per mille changed, region x=%d y=%d w=%d h=%d", motion_.ratio(), region->x,
             region->y, region->w, region->h);
  else
    snprintf(buf, sizeof buf, "motion %s", on ? "start" : "end");
  log(LogLevel::Info, buf);
}

void App::sendText(const std::string& text) {
  if (!text.empty()) ws_.sendText(text);
}

void App::sendInfo(const Json& changes) {
  InfoMsg m;
  m.info = changes;
  sendText(encode(m));
}

// ---- commands -----------------------------------------------------------------------------------

void App::handleCmd(const Cmd& cmd) {
  Command c;
  std::string err;
  Json result;
  bool ok = parseCommand(cmd.name, cmd.hasValue ? &cmd.value : nullptr, c, err) && execute(c, result, err);
  Ack a;
  a.id = cmd.id;
  a.ok = ok;
  a.hasResult = ok && !result.isNull();
  a.result = result;
  a.error = err;
  sendText(encode(a));
  log(ok ? LogLevel::Info : LogLevel::Warn, "cmd #" + std::to_string(cmd.id) + " " + cmd.name +
                                                (cmd.hasValue ? " " + cmd.value.dump() : std::string()) + " -> " +
                                                (ok ? "ok " + result.dump() : "error: " + err));
  // Settings changes also go out as info so that every viewer sees them (docs/protocol.md).
  if (ok && result.isObject() && c.control != Control::Status && c.control != Control::Snapshot &&
      c.control != Control::Restart)
    sendInfo(result);
}

bool App::execute(const Command& c, Json& result, std::string& err) {
  CameraSettings& s = cfg_.camera;
  switch (c.control) {
    case Control::Lamp:
      if (!env_.board.hasLamp()) return err = "this camera has no lamp (flash LED)", false;
      env_.board.setLamp(c.integer);
      lamp_ = c.integer;
      result = obj1("lamp", lamp_);
      return true;
    case Control::Framesize:
    case Control::Quality:
    case Control::Vflip:
    case Control::Hmirror:
    case Control::Brightness:
    case Control::Contrast:
      if (!env_.camera.apply(c, err)) return false;
      if (c.control == Control::Framesize) s.framesize = c.integer, result = obj1("framesize", c.text);
      if (c.control == Control::Quality) s.quality = c.integer, result = obj1("quality", c.integer);
      if (c.control == Control::Vflip) s.vflip = c.flag, result = obj1("vflip", c.flag);
      if (c.control == Control::Hmirror) s.hmirror = c.flag, result = obj1("hmirror", c.flag);
      if (c.control == Control::Brightness) s.brightness = c.integer, result = obj1("brightness", c.integer);
      if (c.control == Control::Contrast) s.contrast = c.integer, result = obj1("contrast", c.integer);
      if (c.control != Control::Quality) motion_.relearn();  // the picture changed, not the scene
      persist();
      return true;
    case Control::Fps:
      s.fps = c.number;
      rate_.setFps(c.number);
      persist();
      result = obj1("fps", c.number);
      return true;
    case Control::Pause:
      paused_ = c.flag;
      rate_.setPaused(c.flag);
      result = obj1("pause", c.flag);
      return true;
    case Control::MotionDetection:
      s.motionDetection = c.flag;
      rate_.setMotionDetection(c.flag);
      if (!c.flag && motion_.active()) setMotion(false, nullptr, env_.clock.millis());
      if (!c.flag) motion_.reset();
      persist();
      result = obj1("motion_detection", c.flag);
      return true;
    case Control::Pan:
    case Control::Tilt:
      if (!env_.board.hasServo()) return err = "this camera has no pan/tilt servos", false;
      (c.control == Control::Pan ? s.pan : s.tilt) = c.integer;
      env_.board.setServo(s.pan, s.tilt);
      persist();
      result = obj1(c.control == Control::Pan ? "pan" : "tilt", c.integer);
      return true;
    case Control::Snapshot: {
      CameraFrame f;
      const uint64_t now = env_.clock.millis();
      if (!env_.camera.capture(f, true, err)) return false;
      bool sent = sendFrame(f, now, kFlagSnapshot);
      result = Json::object();
      result.set("width", f.width);
      result.set("height", f.height);
      result.set("bytes", static_cast<long long>(f.len));
      env_.camera.release(f);
      if (!sent) return err = "could not send the snapshot", false;
      return true;
    }
    case Control::Restart:
      restartAt_ = env_.clock.millis() + 300;  // let the ack go out first
      result = obj1("restart", true);
      return true;
    case Control::Status:
      result = info();
      return true;
    case Control::Raw:
      return executeRaw(c.text, result, err);
  }
  return err = "unsupported command", false;
}

bool App::executeRaw(const std::string& text, Json& result, std::string& err) {
  Command c;
  std::string cmdErr;
  if (parseCommandText(text, c, cmdErr)) return execute(c, result, err);
  size_t eq = text.find('=');
  std::string key = text.substr(0, eq);
  std::string value = eq == std::string::npos ? std::string() : text.substr(eq + 1);
  if (cmdErr.rfind("unknown command", 0) != 0) return err = cmdErr, false;  // a control with a bad value

  auto number = [&](long lo, long hi, long& out) {
    char* end = nullptr;
    out = strtol(value.c_str(), &end, 10);
    if (value.empty() || !end || *end || out < lo || out > hi) {
      err = key + ": expected an integer from " + std::to_string(lo) + " to " + std::to_string(hi);
      return false;
    }
    return true;
  };
  long n;
  MotionConfig& mc = motion_.config();
  if (key == "idle_ms") {
    if (!number(200, 3600000, n)) return false;
    cfg_.camera.idleIntervalMs = static_cast<uint32_t>(n);
    rate_.setIdleInterval(static_cast<uint32_t>(n));
    persist();
  } else if (key == "motion_threshold") {
    if (!number(1, 255, n)) return false;
    mc.pixelThreshold = static_cast<uint8_t>(n);
  } else if (key == "motion_start") {
    if (!number(1, 1000, n)) return false;
    mc.startPermille = static_cast<uint16_t>(n);
  } else if (key == "motion_stop") {
    if (!number(0, 1000, n)) return false;
    mc.stopPermille = static_cast<uint16_t>(n);
  } else if (key == "motion_hold_ms") {
    if (!number(0, 600000, n)) return false;
    mc.holdMs = static_cast<uint32_t>(n);
  } else if (key == "ota") {
    if (!env_.board.startOta(value, err)) return false;
    result = obj1("ota", "started");
    return true;
  } else {
    if (env_.camera.rawSetting(key, value, result, err)) return true;
    if (err == "unknown setting") err = "unknown raw command \"" + text + "\"";
    return false;
  }
  result = obj1(key.c_str(), n);
  return true;
}

std::vector<std::string> App::caps() {
  std::vector<std::string> c;
  if (env_.board.hasLamp()) c.push_back("lamp");
  for (const char* k : {"framesize", "quality", "fps", "flip", "brightness", "contrast"}) c.push_back(k);
  if (env_.board.hasServo()) c.push_back("servo");
  for (const char* k : {"motion", "snapshot", "restart"}) c.push_back(k);
  return c;
}

Hello App::makeHello() {
  Hello h;
  h.id = cfg_.id;
  h.hasToken = !cfg_.token.empty();
  h.token = cfg_.token;
  h.name = cfg_.name;
  h.model = env_.board.model();
  h.fw = C2M_FIRMWARE_VERSION;
  h.hasCaps = true;
  h.caps = caps();
  h.hasInfo = true;
  h.info = info();
  return h;
}

Json App::info() {
  const CameraSettings& s = cfg_.camera;
  Json i = Json::object();
  i.set("rssi", env_.network.rssi());
  i.set("uptime", static_cast<long long>(env_.clock.millis() / 1000));
  env_.board.addStatus(i);  // heap, psram, temperature, reset_reason
  i.set("ip", env_.network.ip());
  i.set("fw_version", C2M_FIRMWARE_VERSION);
  i.set("sensor", env_.camera.sensor());
  i.set("framesize", kFrameSizes[s.framesize]);
  i.set("quality", s.quality);
  i.set("fps", s.fps);
  i.set("idle_ms", static_cast<long long>(s.idleIntervalMs));
  if (env_.board.hasLamp()) i.set("lamp", lamp_);
  i.set("vflip", s.vflip);
  i.set("hmirror", s.hmirror);
  i.set("brightness", s.brightness);
  i.set("contrast", s.contrast);
  if (env_.board.hasServo()) {
    i.set("pan", s.pan);
    i.set("tilt", s.tilt);
  }
  i.set("motion_detection", s.motionDetection);
  i.set("pause", paused_);
  i.set("frames_sent", static_cast<long long>(framesSent_));
  return i;
}

void App::persist() {
  if (!saveCameraSettings(env_.store, cfg_.camera)) log(LogLevel::Warn, "could not store the camera settings");
}

}  // namespace c2m
