// STUB for the host-side compile check of hal/esp32 (CMake targets esp32_stub_check_v2/_v3).
// Declares only what hal/esp32 uses, with the signatures of arduino-esp32 2.x / 3.x (STUBVER) and
// esp32-camera. It catches hal/esp32 breaking against core/ and plain C++ mistakes; it proves
// nothing about the real APIs, which were checked by reading their headers.
#pragma once
#include <cstdint>
#include <cstddef>
#include <cstring>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <algorithm>
#define ESP_ARDUINO_VERSION_MAJOR STUBVER  // 2 or 3, set by CMake
#define HIGH 1
#define LOW 0
#define OUTPUT 3
class String {
 public:
  String(const char* s = "") : s_(s) {}
  String(const std::string& s) : s_(s) {}
  const char* c_str() const { return s_.c_str(); }
  unsigned length() const { return (unsigned)s_.size(); }
  String& operator+=(const String& o) { s_ += o.s_; return *this; }
  String& operator+=(const char* o) { s_ += o; return *this; }
  String& operator+=(char c) { s_ += c; return *this; }
  bool operator==(const char* o) const { return s_ == o; }
  friend String operator+(const String& a, const String& b) { return String(a.s_ + b.s_); }
  friend String operator+(const String& a, const char* b) { return String(a.s_ + b); }
 private:
  std::string s_;
};
struct HardwareSerial {
  void begin(unsigned long);
  int available();
  int read();
  size_t println(const char* = "");
  size_t printf(const char*, ...) __attribute__((format(printf, 2, 3)));
  void flush();
};
extern HardwareSerial Serial;
unsigned long millis();
void delay(uint32_t);
bool psramFound();
float temperatureRead();
void pinMode(uint8_t, uint8_t);
void digitalWrite(uint8_t, uint8_t);
#if STUBVER >= 3
bool ledcAttachChannel(uint8_t pin, uint32_t freq, uint8_t resolution, uint8_t channel);
bool ledcWrite(uint8_t pin, uint32_t duty);
#else
uint32_t ledcSetup(uint8_t channel, uint32_t freq, uint8_t resolution_bits);
void ledcAttachPin(uint8_t pin, uint8_t channel);
void ledcWrite(uint8_t channel, uint32_t duty);
#endif
struct EspClass { uint64_t getEfuseMac(); uint32_t getFreeHeap(); uint32_t getMinFreeHeap(); uint32_t getFreePsram(); const char* getChipModel(); void restart(); };
extern EspClass ESP;
void configTime(long gmtOffset_sec, int daylightOffset_sec, const char* server1, const char* server2 = nullptr, const char* server3 = nullptr);
