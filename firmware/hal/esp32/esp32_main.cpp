// Boot and loop for the ESP32: settings (build defaults, NVS, serial console, setup portal), camera,
// WiFi, NTP, OTA, then core/app.cpp's loop. src/main.cpp (PlatformIO) and cam2mqtt.ino (Arduino IDE)
// only call c2m_setup() and c2m_loop().
#include "board_pins.h"
#include "c2m_build_config.h"
#include "esp32_hal.h"
#include "esp32_main.h"

#include "app.h"

namespace c2m::esp32 {
namespace {

Esp32Clock clockHal;
Esp32Random randomHal;
Esp32Socket socketHal;
Esp32Network network;
Esp32Camera camera;
Esp32Board board;
PrefsStore store;
SerialLogger logger;
SetupPortal portal;
Config cfg;
App* app = nullptr;
SetupConsole* console = nullptr;
std::string serialLine;

/** If WiFi never comes up after boot, open the portal (settings may be wrong) after this long. */
constexpr uint64_t kPortalAfterMs = 60000;
/** ...and restarts to try again after this long, unless someone is connected to it. */
constexpr uint32_t kPortalTimeoutMs = 5 * 60 * 1000;

Config buildDefaults() {
  Config c;
  c.wifiSsid = C2M_WIFI_SSID;
  c.wifiPassword = C2M_WIFI_PASSWORD;
  c.url = C2M_BRIDGE_URL;
  c.id = slugify(C2M_CAMERA_ID);
  c.token = C2M_CAMERA_TOKEN;
  c.name = C2M_CAMERA_NAME;
  c.camera.vflip = C2M_DEFAULT_VFLIP;
  if (c.id.empty()) {
    // The efuse MAC works before WiFi is started; byte 0 is the lowest (the MAC's first octet).
    const uint64_t mac = ESP.getEfuseMac();
    char id[24];
    snprintf(id, sizeof id, "esp32cam-%02x%02x%02x", static_cast<unsigned>((mac >> 24) & 0xFF),
             static_cast<unsigned>((mac >> 32) & 0xFF), static_cast<unsigned>((mac >> 40) & 0xFF));
    c.id = id;
  }
  return c;
}

/** The serial setup prompt works at any time: type "help" in the serial monitor (115200 baud). */
void pollSerial() {
  while (Serial.available()) {
    char ch = static_cast<char>(Serial.read());
    if (ch != '\n' && ch != '\r') {
      if (serialLine.size() < 200) serialLine += ch;
      continue;
    }
    if (serialLine.empty()) continue;
    std::string reply = console->handle(serialLine);
    serialLine.clear();
    if (!reply.empty()) Serial.println(reply.c_str());
    if (console->restartRequested()) {
      if (app) app->shutdown();
      ESP.restart();
    }
  }
}

}  // namespace

void setup() {
  Serial.begin(115200);
  Serial.println();
  store.begin();
  cfg = buildDefaults();
  if (!C2M_CONFIG_OVERRIDE) loadConfig(store, cfg);
  else {
    // Build values win, but camera settings changed by commands still come from NVS.
    Config stored = cfg;
    loadConfig(store, stored);
    cfg.camera = stored.camera;
  }
  console = new SetupConsole(cfg, store);
  Serial.printf("cam2mqtt firmware %s on %s; type help for the setup console\n", C2M_FIRMWARE_VERSION, Esp32Board::BOARD_NAME);

  board.begin();
  std::string err;
  if (!camera.begin(err)) logger.write(LogLevel::Error, err);  // keep running: the portal and console still work

  std::string problem = configProblem(cfg, true);
  if (!problem.empty()) {
    logger.write(LogLevel::Warn, "not configured (" + problem + "): starting the setup portal");
    portal.begin(cfg, store, logger, 0);
    return;
  }
  network.begin(cfg.wifiSsid, cfg.wifiPassword, cfg.id);
  configTime(0, 0, C2M_NTP_SERVER);  // UTC; frames carry Unix ms
#ifdef C2M_OTA_PASSWORD
  const std::string otaPassword = C2M_OTA_PASSWORD;
#else
  const std::string otaPassword = cfg.token;
#endif
  // Network uploads from the IDE only with a password: otherwise anyone on the LAN could flash it.
  if (!otaPassword.empty()) board.beginOta(cfg.id, otaPassword);
  else logger.write(LogLevel::Info, "ArduinoOTA off (no C2M_OTA_PASSWORD and no token); raw command ota=<url> still works");
  app = new App(AppEnv{clockHal, randomHal, socketHal, network, camera, board, store, logger}, cfg);
  app->begin();
}

void loop() {
  pollSerial();
  if (portal.active()) {
    portal.poll();
    delay(2);
    return;
  }
  if (!app) return;
  if (!network.everConnected() && clockHal.millis() > kPortalAfterMs) {
    logger.write(LogLevel::Warn, "WiFi \"" + cfg.wifiSsid + "\" did not connect: starting the setup portal");
    // Not forever: after a power cut the router may simply boot slower than the cameras.
    portal.begin(cfg, store, logger, kPortalTimeoutMs);
    return;
  }
  uint32_t sleepMs = app->loop();
  delay(sleepMs ? sleepMs : 1);  // delay() yields to the WiFi and camera tasks
}

}  // namespace c2m::esp32

void c2m_setup() { c2m::esp32::setup(); }
void c2m_loop() { c2m::esp32::loop(); }
