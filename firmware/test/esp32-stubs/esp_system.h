// STUB for the host-side compile check of hal/esp32 (CMake targets esp32_stub_check_v2/_v3).
// Declares only what hal/esp32 uses, with the signatures of arduino-esp32 2.x / 3.x (STUBVER) and
// esp32-camera. It catches hal/esp32 breaking against core/ and plain C++ mistakes; it proves
// nothing about the real APIs, which were checked by reading their headers.
#pragma once
#include <cstdint>
typedef int esp_err_t;
#define ESP_OK 0
typedef enum { ESP_RST_UNKNOWN, ESP_RST_POWERON, ESP_RST_EXT, ESP_RST_SW, ESP_RST_PANIC, ESP_RST_INT_WDT, ESP_RST_TASK_WDT, ESP_RST_WDT, ESP_RST_DEEPSLEEP, ESP_RST_BROWNOUT, ESP_RST_SDIO } esp_reset_reason_t;
esp_reset_reason_t esp_reset_reason(void);
uint32_t esp_random(void);
