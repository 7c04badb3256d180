#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>

#include "host_hal.h"

namespace c2m::host {

static bool writeAtomically(const std::string& path, const std::string& content) {
  // Readers (tests) must never see a half-written file.
  const std::string tmp = path + ".tmp";
  FILE* f = fopen(tmp.c_str(), "wb");
  if (!f) return false;
  bool ok = fwrite(content.data(), 1, content.size(), f) == content.size();
  ok = fclose(f) == 0 && ok;
  return ok && rename(tmp.c_str(), path.c_str()) == 0;
}

// ---- state file --------------------------------------------------------------------------------

void HostState::set(const std::string& key, Json value) {
  state_.set(key, std::move(value));
  write();
}

void HostState::write() {
  if (!path_.empty()) writeAtomically(path_, state_.dump() + "\n");
}

// ---- clock, random -----------------------------------------------------------------------------

static const auto kBoot = std::chrono::steady_clock::now();

uint64_t HostClock::millis() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - kBoot).count());
}

bool HostClock::unixMs(uint64_t& out) {
  if (!ntp_) return false;
  timeval tv{};
  gettimeofday(&tv, nullptr);
  out = static_cast<uint64_t>(tv.tv_sec) * 1000 + static_cast<uint64_t>(tv.tv_usec / 1000);
  return true;
}

HostRandom::HostRandom() {
  std::random_device rd;
  state_ = (static_cast<uint64_t>(rd()) << 32) ^ rd() ^ static_cast<uint64_t>(getpid());
  if (state_ == 0) state_ = 0x9E3779B97F4A7C15ull;
}

uint32_t HostRandom::next() {  // xorshift64*: plenty for masks and jitter
  state_ ^= state_ >> 12;
  state_ ^= state_ << 25;
  state_ ^= state_ >> 27;
  return static_cast<uint32_t>((state_ * 0x2545F4914F6CDD1Dull) >> 32);
}

// ---- config store ------------------------------------------------------------------------------

static std::string escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '\\') o += "\\\\";
    else if (c == '\n') o += "\\n";
    else if (c == '\r') o += "\\r";
    else o += c;
  }
  return o;
}

static std::string unescape(const std::string& s) {
  std::string o;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      char n = s[++i];
      o += n == 'n' ? '\n' : n == 'r' ? '\r' : n;
    } else {
      o += s[i];
    }
  }
  return o;
}

FileStore::FileStore(std::string path) : path_(std::move(path)) {
  std::ifstream in(path_);
  std::string line;
  while (std::getline(in, line)) {
    size_t eq = line.find('=');
    if (eq != std::string::npos) kv_[line.substr(0, eq)] = unescape(line.substr(eq + 1));
  }
}

bool FileStore::get(const char* key, std::string& value) {
  auto it = kv_.find(key);
  if (it == kv_.end()) return false;
  value = it->second;
  return true;
}

bool FileStore::put(const char* key, const std::string& value) {
  kv_[key] = value;
  return flush();
}

bool FileStore::clear() {
  kv_.clear();
  return flush();
}

bool FileStore::flush() {
  if (path_.empty()) return true;  // no file: settings live for this run only
  std::ostringstream out;
  for (const auto& kv : kv_) out << kv.first << '=' << escape(kv.second) << '\n';
  return writeAtomically(path_, out.str());
}

// ---- logger ------------------------------------------------------------------------------------

void StdoutLogger::write(LogLevel level, const std::string& msg) {
  if (level < min_) return;
  uint64_t ms = clock_.millis();
  // One line per event, flushed at once: the integration test reads this output live.
  printf("[%6llu.%03llu] %-5s %s\n", static_cast<unsigned long long>(ms / 1000), static_cast<unsigned long long>(ms % 1000),
         logLevelName(level), msg.c_str());
  fflush(stdout);
}

// ---- board -------------------------------------------------------------------------------------

void HostBoard::setLamp(int percent) { state_.set("lamp", percent); }

void HostBoard::setServo(int pan, int tilt) {
  state_.set("pan", pan);
  state_.set("tilt", tilt);
}

void HostBoard::restart() {
  printf("restarting: exec %s\n", argv_[0]);
  fflush(stdout);
  execv("/proc/self/exe", argv_);
  perror("execv");  // only reached if exec failed
  _exit(3);
}

void HostBoard::addStatus(Json& info) {
  // What the ESP32 reports as free heap; here the host's available memory, for the same field.
  std::ifstream in("/proc/meminfo");
  std::string key;
  long long kb = 0;
  std::string unit;
  while (in >> key >> kb >> unit)
    if (key == "MemAvailable:") {
      info.set("heap", kb * 1024);
      break;
    }
  info.set("reset_reason", "poweron");
}

}  // namespace c2m::host
