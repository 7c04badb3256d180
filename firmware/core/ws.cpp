#include "ws.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>

#include "sha1.h"

namespace c2m {

namespace {

const char* kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
constexpr uint32_t kHandshakeTimeoutMs = 10000;
constexpr uint32_t kClosingTimeoutMs = 2000;
constexpr size_t kMaxHandshakeBytes = 8192;
// Read at most this much per poll() so a flood cannot starve capturing.
constexpr size_t kMaxReadPerPoll = 64 * 1024;

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
  return s;
}
std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n"), e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

}  // namespace

bool parseUrl(const std::string& input, Url& out, std::string& err) {
  std::string t = trim(input);
  Url u;
  size_t p = t.find("://");
  bool schemeGiven = p != std::string::npos;
  if (schemeGiven) {
    std::string scheme = lower(t.substr(0, p));
    if (scheme == "ws" || scheme == "http") u.tls = false;
    else if (scheme == "wss" || scheme == "https") u.tls = true;
    else {
      err = "unsupported URL scheme \"" + scheme + "\" (expected ws:// or wss://)";
      return false;
    }
    t = t.substr(p + 3);
  }
  size_t slash = t.find('/');
  std::string hostport = t.substr(0, slash);
  u.path = slash == std::string::npos ? std::string("/api/camera") : t.substr(slash);
  std::string portText;
  if (!hostport.empty() && hostport[0] == '[') {  // [IPv6]:port
    size_t close = hostport.find(']');
    if (close == std::string::npos) {
      err = "bad IPv6 address in URL";
      return false;
    }
    u.host = hostport.substr(1, close - 1);
    if (close + 1 < hostport.size() && hostport[close + 1] == ':') portText = hostport.substr(close + 2);
  } else {
    size_t colon = hostport.rfind(':');
    u.host = hostport.substr(0, colon);
    if (colon != std::string::npos) portText = hostport.substr(colon + 1);
  }
  if (u.host.empty()) {
    err = "URL has no host";
    return false;
  }
  if (!portText.empty()) {
    char* end = nullptr;
    long port = strtol(portText.c_str(), &end, 10);
    if (!end || *end || port < 1 || port > 65535) {
      err = "bad port \"" + portText + "\" in URL";
      return false;
    }
    u.port = static_cast<uint16_t>(port);
  } else {
    u.port = !schemeGiven ? 9090 : (u.tls ? 443 : 80);
  }
  out = u;
  return true;
}

bool WsClient::connect(const Url& url, uint64_t nowMs, const std::string& userAgent, std::string& err) {
  sock_.close();
  rx_.clear();
  rxPos_ = 0;
  msg_.clear();
  msgOpcode_ = 0;
  pendingClose_ = false;
  bytesSent_ = 0;
  if (!sock_.connect(url.host, url.port, url.tls, 5000, err)) {
    state_ = State::Closed;
    return false;
  }
  uint8_t key[16];
  for (int i = 0; i < 16; i += 4) {
    uint32_t r = rnd_.next();
    memcpy(key + i, &r, 4);
  }
  std::string keyB64 = base64(key, sizeof key);
  std::string accept = keyB64 + kGuid;
  uint8_t digest[20];
  sha1(reinterpret_cast<const uint8_t*>(accept.data()), accept.size(), digest);
  expectedAccept_ = base64(digest, sizeof digest);

  std::string host = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  bool defaultPort = url.port == (url.tls ? 443 : 80);
  std::string req = "GET " + url.path + " HTTP/1.1\r\nHost: " + host +
                    (defaultPort ? std::string() : ":" + std::to_string(url.port)) +
                    "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + keyB64 +
                    "\r\nSec-WebSocket-Version: 13\r\nUser-Agent: " + userAgent + "\r\n\r\n";
  if (!sock_.write(reinterpret_cast<const uint8_t*>(req.data()), req.size())) {
    sock_.close();
    err = "could not send the WebSocket upgrade request";
    state_ = State::Closed;
    return false;
  }
  state_ = State::Handshake;
  deadline_ = nowMs + kHandshakeTimeoutMs;
  lastRx_ = nowMs;
  return true;
}

void WsClient::abort(const std::string& reason) {
  if (state_ == State::Closed && !pendingClose_) return;
  sock_.close();
  state_ = State::Closed;
  pendingClose_ = true;
  closeCode_ = 1006;
  closeReason_ = reason;
}

void WsClient::fail(uint16_t code, const std::string& reason) {
  // Best effort: tell the server why, then drop the connection.
  if (state_ == State::Open) {
    uint8_t payload[2] = {static_cast<uint8_t>(code >> 8), static_cast<uint8_t>(code)};
    writeFrame(0x8, payload, 2, nullptr, 0);
  }
  abort(reason);
  closeCode_ = code;
}

void WsClient::finish(WsHandler& h, uint16_t code, const std::string& reason) {
  sock_.close();
  state_ = State::Closed;
  pendingClose_ = false;
  rx_.clear();
  rxPos_ = 0;
  msg_.clear();
  msgOpcode_ = 0;
  h.onWsClose(code, reason);
}

void WsClient::close(uint16_t code, const std::string& reason, uint64_t nowMs) {
  if (state_ == State::Handshake) {
    abort(reason);
    return;
  }
  if (state_ != State::Open) return;
  std::string payload;
  payload += static_cast<char>(code >> 8);
  payload += static_cast<char>(code & 0xFF);
  payload += reason.substr(0, 120);
  writeFrame(0x8, reinterpret_cast<const uint8_t*>(payload.data()), payload.size(), nullptr, 0);
  if (state_ != State::Open) return;  // the write failed and aborted
  state_ = State::Closing;
  closeCode_ = code;
  closeReason_ = reason;
  deadline_ = nowMs + kClosingTimeoutMs;
}

bool WsClient::sendText(const std::string& text) {
  return writeFrame(0x1, reinterpret_cast<const uint8_t*>(text.data()), text.size(), nullptr, 0);
}

bool WsClient::sendBinary(const uint8_t* a, size_t alen, const uint8_t* b, size_t blen) {
  return writeFrame(0x2, a, alen, b, blen);
}

bool WsClient::sendPing() { return writeFrame(0x9, nullptr, 0, nullptr, 0); }

bool WsClient::writeFrame(uint8_t opcode, const uint8_t* a, size_t alen, const uint8_t* b, size_t blen) {
  if (state_ != State::Open) return false;
  // Masking needs a writable copy; a small buffer reused chunk by chunk keeps a 100 kB JPEG from
  // being duplicated in RAM.
  uint8_t* buf = tx_;
  size_t n = 0;
  const uint64_t len = static_cast<uint64_t>(alen) + blen;
  buf[n++] = static_cast<uint8_t>(0x80 | opcode);  // FIN: we never fragment what we send
  if (len < 126) {
    buf[n++] = static_cast<uint8_t>(0x80 | len);
  } else if (len < 65536) {
    buf[n++] = 0x80 | 126;
    buf[n++] = static_cast<uint8_t>(len >> 8);
    buf[n++] = static_cast<uint8_t>(len);
  } else {
    buf[n++] = 0x80 | 127;
    for (int i = 7; i >= 0; --i) buf[n++] = static_cast<uint8_t>(len >> (8 * i));
  }
  uint32_t r = rnd_.next();
  uint8_t mask[4];
  memcpy(mask, &r, 4);
  memcpy(buf + n, mask, 4);
  n += 4;
  uint64_t k = 0;  // position in the payload, for the mask
  const uint8_t* parts[2] = {a, b};
  const size_t lens[2] = {alen, blen};
  for (int part = 0; part < 2; ++part) {
    for (size_t i = 0; i < lens[part]; ++i, ++k) {
      buf[n++] = parts[part][i] ^ mask[k & 3];
      if (n == sizeof tx_) {
        if (!sock_.write(buf, n)) {
          abort("write failed");
          return false;
        }
        bytesSent_ += n;
        n = 0;
      }
    }
  }
  if (n && !sock_.write(buf, n)) {
    abort("write failed");
    return false;
  }
  bytesSent_ += n;
  return true;
}

void WsClient::poll(uint64_t nowMs, WsHandler& h) {
  if (pendingClose_) {
    finish(h, closeCode_, closeReason_);
    return;
  }
  if (state_ == State::Closed) return;

  uint8_t buf[1024];
  size_t got = 0;
  while (got < kMaxReadPerPoll) {
    int n = sock_.read(buf, sizeof buf);
    if (n < 0) {
      // The peer closed TCP. After our close frame that is the normal end of the closing handshake.
      if (state_ == State::Closing) finish(h, closeCode_, closeReason_);
      else finish(h, 1006, state_ == State::Handshake ? "connection closed during the handshake" : "connection lost");
      return;
    }
    if (n == 0) break;
    rx_.insert(rx_.end(), buf, buf + n);
    got += static_cast<size_t>(n);
    lastRx_ = nowMs;
  }

  if (state_ == State::Handshake) {
    if (!handshakeDone(h)) {
      if (pendingClose_) finish(h, closeCode_, closeReason_);
      else if (nowMs >= deadline_) finish(h, 1006, "WebSocket handshake timed out");
      return;
    }
  }
  if (state_ == State::Open || state_ == State::Closing) parseFrames(nowMs, h);
  if (pendingClose_) {
    finish(h, closeCode_, closeReason_);
    return;
  }
  if (state_ == State::Closing && nowMs >= deadline_) finish(h, closeCode_, closeReason_);
}

bool WsClient::handshakeDone(WsHandler& h) {
  static const char kEnd[] = "\r\n\r\n";
  auto it = std::search(rx_.begin(), rx_.end(), kEnd, kEnd + 4);
  if (it == rx_.end()) {
    if (rx_.size() > kMaxHandshakeBytes) abort("oversized handshake response");
    return false;
  }
  std::string head(rx_.begin(), it);
  rx_.erase(rx_.begin(), it + 4);
  rxPos_ = 0;

  size_t eol = head.find("\r\n");
  std::string status = head.substr(0, eol);
  bool upgrade = false, connection = false, accept = false;
  size_t pos = eol;
  while (pos != std::string::npos && pos < head.size()) {
    size_t next = head.find("\r\n", pos + 2);
    std::string line = head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
    pos = next;
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = lower(trim(line.substr(0, colon)));
    std::string value = trim(line.substr(colon + 1));
    if (name == "upgrade") upgrade = lower(value) == "websocket";
    else if (name == "connection") connection = lower(value).find("upgrade") != std::string::npos;
    else if (name == "sec-websocket-accept") accept = value == expectedAccept_;
  }
  if (status.compare(0, 12, "HTTP/1.1 101") != 0) {
    abort("bridge answered \"" + status + "\" instead of switching to WebSocket (wrong URL path?)");
    return false;
  }
  if (!upgrade || !connection || !accept) {
    abort("invalid WebSocket handshake response (Upgrade/Connection/Sec-WebSocket-Accept)");
    return false;
  }
  state_ = State::Open;
  h.onWsOpen();
  return state_ == State::Open;
}

bool WsClient::parseFrames(uint64_t nowMs, WsHandler& h) {
  (void)nowMs;
  while (state_ == State::Open || state_ == State::Closing) {
    const size_t avail = rx_.size() - rxPos_;
    if (avail < 2) break;
    const uint8_t* p = rx_.data() + rxPos_;
    const bool fin = p[0] & 0x80;
    const uint8_t opcode = p[0] & 0x0F;
    if (p[0] & 0x70) return fail(1002, "reserved bits set in a frame from the bridge"), false;
    if (p[1] & 0x80) return fail(1002, "masked frame from the bridge"), false;
    size_t hdr = 2;
    uint64_t len = p[1] & 0x7F;
    if (len == 126) {
      if (avail < 4) break;
      len = (uint64_t(p[2]) << 8) | p[3];
      hdr = 4;
    } else if (len == 127) {
      if (avail < 10) break;
      len = 0;
      for (int i = 0; i < 8; ++i) len = (len << 8) | p[2 + i];
      hdr = 10;
    }
    if (len > maxMessage_) return fail(1009, "message from the bridge too large"), false;
    if (avail < hdr + len) break;
    const uint8_t* payload = p + hdr;
    const size_t plen = static_cast<size_t>(len);
    rxPos_ += hdr + plen;

    if (opcode & 0x8) {  // control frame
      if (!fin || plen > 125) return fail(1002, "invalid control frame"), false;
      if (opcode == 0x8) {
        uint16_t code = plen >= 2 ? static_cast<uint16_t>((payload[0] << 8) | payload[1]) : 1005;
        std::string reason(reinterpret_cast<const char*>(payload) + (plen >= 2 ? 2 : 0), plen >= 2 ? plen - 2 : 0);
        if (state_ == State::Open) {  // echo the close, as RFC 6455 5.5.1 asks
          uint8_t echo[2] = {static_cast<uint8_t>(code >> 8), static_cast<uint8_t>(code)};
          writeFrame(0x8, echo, plen >= 2 ? 2 : 0, nullptr, 0);
        }
        sock_.close();
        state_ = State::Closed;
        pendingClose_ = true;
        closeCode_ = code;
        closeReason_ = reason;
        return false;
      }
      if (opcode == 0x9) writeFrame(0xA, payload, plen, nullptr, 0);  // ping -> pong
      else if (opcode != 0xA) return fail(1002, "unknown control opcode"), false;
      continue;
    }

    if (opcode == 0x0) {
      if (!msgOpcode_) return fail(1002, "continuation frame without a message"), false;
      if (msg_.size() + plen > maxMessage_) return fail(1009, "message from the bridge too large"), false;
      msg_.insert(msg_.end(), payload, payload + plen);
    } else if (opcode == 0x1 || opcode == 0x2) {
      if (msgOpcode_) return fail(1002, "new message inside a fragmented one"), false;
      if (fin) {  // the common case: dispatch straight from the receive buffer
        if (state_ == State::Open) {
          if (opcode == 0x1) h.onWsText(reinterpret_cast<const char*>(payload), plen);
          else h.onWsBinary(payload, plen);
        }
        continue;
      }
      msgOpcode_ = opcode;
      msg_.assign(payload, payload + plen);
    } else {
      return fail(1002, "unknown data opcode"), false;
    }
    if (fin) {
      uint8_t op = msgOpcode_;
      msgOpcode_ = 0;
      std::vector<uint8_t> m;
      m.swap(msg_);
      if (state_ == State::Open) {
        if (op == 0x1) h.onWsText(reinterpret_cast<const char*>(m.data()), m.size());
        else h.onWsBinary(m.data(), m.size());
      }
    }
  }
  // Drop what was consumed (handlers never keep pointers into the buffer).
  if (rxPos_ > 0) {
    if (rxPos_ >= rx_.size()) rx_.clear();
    else rx_.erase(rx_.begin(), rx_.begin() + static_cast<std::ptrdiff_t>(rxPos_));
    rxPos_ = 0;
  }
  return true;
}

}  // namespace c2m
