// Build-time settings. Everything here is optional: a camera without WiFi settings opens its setup
// portal (WiFi "cam2mqtt-setup-XXXX", http://192.168.4.1) and the serial console (115200 baud) takes
// the same settings. Values set here are defaults; what was saved on the camera wins, unless
// C2M_CONFIG_OVERRIDE is 1 (then these win on every boot: handy for fleets flashed from one build).
//
// PlatformIO: set them as build_flags in platformio.ini, e.g. -DC2M_WIFI_SSID=\"home\".
// Arduino IDE: uncomment and edit the lines below.
#pragma once

// #define C2M_BOARD_AI_THINKER        // or C2M_BOARD_ESP32S3_EYE, C2M_BOARD_XIAO_ESP32S3, C2M_BOARD_M5STACK_TIMERCAM,
//                                     //    C2M_BOARD_M5STACK_CAMS3_UNIT, C2M_BOARD_WROVER_KIT, C2M_BOARD_ESP_EYE
// #define C2M_WIFI_SSID "my-wifi"
// #define C2M_WIFI_PASSWORD "my-password"
// #define C2M_BRIDGE_URL "ws://192.168.1.10:9090/api/camera"
// #define C2M_CAMERA_ID "garage"
// #define C2M_CAMERA_TOKEN ""
// #define C2M_CAMERA_NAME "Garage"
// #define C2M_CONFIG_OVERRIDE 1
// #define C2M_OTA_PASSWORD "change-me"   // ArduinoOTA (network upload from the IDE); unset = the camera token
// #define C2M_PAN_PIN 14                 // optional pan/tilt servos (50 Hz PWM)
// #define C2M_TILT_PIN 15
// #define C2M_NTP_SERVER "pool.ntp.org"
// #define C2M_TLS_CA_CERT "-----BEGIN CERTIFICATE-----\n..."  // for wss://; unset = encrypted, not verified

#ifndef C2M_WIFI_SSID
#define C2M_WIFI_SSID ""
#endif
#ifndef C2M_WIFI_PASSWORD
#define C2M_WIFI_PASSWORD ""
#endif
#ifndef C2M_BRIDGE_URL
#define C2M_BRIDGE_URL ""
#endif
#ifndef C2M_CAMERA_ID
#define C2M_CAMERA_ID ""  // empty: "esp32cam-" + the last 3 bytes of the MAC
#endif
#ifndef C2M_CAMERA_TOKEN
#define C2M_CAMERA_TOKEN ""
#endif
#ifndef C2M_CAMERA_NAME
#define C2M_CAMERA_NAME ""
#endif
#ifndef C2M_CONFIG_OVERRIDE
#define C2M_CONFIG_OVERRIDE 0
#endif
#ifndef C2M_NTP_SERVER
#define C2M_NTP_SERVER "pool.ntp.org"
#endif
