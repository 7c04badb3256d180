// Helpers shared by the unit tests.
#pragma once

#include <cstdint>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "json.h"

namespace c2m::test {

inline std::vector<uint8_t> unhex(const std::string& hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

inline std::string bytesToString(const std::vector<uint8_t>& b) { return std::string(b.begin(), b.end()); }

inline std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/** test/vectors/native-v1.json, parsed with the firmware's own JSON parser. */
inline const Json& vectorsFile() {
  static Json doc = [] {
    Json j;
    std::string err;
    if (!Json::parse(readFile(C2M_VECTORS_FILE), j, &err)) throw std::runtime_error("vectors: " + err);
    return j;
  }();
  return doc;
}

}  // namespace c2m::test
