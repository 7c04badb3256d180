// STUB for the host-side compile check of hal/esp32 (CMake targets esp32_stub_check_v2/_v3).
// Declares only what hal/esp32 uses, with the signatures of arduino-esp32 2.x / 3.x (STUBVER) and
// esp32-camera. It catches hal/esp32 breaking against core/ and plain C++ mistakes; it proves
// nothing about the real APIs, which were checked by reading their headers.
#pragma once
#include <cstddef>
#include <cstdint>
#include "esp_system.h"
typedef enum { JPG_SCALE_NONE, JPG_SCALE_2X, JPG_SCALE_4X, JPG_SCALE_8X } jpg_scale_t;
typedef size_t (*jpg_reader_cb)(void* arg, size_t index, uint8_t* buf, size_t len);
typedef bool (*jpg_writer_cb)(void* arg, uint16_t x, uint16_t y, uint16_t w, uint16_t h, uint8_t* data);
esp_err_t esp_jpg_decode(size_t len, jpg_scale_t scale, jpg_reader_cb reader, jpg_writer_cb writer, void* arg);
