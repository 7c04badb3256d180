// SHA-1 and base64, only for the WebSocket opening handshake (RFC 6455 section 4: the client checks
// Sec-WebSocket-Accept = base64(sha1(key + GUID))). Not for anything security-relevant.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace c2m {

void sha1(const uint8_t* data, size_t len, uint8_t out[20]);
std::string base64(const uint8_t* data, size_t len);

}  // namespace c2m
