// In-memory stand-ins for the HAL, and a tiny scripted WebSocket server side, for unit tests.
#pragma once

#include <cstring>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "config.h"
#include "hal.h"
#include "sha1.h"

namespace c2m::test {

class FakeRandom : public Random {
 public:
  uint32_t state = 12345;
  uint32_t next() override { return state = state * 1103515245u + 12345u; }
};

class FakeClock : public Clock {
 public:
  uint64_t now = 1000;
  bool synced = false;
  uint64_t unixBase = 1763734575000;  // unix ms at now == 0
  uint64_t millis() override { return now; }
  bool unixMs(uint64_t& out) override {
    if (synced) out = unixBase + now;
    return synced;
  }
};

class FakeSocket : public Socket {
 public:
  bool refuse = false;
  bool open = false;
  bool peerClosed = false;
  int connects = 0;
  std::string host;
  uint16_t port = 0;
  std::vector<uint8_t> out;  // everything the client wrote
  std::deque<uint8_t> in;    // what the client will read

  bool connect(const std::string& h, uint16_t p, bool, uint32_t, std::string& err) override {
    ++connects;
    if (refuse) {
      err = "connection refused";
      return false;
    }
    host = h;
    port = p;
    open = true;
    peerClosed = false;
    out.clear();
    in.clear();
    return true;
  }
  bool write(const uint8_t* d, size_t n) override {
    if (!open) return false;
    out.insert(out.end(), d, d + n);
    return true;
  }
  int read(uint8_t* buf, size_t n) override {
    if (!open) return -1;
    if (in.empty()) return peerClosed ? -1 : 0;
    size_t k = std::min(n, in.size());
    for (size_t i = 0; i < k; ++i) buf[i] = in[i];
    in.erase(in.begin(), in.begin() + static_cast<long>(k));
    return static_cast<int>(k);
  }
  void close() override { open = false; }

  void feed(const std::string& s) { in.insert(in.end(), s.begin(), s.end()); }
  void feed(const std::vector<uint8_t>& b) { in.insert(in.end(), b.begin(), b.end()); }

  /** Answer the client's upgrade request like a real server would. */
  void acceptHandshake(const std::string& acceptOverride = "") {
    std::string req(out.begin(), out.end());
    size_t k = req.find("Sec-WebSocket-Key: ");
    std::string key = req.substr(k + 19, req.find("\r\n", k) - k - 19);
    std::string a = key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    uint8_t d[20];
    sha1(reinterpret_cast<const uint8_t*>(a.data()), a.size(), d);
    feed("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
         (acceptOverride.empty() ? base64(d, 20) : acceptOverride) + "\r\n\r\n");
    out.clear();
  }

  /** A server frame (unmasked). */
  static std::vector<uint8_t> frame(uint8_t opcode, const std::string& payload, bool fin = true) {
    std::vector<uint8_t> f;
    f.push_back(static_cast<uint8_t>((fin ? 0x80 : 0) | opcode));
    size_t n = payload.size();
    if (n < 126) {
      f.push_back(static_cast<uint8_t>(n));
    } else if (n < 65536) {
      f.push_back(126);
      f.push_back(static_cast<uint8_t>(n >> 8));
      f.push_back(static_cast<uint8_t>(n));
    } else {
      f.push_back(127);
      for (int i = 7; i >= 0; --i) f.push_back(static_cast<uint8_t>(static_cast<uint64_t>(n) >> (8 * i)));
    }
    f.insert(f.end(), payload.begin(), payload.end());
    return f;
  }

  struct Sent {
    uint8_t opcode;
    bool fin;
    bool masked;
    std::vector<uint8_t> payload;
  };
  /** Parse (and unmask) everything the client sent since the last call. */
  std::vector<Sent> takeFrames() {
    std::vector<Sent> res;
    size_t p = 0;
    while (p + 2 <= out.size()) {
      Sent s;
      s.fin = out[p] & 0x80;
      s.opcode = out[p] & 0x0F;
      s.masked = out[p + 1] & 0x80;
      uint64_t len = out[p + 1] & 0x7F;
      size_t h = 2;
      if (len == 126) len = (uint64_t(out[p + 2]) << 8) | out[p + 3], h = 4;
      else if (len == 127) {
        len = 0;
        for (int i = 0; i < 8; ++i) len = (len << 8) | out[p + 2 + i];
        h = 10;
      }
      uint8_t mask[4] = {0, 0, 0, 0};
      if (s.masked) memcpy(mask, &out[p + h], 4), h += 4;
      if (p + h + len > out.size()) break;
      for (uint64_t i = 0; i < len; ++i) s.payload.push_back(out[p + h + i] ^ mask[i & 3]);
      res.push_back(s);
      p += h + static_cast<size_t>(len);
    }
    out.erase(out.begin(), out.begin() + static_cast<long>(p));
    return res;
  }
  /** Text messages the client sent since the last call (other frames are dropped). */
  std::vector<std::string> takeTexts() {
    std::vector<std::string> t;
    for (auto& f : takeFrames())
      if (f.opcode == 1) t.emplace_back(f.payload.begin(), f.payload.end());
    return t;
  }
};

class MemStore : public ConfigStore {
 public:
  std::map<std::string, std::string> kv;
  bool get(const char* k, std::string& v) override {
    auto it = kv.find(k);
    if (it == kv.end()) return false;
    v = it->second;
    return true;
  }
  bool put(const char* k, const std::string& v) override {
    if (strlen(k) > 15) return false;  // NVS keys are at most 15 characters
    kv[k] = v;
    return true;
  }
  bool clear() override {
    kv.clear();
    return true;
  }
};

}  // namespace c2m::test
