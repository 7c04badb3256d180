// STUB for the host-side compile check of hal/esp32 (CMake targets esp32_stub_check_v2/_v3).
// Declares only what hal/esp32 uses, with the signatures of arduino-esp32 2.x / 3.x (STUBVER) and
// esp32-camera. It catches hal/esp32 breaking against core/ and plain C++ mistakes; it proves
// nothing about the real APIs, which were checked by reading their headers.
#pragma once
#include "Arduino.h"
struct IPAddress { String toString() const; };
enum wl_status_t { WL_IDLE_STATUS, WL_CONNECTED = 3 };
enum wifi_mode_t { WIFI_STA = 1, WIFI_AP_STA = 3 };
class Client { public: virtual int connect(const char*, uint16_t, int32_t) = 0; virtual size_t write(const uint8_t*, size_t) = 0; virtual int available() = 0; virtual int read(uint8_t*, size_t) = 0; virtual void stop() = 0; virtual uint8_t connected() = 0; virtual ~Client() {} };
class WiFiClient : public Client { public: int connect(const char*, uint16_t, int32_t) override; size_t write(const uint8_t*, size_t) override; int available() override; int read(uint8_t*, size_t) override; void stop() override; uint8_t connected() override; int setNoDelay(bool); };
struct WiFiClass {
  bool mode(wifi_mode_t); bool setHostname(const char*); bool setSleep(bool); bool setAutoReconnect(bool);
  wl_status_t begin(const char*, const char*); wl_status_t status(); int8_t RSSI(); IPAddress localIP(); bool disconnect(bool = false);
  int16_t scanNetworks(); String SSID(uint8_t); uint8_t* macAddress(uint8_t*); bool softAP(const char*); IPAddress softAPIP(); uint8_t softAPgetStationNum();
};
extern WiFiClass WiFi;
