// Camera pin maps, from the esp32-camera / arduino-esp32 CameraWebServer example (camera_pins.h).
// Pick the board with one define (platformio.ini does it per environment; in the Arduino IDE edit
// c2m_build_config.h). AI-Thinker is the default.
//
// Also per board: the flash LED ("lamp", PWM-dimmed) and its polarity. Servos are optional and
// have no default pins: set C2M_PAN_PIN / C2M_TILT_PIN to GPIOs that are free on your board.
#pragma once

#include "c2m_build_config.h"

#if !defined(C2M_BOARD_AI_THINKER) && !defined(C2M_BOARD_ESP32S3_EYE) && !defined(C2M_BOARD_XIAO_ESP32S3) && \
    !defined(C2M_BOARD_M5STACK_TIMERCAM) && !defined(C2M_BOARD_WROVER_KIT) && !defined(C2M_BOARD_ESP_EYE) &&      \
    !defined(C2M_BOARD_M5STACK_CAMS3_UNIT)
#define C2M_BOARD_AI_THINKER
#endif

#if defined(C2M_BOARD_AI_THINKER)
#define C2M_BOARD_NAME "AI-Thinker ESP32-CAM"
#define PWDN_GPIO_NUM 32
#define RESET_GPIO_NUM -1
#define XCLK_GPIO_NUM 0
#define SIOD_GPIO_NUM 26
#define SIOC_GPIO_NUM 27
#define Y9_GPIO_NUM 35
#define Y8_GPIO_NUM 34
#define Y7_GPIO_NUM 39
#define Y6_GPIO_NUM 36
#define Y5_GPIO_NUM 21
#define Y4_GPIO_NUM 19
#define Y3_GPIO_NUM 18
#define Y2_GPIO_NUM 5
#define VSYNC_GPIO_NUM 25
#define HREF_GPIO_NUM 23
#define PCLK_GPIO_NUM 22
#define C2M_DEFAULT_LAMP_PIN 4  // the white flash LED (GPIO 33 is the small red one)

#elif defined(C2M_BOARD_ESP32S3_EYE)
#define C2M_BOARD_NAME "ESP32-S3-EYE"
#define PWDN_GPIO_NUM -1
#define RESET_GPIO_NUM -1
#define XCLK_GPIO_NUM 15
#define SIOD_GPIO_NUM 4
#define SIOC_GPIO_NUM 5
#define Y2_GPIO_NUM 11
#define Y3_GPIO_NUM 9
#define Y4_GPIO_NUM 8
#define Y5_GPIO_NUM 10
#define Y6_GPIO_NUM 12
#define Y7_GPIO_NUM 18
#define Y8_GPIO_NUM 17
#define Y9_GPIO_NUM 16
#define VSYNC_GPIO_NUM 6
#define HREF_GPIO_NUM 7
#define PCLK_GPIO_NUM 13
#define C2M_DEFAULT_VFLIP 1  // the sensor is mounted upside down (as in the example)

#elif defined(C2M_BOARD_XIAO_ESP32S3)
#define C2M_BOARD_NAME "XIAO ESP32S3 Sense"
#define PWDN_GPIO_NUM -1
#define RESET_GPIO_NUM -1
#define XCLK_GPIO_NUM 10
#define SIOD_GPIO_NUM 40
#define SIOC_GPIO_NUM 39
#define Y9_GPIO_NUM 48
#define Y8_GPIO_NUM 11
#define Y7_GPIO_NUM 12
#define Y6_GPIO_NUM 14
#define Y5_GPIO_NUM 16
#define Y4_GPIO_NUM 18
#define Y3_GPIO_NUM 17
#define Y2_GPIO_NUM 15
#define VSYNC_GPIO_NUM 38
#define HREF_GPIO_NUM 47
#define PCLK_GPIO_NUM 13

#elif defined(C2M_BOARD_M5STACK_TIMERCAM)
// M5Stack Timer Camera (X/F): same camera wiring as CAMERA_MODEL_M5STACK_PSRAM / M5STACK_UNITCAM.
#define C2M_BOARD_NAME "M5Stack TimerCAM"
#define PWDN_GPIO_NUM -1
#define RESET_GPIO_NUM 15
#define XCLK_GPIO_NUM 27
#define SIOD_GPIO_NUM 25
#define SIOC_GPIO_NUM 23
#define Y9_GPIO_NUM 19
#define Y8_GPIO_NUM 36
#define Y7_GPIO_NUM 18
#define Y6_GPIO_NUM 39
#define Y5_GPIO_NUM 5
#define Y4_GPIO_NUM 34
#define Y3_GPIO_NUM 35
#define Y2_GPIO_NUM 32
#define VSYNC_GPIO_NUM 22
#define HREF_GPIO_NUM 26
#define PCLK_GPIO_NUM 21
// On battery the board powers itself off unless BAT_HOLD (GPIO 33) is driven high.
#define C2M_POWER_HOLD_PIN 33

#elif defined(C2M_BOARD_M5STACK_CAMS3_UNIT)
#define C2M_BOARD_NAME "M5Stack CamS3 Unit"
#define PWDN_GPIO_NUM -1
#define RESET_GPIO_NUM 21
#define XCLK_GPIO_NUM 11
#define SIOD_GPIO_NUM 17
#define SIOC_GPIO_NUM 41
#define Y9_GPIO_NUM 13
#define Y8_GPIO_NUM 4
#define Y7_GPIO_NUM 10
#define Y6_GPIO_NUM 5
#define Y5_GPIO_NUM 7
#define Y4_GPIO_NUM 16
#define Y3_GPIO_NUM 15
#define Y2_GPIO_NUM 6
#define VSYNC_GPIO_NUM 42
#define HREF_GPIO_NUM 18
#define PCLK_GPIO_NUM 12

#elif defined(C2M_BOARD_WROVER_KIT)
#define C2M_BOARD_NAME "ESP-WROVER-KIT"
#define PWDN_GPIO_NUM -1
#define RESET_GPIO_NUM -1
#define XCLK_GPIO_NUM 21
#define SIOD_GPIO_NUM 26
#define SIOC_GPIO_NUM 27
#define Y9_GPIO_NUM 35
#define Y8_GPIO_NUM 34
#define Y7_GPIO_NUM 39
#define Y6_GPIO_NUM 36
#define Y5_GPIO_NUM 19
#define Y4_GPIO_NUM 18
#define Y3_GPIO_NUM 5
#define Y2_GPIO_NUM 4
#define VSYNC_GPIO_NUM 25
#define HREF_GPIO_NUM 23
#define PCLK_GPIO_NUM 22

#elif defined(C2M_BOARD_ESP_EYE)
#define C2M_BOARD_NAME "ESP-EYE"
#define PWDN_GPIO_NUM -1
#define RESET_GPIO_NUM -1
#define XCLK_GPIO_NUM 4
#define SIOD_GPIO_NUM 18
#define SIOC_GPIO_NUM 23
#define Y9_GPIO_NUM 36
#define Y8_GPIO_NUM 37
#define Y7_GPIO_NUM 38
#define Y6_GPIO_NUM 39
#define Y5_GPIO_NUM 35
#define Y4_GPIO_NUM 14
#define Y3_GPIO_NUM 13
#define Y2_GPIO_NUM 34
#define VSYNC_GPIO_NUM 5
#define HREF_GPIO_NUM 27
#define PCLK_GPIO_NUM 25
#endif

// The lamp: -1 = none. Override with -DC2M_LAMP_PIN=n (and -DC2M_LAMP_ACTIVE_LOW=1 if needed).
#ifndef C2M_LAMP_PIN
#ifdef C2M_DEFAULT_LAMP_PIN
#define C2M_LAMP_PIN C2M_DEFAULT_LAMP_PIN
#else
#define C2M_LAMP_PIN -1
#endif
#endif
#ifndef C2M_LAMP_ACTIVE_LOW
#define C2M_LAMP_ACTIVE_LOW 0
#endif
#ifndef C2M_PAN_PIN
#define C2M_PAN_PIN -1
#endif
#ifndef C2M_TILT_PIN
#define C2M_TILT_PIN -1
#endif
#ifndef C2M_DEFAULT_VFLIP
#define C2M_DEFAULT_VFLIP 0
#endif
