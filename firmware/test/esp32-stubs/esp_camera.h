// STUB for the host-side compile check of hal/esp32 (CMake targets esp32_stub_check_v2/_v3).
// Declares only what hal/esp32 uses, with the signatures of arduino-esp32 2.x / 3.x (STUBVER) and
// esp32-camera. It catches hal/esp32 breaking against core/ and plain C++ mistakes; it proves
// nothing about the real APIs, which were checked by reading their headers.
#pragma once
#include <cstddef>
#include <cstdint>
#include "esp_system.h"
typedef enum { FRAMESIZE_96X96, FRAMESIZE_QQVGA, FRAMESIZE_128X128, FRAMESIZE_QCIF, FRAMESIZE_HQVGA, FRAMESIZE_240X240, FRAMESIZE_QVGA, FRAMESIZE_320X320, FRAMESIZE_CIF, FRAMESIZE_HVGA, FRAMESIZE_VGA, FRAMESIZE_SVGA, FRAMESIZE_XGA, FRAMESIZE_HD, FRAMESIZE_SXGA, FRAMESIZE_UXGA, FRAMESIZE_FHD, FRAMESIZE_P_HD, FRAMESIZE_P_3MP, FRAMESIZE_QXGA, FRAMESIZE_QHD, FRAMESIZE_WQXGA, FRAMESIZE_P_FHD, FRAMESIZE_QSXGA, FRAMESIZE_INVALID } framesize_t;
typedef enum { PIXFORMAT_RGB565, PIXFORMAT_YUV422, PIXFORMAT_YUV420, PIXFORMAT_GRAYSCALE, PIXFORMAT_JPEG } pixformat_t;
typedef enum { LEDC_CHANNEL_0 } ledc_channel_t;
typedef enum { LEDC_TIMER_0 } ledc_timer_t;
typedef enum { CAMERA_FB_IN_PSRAM, CAMERA_FB_IN_DRAM } camera_fb_location_t;
typedef enum { CAMERA_GRAB_WHEN_EMPTY, CAMERA_GRAB_LATEST } camera_grab_mode_t;
typedef struct { int pin_pwdn, pin_reset, pin_xclk; union { int pin_sccb_sda; int pin_sscb_sda; }; union { int pin_sccb_scl; int pin_sscb_scl; };
  int pin_d7, pin_d6, pin_d5, pin_d4, pin_d3, pin_d2, pin_d1, pin_d0, pin_vsync, pin_href, pin_pclk; int xclk_freq_hz;
  ledc_timer_t ledc_timer; ledc_channel_t ledc_channel; pixformat_t pixel_format; framesize_t frame_size; int jpeg_quality; size_t fb_count;
  camera_fb_location_t fb_location; camera_grab_mode_t grab_mode; } camera_config_t;
typedef struct { uint8_t* buf; size_t len; size_t width; size_t height; pixformat_t format; } camera_fb_t;
typedef struct { uint8_t MIDH, MIDL; uint16_t PID; uint8_t VER; } sensor_id_t;
typedef struct { int model; const char* name; int sccb_addr; int pid; framesize_t max_size; bool support_jpeg; } camera_sensor_info_t;
typedef struct _sensor sensor_t;
struct _sensor { sensor_id_t id;
  int (*set_framesize)(sensor_t*, framesize_t); int (*set_quality)(sensor_t*, int); int (*set_vflip)(sensor_t*, int); int (*set_hmirror)(sensor_t*, int);
  int (*set_brightness)(sensor_t*, int); int (*set_contrast)(sensor_t*, int); int (*set_saturation)(sensor_t*, int); int (*set_sharpness)(sensor_t*, int);
  int (*set_whitebal)(sensor_t*, int); int (*set_exposure_ctrl)(sensor_t*, int); int (*set_gain_ctrl)(sensor_t*, int); int (*set_special_effect)(sensor_t*, int);
  int (*set_wb_mode)(sensor_t*, int); int (*set_xclk)(sensor_t*, int timer, int xclk); };
esp_err_t esp_camera_init(const camera_config_t*);
camera_fb_t* esp_camera_fb_get();
void esp_camera_fb_return(camera_fb_t*);
sensor_t* esp_camera_sensor_get();
camera_sensor_info_t* esp_camera_sensor_get_info(sensor_id_t* id);
