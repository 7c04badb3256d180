// The setup portal: an open access point with a captive page. Validation is core/config.cpp's
// (setConfigField), the same the serial console uses; this file only moves form fields around.
#include <DNSServer.h>
#include <WebServer.h>

#include "esp32_hal.h"

namespace c2m::esp32 {

namespace {

WebServer server(80);
DNSServer dns;
Config* gCfg = nullptr;
ConfigStore* gStore = nullptr;
Logger* gLog = nullptr;
String networks;  // <option> list from one scan at start
uint64_t restartAt = 0;

String esc(const std::string& s) {
  String o;
  for (char c : s) {
    if (c == '&') o += "&amp;";
    else if (c == '<') o += "&lt;";
    else if (c == '>') o += "&gt;";
    else if (c == '"') o += "&quot;";
    else o += c;
  }
  return o;
}

String field(const char* name, const char* label, const std::string& value, const char* type, const char* hint) {
  return String("<label>") + label + "<input name=\"" + name + "\" type=\"" + type + "\" value=\"" + esc(value) +
         "\"" + (String(name) == "ssid" ? " list=\"nets\"" : "") + "><small>" + hint + "</small></label>";
}

void page(const String& message) {
  const Config& c = *gCfg;
  String html =
      "<!doctype html><meta name=viewport content=\"width=device-width\"><title>cam2mqtt camera setup</title>"
      "<style>body{font-family:sans-serif;max-width:28em;margin:1em auto;padding:0 1em}label{display:block;margin:.8em 0}"
      "input{display:block;width:100%;padding:.4em;box-sizing:border-box}small{color:#666}.msg{padding:.6em;background:#fec}</style>"
      "<h1>cam2mqtt camera</h1>";
  if (message.length()) html += String("<p class=msg>") + message + "</p>";
  html += String("<form method=post action=/save><datalist id=nets>") + networks + "</datalist>";
  html += field("ssid", "WiFi network", c.wifiSsid, "text", "");
  html += field("password", "WiFi password", "", "password", "leave empty to keep the saved one");
  html += field("url", "cam2mqtt address", c.url, "text", "e.g. ws://192.168.1.10:9090/api/camera or just 192.168.1.10");
  html += field("id", "Camera id", c.id, "text", "a-z 0-9 _ - (other characters become _)");
  html += field("token", "Token", "", "password", "only if the bridge's cameras: setting has one for this id; empty keeps the saved one");
  html += field("name", "Name", c.name, "text", "shown in Home Assistant");
  html += "<button>Save and restart</button></form>";
  server.send(200, "text/html", html);
}

void save() {
  Config next = *gCfg;
  String problems;
  for (const char* key : {"ssid", "password", "url", "id", "token", "name"}) {
    std::string value = server.arg(key).c_str();
    // Secret fields are never shown, so empty means "keep what is saved".
    if ((String(key) == "password" || String(key) == "token") && value.empty()) continue;
    std::string err;
    if (!setConfigField(next, key, value, err)) problems += esc(err) + "<br>";
  }
  std::string missing = configProblem(next, true);
  if (!problems.length() && !missing.empty()) problems = esc(missing);
  if (problems.length()) return page(problems);
  *gCfg = next;
  if (!saveConnection(*gStore, next)) return page("Could not save the settings (NVS).");
  gLog->write(LogLevel::Info, "setup portal: saved, restarting");
  server.send(200, "text/html", String("<meta name=viewport content=\"width=device-width\"><p>Saved. The camera restarts and joins ") + esc(next.wifiSsid) + ".</p>");
  restartAt = millis() + 1500;
}

}  // namespace

void SetupPortal::begin(Config& cfg, ConfigStore& store, Logger& log, uint32_t timeoutMs) {
  timeoutMs_ = timeoutMs;
  startedAt_ = millis();
  gCfg = &cfg;
  gStore = &store;
  gLog = &log;
  WiFi.mode(WIFI_AP_STA);  // STA for the scan (and so a saved network can still come back)
  int n = WiFi.scanNetworks();
  for (int i = 0; i < n; ++i) networks += String("<option value=\"") + esc(WiFi.SSID(i).c_str()) + "\">";
  uint8_t mac[6];
  WiFi.macAddress(mac);
  char ssid[32];
  snprintf(ssid, sizeof ssid, "cam2mqtt-setup-%02x%02x", mac[4], mac[5]);
  WiFi.softAP(ssid);
  dns.start(53, "*", WiFi.softAPIP());  // every name resolves to us: phones then show the page
  server.on("/", HTTP_GET, []() { page(""); });
  server.on("/save", HTTP_POST, save);
  server.onNotFound([]() {
    server.sendHeader("Location", String("http://") + WiFi.softAPIP().toString() + "/");
    server.send(302, "text/plain", "");
  });
  server.begin();
  active_ = true;
  log.write(LogLevel::Warn, std::string("setup portal: join WiFi \"") + ssid + "\" and open http://" + WiFi.softAPIP().toString().c_str());
}

void SetupPortal::poll() {
  if (!active_) return;
  dns.processNextRequest();
  server.handleClient();
  if (restartAt && millis() > restartAt) ESP.restart();
  if (timeoutMs_) {
    // Opened because the saved WiFi did not come up: if it comes back, or nobody uses the portal for
    // a while, restart and carry on with the saved settings.
    const bool idle = WiFi.softAPgetStationNum() == 0 && millis() - startedAt_ > timeoutMs_;
    if (WiFi.status() == WL_CONNECTED || idle) ESP.restart();
  }
}

}  // namespace c2m::esp32
