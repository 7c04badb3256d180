// cam2mqtt-host: the firmware's main loop (core/app.cpp) on a PC, against stand-in hardware.
// It connects to a real bridge like a camera would; test/firmware.test.ts uses it end to end.
//
//   cam2mqtt-host --url ws://127.0.0.1:9090/api/camera --id garage [--token s3cret]
//                 [--frames-dir DIR | --motion-scene] [--fps 10] [--state-file state.json] ...
//
// SIGUSR1 sends the square of the generated scene across the picture (motion on demand).
// SIGTERM/SIGINT close the WebSocket properly (1001) and exit.
#include <signal.h>
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include "app.h"
#include "host_hal.h"

using namespace c2m;
using namespace c2m::host;

namespace {

volatile sig_atomic_t gStop = 0;

void onStop(int) { gStop = 1; }
void onUsr1(int) { HostCamera::passRequested = true; }

const char* kUsage =
    "usage: cam2mqtt-host --url URL --id ID [options]\n"
    "  --url URL            bridge camera endpoint, e.g. ws://127.0.0.1:9090/api/camera\n"
    "  --id ID              camera id (slugified like the bridge does)\n"
    "  --token TOKEN        hello token, if the bridge has one configured for this id\n"
    "  --name NAME          display name\n"
    "  --frames-dir DIR     serve the .jpg files of DIR in name order, round robin\n"
    "  --motion-scene       generated scene; SIGUSR1 (or --scene-period-ms) moves a square across it\n"
    "  --scene-period-ms N  start a pass of the square every N ms (default 0: only on SIGUSR1)\n"
    "  --scene-pass-ms N    a pass lasts N ms (default 3000)\n"
    "  --fps N              full frame rate (default 10)\n"
    "  --idle-ms N          idle interval while nobody watches (default 5000)\n"
    "  --framesize NAME     initial frame size (default VGA)\n"
    "  --max-framesize NAME largest frame size the stand-in sensor accepts (default UXGA)\n"
    "  --quality N          initial JPEG quality 4..63 (default 12)\n"
    "  --no-motion          start with motion detection off\n"
    "  --no-lamp            a board without a flash LED\n"
    "  --servo              a board with pan/tilt servos\n"
    "  --ntp                the host clock counts as NTP-synced (default: time comes from the bridge's welcome)\n"
    "  --state-file FILE    write the stand-in hardware state (lamp, servo, sensor settings) as JSON\n"
    "  --config-file FILE   file-backed settings store (what NVS is on the ESP32)\n"
    "  --setup              serial-console setup on stdin first (help, set, show, save, restart)\n"
    "  --backoff-max-ms N   cap of the reconnect backoff (default 60000)\n"
    "  --ca-cert FILE       wss://: verify the bridge's certificate against this PEM file (default: not verified)\n"
    "  --log-level LEVEL    debug, info, warn, error (default info)\n";

bool needValue(int i, int argc, const char* flag) {
  if (i + 1 < argc) return true;
  fprintf(stderr, "%s needs a value\n%s", flag, kUsage);
  exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  Config cfg;  // the host's "build-time" defaults: none
  SceneOptions scene;
  std::string stateFile, configFile, logLevel = "info";
  bool motionScene = false, lamp = true, servo = false, ntp = false, setup = false, noMotion = false;
  AppTiming timing;
  // Flags are applied after the stored settings: on the host, an explicit flag is the newest intent.
  std::string url, id, token, name, framesize, fps, quality, idle, caCert;
  bool haveToken = false;

  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto val = [&]() { needValue(i, argc, argv[i]); return std::string(argv[++i]); };
    if (a == "--url") url = val();
    else if (a == "--id") id = val();
    else if (a == "--token") token = val(), haveToken = true;
    else if (a == "--name") name = val();
    else if (a == "--frames-dir") scene.framesDir = val();
    else if (a == "--motion-scene") motionScene = true;
    else if (a == "--scene-period-ms") scene.periodMs = static_cast<uint32_t>(atol(val().c_str()));
    else if (a == "--scene-pass-ms") scene.passMs = static_cast<uint32_t>(std::max(100L, atol(val().c_str())));
    else if (a == "--fps") fps = val();
    else if (a == "--idle-ms") idle = val();
    else if (a == "--framesize") framesize = val();
    else if (a == "--max-framesize") {
      std::string v = val();
      scene.maxFramesize = frameSizeIndex(v);
      if (scene.maxFramesize < 0) return fprintf(stderr, "unknown frame size %s\n", v.c_str()), 2;
    } else if (a == "--quality") quality = val();
    else if (a == "--no-motion") noMotion = true;
    else if (a == "--no-lamp") lamp = false;
    else if (a == "--servo") servo = true;
    else if (a == "--ntp") ntp = true;
    else if (a == "--state-file") stateFile = val();
    else if (a == "--config-file") configFile = val();
    else if (a == "--setup") setup = true;
    else if (a == "--backoff-max-ms") timing.backoff.maxMs = static_cast<uint32_t>(atol(val().c_str()));
    else if (a == "--log-level") logLevel = val();
    else if (a == "--ca-cert") caCert = val();
    else if (a == "--help" || a == "-h") return fputs(kUsage, stdout), 0;
    else return fprintf(stderr, "unknown option %s\n%s", a.c_str(), kUsage), 2;
  }
  if (!motionScene && scene.framesDir.empty()) motionScene = true;  // something to look at

  HostClock clock(ntp);
  LogLevel min = logLevel == "debug" ? LogLevel::Debug : logLevel == "warn" ? LogLevel::Warn : logLevel == "error" ? LogLevel::Error : LogLevel::Info;
  StdoutLogger logger(clock, min);
  FileStore store(configFile);
  loadConfig(store, cfg);

  if (setup) {
    // The serial prompt of the ESP32 build, on stdin.
    SetupConsole console(cfg, store);
    printf("cam2mqtt setup: type help\n> ");
    fflush(stdout);
    std::string line;
    while (std::getline(std::cin, line)) {
      std::string reply = console.handle(line);
      if (!reply.empty()) printf("%s\n", reply.c_str());
      if (console.restartRequested()) break;
      printf("> ");
      fflush(stdout);
    }
    loadConfig(store, cfg);
  }

  std::string err;
  if (!url.empty() && !setConfigField(cfg, "url", url, err)) return fprintf(stderr, "%s\n", err.c_str()), 2;
  if (!id.empty() && !setConfigField(cfg, "id", id, err)) return fprintf(stderr, "%s\n", err.c_str()), 2;
  if (haveToken) cfg.token = token;
  if (!name.empty()) cfg.name = name;
  if (!framesize.empty()) {
    int fs = frameSizeIndex(framesize);
    if (fs < 0) return fprintf(stderr, "unknown frame size %s\n", framesize.c_str()), 2;
    cfg.camera.framesize = fs;
  }
  if (!fps.empty()) cfg.camera.fps = std::clamp(atof(fps.c_str()), 1.0, 60.0);
  if (!quality.empty()) cfg.camera.quality = std::clamp(atoi(quality.c_str()), 4, 63);
  if (!idle.empty()) cfg.camera.idleIntervalMs = static_cast<uint32_t>(std::max(200L, atol(idle.c_str())));
  if (noMotion) cfg.camera.motionDetection = false;

  std::string problem = configProblem(cfg, false);
  if (!problem.empty()) return fprintf(stderr, "cannot start: %s\n%s", problem.c_str(), kUsage), 2;

  HostState state(stateFile);
  HostCamera camera(state, clock, scene);
  if (!camera.load(err)) return fprintf(stderr, "%s\n", err.c_str()), 2;
  HostBoard board(state, lamp, servo, argv);
  HostNetwork network;
  HostRandom random;
  PosixSocket socket;
  socket.setCaFile(caCert);

  struct sigaction sa {};
  sa.sa_handler = onStop;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  sa.sa_handler = onUsr1;
  sigaction(SIGUSR1, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);

  App app(AppEnv{clock, random, socket, network, camera, board, store, logger}, cfg, timing);
  app.begin();
  while (!gStop) {
    uint32_t sleepMs = app.loop();
    if (sleepMs) {
      timespec ts{static_cast<time_t>(sleepMs / 1000), static_cast<long>(sleepMs % 1000) * 1000000L};
      nanosleep(&ts, nullptr);  // a signal cuts the sleep short, which is what we want
    }
  }
  logger.write(LogLevel::Info, "stopping");
  app.shutdown();
  return 0;
}
