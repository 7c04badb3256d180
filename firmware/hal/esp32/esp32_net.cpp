// Clock, RNG, TCP/TLS socket, WiFi station and the NVS store.
#include <esp_system.h>
#include <esp_timer.h>
#if __has_include(<esp_random.h>)
#include <esp_random.h>  // IDF 5 (arduino-esp32 3.x) no longer pulls it in through esp_system.h
#endif
#include <sys/time.h>

#include "esp32_hal.h"

namespace c2m::esp32 {

uint64_t Esp32Clock::millis() { return static_cast<uint64_t>(esp_timer_get_time() / 1000); }

bool Esp32Clock::unixMs(uint64_t& out) {
  timeval tv{};
  gettimeofday(&tv, nullptr);
  if (tv.tv_sec < 1600000000) return false;  // SNTP has not set the clock yet (it starts at 1970)
  out = static_cast<uint64_t>(tv.tv_sec) * 1000 + static_cast<uint64_t>(tv.tv_usec / 1000);
  return true;
}

uint32_t Esp32Random::next() { return esp_random(); }

// ---- socket ------------------------------------------------------------------------------------

bool Esp32Socket::connect(const std::string& host, uint16_t port, bool tls, uint32_t timeoutMs, std::string& err) {
  close();
  if (tls) {
#ifdef C2M_TLS_CA_CERT
    secure_.setCACert(C2M_TLS_CA_CERT);
#else
    secure_.setInsecure();  // encrypted but not authenticated: set C2M_TLS_CA_CERT to verify the bridge
#endif
    active_ = &secure_;
    if (!secure_.connect(host.c_str(), port, static_cast<int32_t>(timeoutMs))) {
      err = "TLS connect to " + host + ":" + std::to_string(port) + " failed";
      active_ = nullptr;
      return false;
    }
  } else {
    active_ = &plain_;
    if (!plain_.connect(host.c_str(), port, static_cast<int32_t>(timeoutMs))) {
      err = "connect to " + host + ":" + std::to_string(port) + " failed";
      active_ = nullptr;
      return false;
    }
    plain_.setNoDelay(true);  // small control messages (acks, pongs) should not wait for Nagle
  }
  return true;
}

bool Esp32Socket::write(const uint8_t* data, size_t len) {
  if (!active_) return false;
  // WiFiClient::write loops internally until everything is queued or its send timeout passes.
  size_t done = 0;
  while (done < len) {
    size_t n = active_->write(data + done, len - done);
    if (n == 0) return false;
    done += n;
  }
  return true;
}

int Esp32Socket::read(uint8_t* buf, size_t len) {
  if (!active_) return -1;
  int avail = active_->available();
  if (avail > 0) {
    int n = active_->read(buf, std::min(len, static_cast<size_t>(avail)));
    return n < 0 ? -1 : n;
  }
  return active_->connected() ? 0 : -1;
}

void Esp32Socket::close() {
  if (active_) active_->stop();
  active_ = nullptr;
}

// ---- WiFi --------------------------------------------------------------------------------------

void Esp32Network::begin(const std::string& ssid, const std::string& password, const std::string& hostname) {
  ssid_ = ssid;
  password_ = password;
  WiFi.setHostname(hostname.c_str());  // before mode(): arduino-esp32 2.x ignores it afterwards
  WiFi.mode(WIFI_STA);
  WiFi.setSleep(false);  // modem sleep adds 100+ ms latency and drops frames
  WiFi.setAutoReconnect(true);
  WiFi.begin(ssid_.c_str(), password_.c_str());
  lastAttempt_ = static_cast<uint64_t>(esp_timer_get_time() / 1000);
}

void Esp32Network::poll(uint64_t nowMs) {
  if (WiFi.status() == WL_CONNECTED) {
    everConnected_ = true;
    return;
  }
  // Not connected for 15 s: start over. Some APs leave the station in a state auto-reconnect never
  // leaves (e.g. after the AP rebooted with a changed channel).
  if (nowMs - lastAttempt_ >= 15000) {
    lastAttempt_ = nowMs;
    WiFi.disconnect();
    WiFi.begin(ssid_.c_str(), password_.c_str());
  }
}

// ---- NVS ---------------------------------------------------------------------------------------

bool PrefsStore::begin() { return prefs_.begin("cam2mqtt", false); }

bool PrefsStore::get(const char* key, std::string& value) {
  if (!prefs_.isKey(key)) return false;
  value = prefs_.getString(key, "").c_str();
  return true;
}

bool PrefsStore::put(const char* key, const std::string& value) {
  // Skip unchanged values: NVS writes wear the flash, and settings are saved after every command.
  std::string old;
  if (get(key, old) && old == value) return true;
  size_t n = prefs_.putString(key, value.c_str());
  return n == value.size();  // putString returns the bytes written (0 for "" as well as for an error)
}

bool PrefsStore::clear() { return prefs_.clear(); }

}  // namespace c2m::esp32
