// Lamp (LEDC PWM), pan/tilt servos (LEDC at 50 Hz), restart, health values, OTA.
#include <ArduinoOTA.h>
#include <HTTPUpdate.h>
#include <esp_system.h>
#include <esp_timer.h>

#include "board_pins.h"
#include "esp32_hal.h"

namespace c2m::esp32 {

const char* const Esp32Board::BOARD_NAME = C2M_BOARD_NAME;

namespace {

// LEDC channel 0 / timer 0 drive the camera's XCLK (esp32-camera). Channel n uses timer n/2, so the
// lamp (5 kHz) gets timer 1 and the servos (50 Hz) timer 2.
constexpr uint8_t kLampChannel = 2;
constexpr uint8_t kPanChannel = 4;
constexpr uint8_t kTiltChannel = 5;
constexpr uint8_t kServoBits = 14;  // the most every ESP32 variant allows at 50 Hz

#if defined(ESP_ARDUINO_VERSION_MAJOR) && ESP_ARDUINO_VERSION_MAJOR >= 3
// arduino-esp32 3.x: pins are attached to explicit channels and written by pin.
void pwmAttach(int pin, uint8_t channel, uint32_t freq, uint8_t bits) { ledcAttachChannel(pin, freq, bits, channel); }
void pwmWrite(int pin, uint8_t, uint32_t duty) { ledcWrite(pin, duty); }
#else
// arduino-esp32 2.x: channels are set up, then pins attached; writes go to the channel.
void pwmAttach(int pin, uint8_t channel, uint32_t freq, uint8_t bits) {
  ledcSetup(channel, freq, bits);
  ledcAttachPin(pin, channel);
}
void pwmWrite(int, uint8_t channel, uint32_t duty) { ledcWrite(channel, duty); }
#endif

uint32_t servoDuty(int degrees) {
  // 0..180 degrees = 0.5..2.5 ms pulses in a 20 ms period.
  const uint32_t us = 500 + static_cast<uint32_t>(degrees) * 2000 / 180;
  return us * ((1u << kServoBits) - 1) / 20000;
}

const char* resetReason() {
  switch (esp_reset_reason()) {
    case ESP_RST_POWERON: return "poweron";
    case ESP_RST_EXT: return "external";
    case ESP_RST_SW: return "software";
    case ESP_RST_PANIC: return "panic";
    case ESP_RST_INT_WDT: return "interrupt_watchdog";
    case ESP_RST_TASK_WDT: return "task_watchdog";
    case ESP_RST_WDT: return "watchdog";
    case ESP_RST_DEEPSLEEP: return "deepsleep";
    case ESP_RST_BROWNOUT: return "brownout";  // on an ESP32-CAM: usually a weak 5 V supply
    case ESP_RST_SDIO: return "sdio";
    default: return "unknown";
  }
}

std::string pendingOtaUrl;

}  // namespace

void Esp32Board::begin() {
  if (C2M_LAMP_PIN >= 0) {
    pwmAttach(C2M_LAMP_PIN, kLampChannel, 5000, 8);
    setLamp(0);
  }
  if (C2M_PAN_PIN >= 0) pwmAttach(C2M_PAN_PIN, kPanChannel, 50, kServoBits);
  if (C2M_TILT_PIN >= 0) pwmAttach(C2M_TILT_PIN, kTiltChannel, 50, kServoBits);
}

bool Esp32Board::hasLamp() { return C2M_LAMP_PIN >= 0; }

void Esp32Board::setLamp(int percent) {
  if (C2M_LAMP_PIN < 0) return;
  uint32_t duty = static_cast<uint32_t>(percent) * 255 / 100;
  if (C2M_LAMP_ACTIVE_LOW) duty = 255 - duty;
  pwmWrite(C2M_LAMP_PIN, kLampChannel, duty);
}

bool Esp32Board::hasServo() { return C2M_PAN_PIN >= 0 || C2M_TILT_PIN >= 0; }

void Esp32Board::setServo(int pan, int tilt) {
  if (C2M_PAN_PIN >= 0) pwmWrite(C2M_PAN_PIN, kPanChannel, servoDuty(pan));
  if (C2M_TILT_PIN >= 0) pwmWrite(C2M_TILT_PIN, kTiltChannel, servoDuty(tilt));
}

void Esp32Board::restart() {
  Serial.flush();
  delay(100);  // let the TCP stack send the ack and the close frame
  ESP.restart();
}

void Esp32Board::addStatus(Json& info) {
  info.set("heap", static_cast<long long>(ESP.getFreeHeap()));
  info.set("heap_min", static_cast<long long>(ESP.getMinFreeHeap()));
  if (psramFound()) info.set("psram", static_cast<long long>(ESP.getFreePsram()));
  // The internal sensor: rough (+-5 C) and absent on some chips' builds, but it shows overheating.
  float t = temperatureRead();
  if (t > -40 && t < 150) info.set("temperature", static_cast<double>(static_cast<int>(t * 10)) / 10);
  info.set("reset_reason", resetReason());
  info.set("chip", ESP.getChipModel());
}

bool Esp32Board::startOta(const std::string& url, std::string& err) {
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) return err = "ota: expected an http(s):// URL of a firmware .bin", false;
  pendingOtaUrl = url;  // run from poll(), after the ack went out: the update ends in a reboot
  return true;
}

void Esp32Board::beginOta(const std::string& hostname, const std::string& password) {
  ArduinoOTA.setHostname(hostname.c_str());
  if (!password.empty()) ArduinoOTA.setPassword(password.c_str());
  ArduinoOTA.onStart([]() { Serial.println("OTA: receiving firmware"); });
  ArduinoOTA.onError([](ota_error_t e) { Serial.printf("OTA: error %u\n", static_cast<unsigned>(e)); });
  ArduinoOTA.begin();
  otaStarted_ = true;
}

void Esp32Board::poll(uint64_t) {
  if (otaStarted_) ArduinoOTA.handle();
  if (pendingOtaUrl.empty()) return;
  std::string url;
  url.swap(pendingOtaUrl);
  Serial.printf("OTA: updating from %s\n", url.c_str());
  httpUpdate.rebootOnUpdate(true);
  t_httpUpdate_return rc;
  if (url.rfind("https://", 0) == 0) {
    WiFiClientSecure client;
    client.setInsecure();
    rc = httpUpdate.update(client, url.c_str());
  } else {
    WiFiClient client;
    rc = httpUpdate.update(client, url.c_str());
  }
  // Only reached when the update did not happen (success reboots).
  Serial.printf("OTA: failed (%d): %s\n", static_cast<int>(rc), httpUpdate.getLastErrorString().c_str());
}

void SerialLogger::write(LogLevel level, const std::string& msg) {
  const uint64_t ms = static_cast<uint64_t>(esp_timer_get_time() / 1000);
  Serial.printf("[%6lu.%03u] %-5s %s\n", static_cast<unsigned long>(ms / 1000), static_cast<unsigned>(ms % 1000),
                logLevelName(level), msg.c_str());
}

}  // namespace c2m::esp32
