// esp32-camera: init with the board's pins, JPEG capture, sensor settings, and the 1/8-scale
// grayscale decode for the motion detector (esp_jpg_decode, the ROM tjpgd decoder).
#include <esp_camera.h>
#include <esp_jpg_decode.h>

#include <algorithm>
#include <cstring>

#include "board_pins.h"
#include "esp32_hal.h"

namespace c2m::esp32 {

namespace {

// kFrameSizes (core/commands.cpp) follows the current framesize_t enum, which has 128X128 and 320X320.
// Older esp32-camera releases (bundled with arduino-esp32 2.0.x) lack those two, which shifts every
// later value: map by counting, so one source builds against both.
constexpr bool kNewEnum = FRAMESIZE_INVALID >= 24;

int toEnum(int index) {
  if (kNewEnum) return index;
  if (index == 2 || index == 7) return -1;  // 128X128, 320X320 do not exist there
  return index - (index > 2) - (index > 7);
}

int fromEnum(int value) {
  if (kNewEnum) return value;
  return value + (value >= 2) + (value >= 6);  // 0,1 | 2..5 -> 3..6 | 6.. -> 8..
}

sensor_t* sensorOrNull() { return esp_camera_sensor_get(); }

}  // namespace

bool Esp32Camera::begin(std::string& err) {
#ifdef C2M_POWER_HOLD_PIN
  pinMode(C2M_POWER_HOLD_PIN, OUTPUT);
  digitalWrite(C2M_POWER_HOLD_PIN, HIGH);
#endif
  camera_config_t config = {};
  config.ledc_channel = LEDC_CHANNEL_0;  // XCLK; the lamp and servos use other channels/timers
  config.ledc_timer = LEDC_TIMER_0;
  config.pin_d0 = Y2_GPIO_NUM;
  config.pin_d1 = Y3_GPIO_NUM;
  config.pin_d2 = Y4_GPIO_NUM;
  config.pin_d3 = Y5_GPIO_NUM;
  config.pin_d4 = Y6_GPIO_NUM;
  config.pin_d5 = Y7_GPIO_NUM;
  config.pin_d6 = Y8_GPIO_NUM;
  config.pin_d7 = Y9_GPIO_NUM;
  config.pin_xclk = XCLK_GPIO_NUM;
  config.pin_pclk = PCLK_GPIO_NUM;
  config.pin_vsync = VSYNC_GPIO_NUM;
  config.pin_href = HREF_GPIO_NUM;
  config.pin_sccb_sda = SIOD_GPIO_NUM;
  config.pin_sccb_scl = SIOC_GPIO_NUM;
  config.pin_pwdn = PWDN_GPIO_NUM;
  config.pin_reset = RESET_GPIO_NUM;
  config.xclk_freq_hz = 20000000;
  config.pixel_format = PIXFORMAT_JPEG;
  config.jpeg_quality = 10;
  if (psramFound()) {
    // Frame buffers are allocated for the init size: init at UXGA so every size up to it (and the
    // full-resolution snapshot) fits. Two buffers + GRAB_LATEST: capture overlaps sending.
    config.frame_size = FRAMESIZE_UXGA;
    config.fb_count = 2;
    config.fb_location = CAMERA_FB_IN_PSRAM;
    config.grab_mode = CAMERA_GRAB_LATEST;
    maxFramesize_ = fromEnum(FRAMESIZE_UXGA);
  } else {
    config.frame_size = FRAMESIZE_SVGA;
    config.fb_count = 1;
    config.fb_location = CAMERA_FB_IN_DRAM;
    config.grab_mode = CAMERA_GRAB_WHEN_EMPTY;
    maxFramesize_ = fromEnum(FRAMESIZE_SVGA);
  }
  esp_err_t rc = esp_camera_init(&config);
  if (rc != ESP_OK) {
    char buf[64];
    snprintf(buf, sizeof buf, "camera init failed: 0x%x (wrong board selected?)", static_cast<unsigned>(rc));
    err = buf;
    return false;
  }
  sensor_t* s = sensorOrNull();
  if (camera_sensor_info_t* info = s ? esp_camera_sensor_get_info(&s->id) : nullptr) {
    sensorName_ = info->name;
    maxFramesize_ = std::min(maxFramesize_, fromEnum(info->max_size));
  }
  if (s && C2M_DEFAULT_VFLIP) s->set_vflip(s, 1);
  ready_ = true;
  return true;
}

bool Esp32Camera::capture(CameraFrame& out, bool full, std::string& err) {
  if (!ready_) return err = "camera not initialised", false;
  sensor_t* s = sensorOrNull();
  const bool switchSize = full && s && framesize_ >= 0 && framesize_ != maxFramesize_;
  if (switchSize) {
    s->set_framesize(s, static_cast<framesize_t>(toEnum(maxFramesize_)));
    // Buffers already queued hold the old size: drop them.
    for (int i = 0; i < 2; ++i)
      if (camera_fb_t* stale = esp_camera_fb_get()) esp_camera_fb_return(stale);
  }
  if (dropNext_ && !switchSize) {
    dropNext_ = false;
    if (camera_fb_t* stale = esp_camera_fb_get()) esp_camera_fb_return(stale);
  }
  camera_fb_t* fb = esp_camera_fb_get();
  if (switchSize) {
    // Back to the streaming size; the frame queued meanwhile is full size: the next capture drops it.
    s->set_framesize(s, static_cast<framesize_t>(toEnum(framesize_)));
    dropNext_ = true;
  }
  if (!fb) return err = "no frame from the camera (esp_camera_fb_get timed out)", false;
  if (fb->format != PIXFORMAT_JPEG || fb->len < 4) {
    esp_camera_fb_return(fb);
    return err = "the camera delivered a non-JPEG frame", false;
  }
  out.jpeg = fb->buf;
  out.len = fb->len;
  out.width = static_cast<int>(fb->width);
  out.height = static_cast<int>(fb->height);
  out.handle = fb;
  return true;
}

void Esp32Camera::release(CameraFrame& frame) {
  if (frame.handle) esp_camera_fb_return(static_cast<camera_fb_t*>(frame.handle));
  frame.handle = nullptr;
  frame.jpeg = nullptr;
}

namespace {

struct GrayJob {
  const uint8_t* src;
  size_t len;
  std::vector<uint8_t>* out;
  int w = 0, h = 0;
};

size_t readJpeg(void* arg, size_t index, uint8_t* buf, size_t len) {
  auto* j = static_cast<GrayJob*>(arg);
  if (index >= j->len) return 0;
  len = std::min(len, j->len - index);
  if (buf) memcpy(buf, j->src + index, len);  // tjpgd skips data with buf == NULL
  return len;
}

bool writeGray(void* arg, uint16_t x, uint16_t y, uint16_t w, uint16_t h, uint8_t* data) {
  auto* j = static_cast<GrayJob*>(arg);
  if (!data) {  // esp_jpg_decode announces the output size first (x = y = 0), then marks the end
    if (x == 0 && y == 0) {
      j->w = w;
      j->h = h;
      j->out->assign(static_cast<size_t>(w) * h, 0);
    }
    return true;
  }
  for (uint16_t row = 0; row < h; ++row) {
    if (y + row >= j->h) break;
    uint8_t* dst = j->out->data() + static_cast<size_t>(y + row) * j->w + x;
    for (uint16_t col = 0; col < w && x + col < j->w; ++col, data += 3)  // RGB888 -> luma
      dst[col] = static_cast<uint8_t>((data[0] * 77 + data[1] * 150 + data[2] * 29) >> 8);
    if (w > j->w - x) data += 3 * (w - (j->w - x));
  }
  return true;
}

}  // namespace

bool Esp32Camera::toGray(const CameraFrame& frame, std::vector<uint8_t>& gray, int& w, int& h) {
  GrayJob job;
  job.src = frame.jpeg;
  job.len = frame.len;
  job.out = &gray;
  if (esp_jpg_decode(frame.len, JPG_SCALE_8X, readJpeg, writeGray, &job) != ESP_OK) return false;
  w = job.w;
  h = job.h;
  return w > 0 && h > 0;
}

bool Esp32Camera::apply(const Command& c, std::string& err) {
  sensor_t* s = sensorOrNull();
  if (!s) return err = "camera not initialised", false;
  int rc = 0;
  switch (c.control) {
    case Control::Framesize: {
      int value = toEnum(c.integer);
      if (value < 0 || c.integer > maxFramesize_) {
        err = "unsupported framesize " + c.text + " (this camera goes up to " + kFrameSizes[maxFramesize_] + ")";
        return false;
      }
      rc = s->set_framesize(s, static_cast<framesize_t>(value));
      if (rc == 0) framesize_ = c.integer;
      break;
    }
    case Control::Quality: rc = s->set_quality(s, c.integer); break;
    case Control::Vflip: rc = s->set_vflip(s, c.flag ? 1 : 0); break;
    case Control::Hmirror: rc = s->set_hmirror(s, c.flag ? 1 : 0); break;
    case Control::Brightness: rc = s->set_brightness(s, c.integer); break;
    case Control::Contrast: rc = s->set_contrast(s, c.integer); break;
    default: return err = std::string(controlName(c.control)) + " is not a sensor setting", false;
  }
  if (rc != 0) return err = std::string("the sensor refused ") + controlName(c.control), false;
  return true;
}

bool Esp32Camera::rawSetting(const std::string& key, const std::string& value, Json& result, std::string& err) {
  static const char* const known[] = {"xclk", "saturation", "sharpness", "awb", "aec", "agc", "special_effect", "wb_mode"};
  if (std::find_if(std::begin(known), std::end(known), [&](const char* k) { return key == k; }) == std::end(known))
    return err = "unknown setting", false;  // the App turns this into "unknown raw command"
  sensor_t* s = sensorOrNull();
  if (!s) return err = "camera not initialised", false;
  char* end = nullptr;
  long l = strtol(value.c_str(), &end, 10);
  if (value.empty() || !end || *end) return err = key + ": expected an integer", false;
  const int v = static_cast<int>(l);
  int rc;
  if (key == "xclk") rc = s->set_xclk(s, LEDC_TIMER_0, v);  // MHz
  else if (key == "saturation") rc = s->set_saturation(s, v);
  else if (key == "sharpness") rc = s->set_sharpness(s, v);
  else if (key == "awb") rc = s->set_whitebal(s, v);
  else if (key == "aec") rc = s->set_exposure_ctrl(s, v);
  else if (key == "agc") rc = s->set_gain_ctrl(s, v);
  else if (key == "special_effect") rc = s->set_special_effect(s, v);
  else rc = s->set_wb_mode(s, v);
  if (rc != 0) return err = "the sensor refused " + key + "=" + value, false;
  result = Json::object();
  result.set(key, v);
  return true;
}

}  // namespace c2m::esp32
