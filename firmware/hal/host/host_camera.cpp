// The stand-in camera: JPEG files from a directory (served byte for byte, so a test can compare what
// comes out of the bridge), or a generated scene encoded with libjpeg in which a bright square crosses
// the picture on request, for motion detection. Settings behave like a sensor's: frame size changes
// the generated resolution, quality the JPEG quality, flips mirror the picture.
#include <dirent.h>

#include <algorithm>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "host_hal.h"

// jpeglib.h needs FILE and size_t declared first.
#include <jpeglib.h>

namespace c2m::host {

std::atomic<bool> HostCamera::passRequested{false};

bool jpegSize(const uint8_t* d, size_t len, int& w, int& h) {
  size_t i = 2;
  while (i + 9 < len) {
    if (d[i] != 0xFF) return false;
    uint8_t marker = d[i + 1];
    size_t seg = (size_t(d[i + 2]) << 8) | d[i + 3];
    if (marker >= 0xC0 && marker <= 0xC3) {
      h = (d[i + 5] << 8) | d[i + 6];
      w = (d[i + 7] << 8) | d[i + 8];
      return true;
    }
    i += 2 + seg;
  }
  return false;
}

namespace {

struct JpegError {
  jpeg_error_mgr mgr;
  jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void onJpegError(j_common_ptr cinfo) {
  auto* e = reinterpret_cast<JpegError*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, e->message);
  longjmp(e->jump, 1);
}

/** esp32-camera quality (4 best .. 63 worst) as a libjpeg quality (95 .. 15). */
int libjpegQuality(int q) { return 95 - (q - 4) * 80 / 59; }

}  // namespace

HostCamera::HostCamera(HostState& state, Clock& clock, SceneOptions opts) : state_(state), clock_(clock), opts_(std::move(opts)) {}

bool HostCamera::load(std::string& err) {
  if (opts_.framesDir.empty()) return true;
  DIR* dir = opendir(opts_.framesDir.c_str());
  if (!dir) {
    err = "cannot open frames directory " + opts_.framesDir;
    return false;
  }
  std::vector<std::string> names;
  while (dirent* e = readdir(dir)) {
    std::string n = e->d_name;
    std::string lower = n;
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    if (lower.size() > 4 && (lower.substr(lower.size() - 4) == ".jpg" || lower.substr(lower.size() - 5) == ".jpeg")) names.push_back(n);
  }
  closedir(dir);
  std::sort(names.begin(), names.end());
  for (const std::string& n : names) {
    std::ifstream in(opts_.framesDir + "/" + n, std::ios::binary);
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (bytes.size() < 4 || bytes[0] != 0xFF || bytes[1] != 0xD8) {
      err = n + " is not a JPEG";
      return false;
    }
    files_.push_back(std::move(bytes));
  }
  if (files_.empty()) {
    err = "no .jpg files in " + opts_.framesDir;
    return false;
  }
  return true;
}

bool HostCamera::capture(CameraFrame& out, bool full, std::string& err) {
  const std::vector<uint8_t>* jpeg;
  if (!files_.empty()) {
    jpeg = &files_[next_];
    next_ = (next_ + 1) % files_.size();
  } else {
    int w, h;
    frameSizeDims(full ? opts_.maxFramesize : framesize_, w, h);
    if (!generate(w, h, clock_.millis(), generated_, err)) return false;
    jpeg = &generated_;
  }
  out.jpeg = jpeg->data();
  out.len = jpeg->size();
  out.width = out.height = 0;
  jpegSize(out.jpeg, out.len, out.width, out.height);
  out.handle = nullptr;
  return true;
}

void HostCamera::release(CameraFrame& frame) { frame.jpeg = nullptr; }

bool HostCamera::generate(int width, int height, uint64_t nowMs, std::vector<uint8_t>& jpeg, std::string& err) {
  // Where is the square? A pass lasts passMs and moves it from 10 % to 70 % of the width at mid height.
  const uint64_t period = opts_.periodMs ? nowMs / opts_.periodMs : 0;
  if (passRequested.exchange(false) || (period > lastPeriod_ && !passActive_)) {
    lastPeriod_ = period;
    passActive_ = true;
    passStart_ = nowMs;
  }
  if (passActive_ && nowMs - passStart_ >= opts_.passMs) passActive_ = false;
  const int side = height / 5;
  int sx = -1, sy = height * 2 / 5;
  if (passActive_) sx = width / 10 + static_cast<int>((nowMs - passStart_) * static_cast<uint64_t>(width * 6 / 10) / opts_.passMs);

  std::vector<uint8_t> rgb(static_cast<size_t>(width) * height * 3);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      // A textured backdrop (so JPEG and the detector see a real-ish picture) plus a little sensor noise.
      noiseSeed_ = noiseSeed_ * 1103515245u + 12345u;
      int noise = static_cast<int>((noiseSeed_ >> 16) % 5) - 2;
      int base = 70 + (x * 90 / width) + ((x / 16 + y / 16) % 2) * 20 + noise;
      int r = base, g = base + 10, b = base + 25;
      int px = hmirror_ ? width - 1 - x : x, py = vflip_ ? height - 1 - y : y;
      if (sx >= 0 && px >= sx && px < sx + side && py >= sy && py < sy + side) r = 240, g = 220, b = 60;
      int* ch[3] = {&r, &g, &b};
      for (int c = 0; c < 3; ++c) {
        int v = (*ch[c] - 128) * (4 + contrast_) / 4 + 128 + brightness_ * 20;
        rgb[(static_cast<size_t>(y) * width + x) * 3 + c] = static_cast<uint8_t>(std::clamp(v, 0, 255));
      }
    }
  }

  jpeg_compress_struct cinfo{};
  JpegError jerr{};
  cinfo.err = jpeg_std_error(&jerr.mgr);
  jerr.mgr.error_exit = onJpegError;
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  if (setjmp(jerr.jump)) {
    jpeg_destroy_compress(&cinfo);
    free(buf);
    err = std::string("JPEG encode: ") + jerr.message;
    return false;
  }
  jpeg_create_compress(&cinfo);
  jpeg_mem_dest(&cinfo, &buf, &size);
  cinfo.image_width = static_cast<JDIMENSION>(width);
  cinfo.image_height = static_cast<JDIMENSION>(height);
  cinfo.input_components = 3;
  cinfo.in_color_space = JCS_RGB;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, libjpegQuality(quality_), TRUE);
  jpeg_start_compress(&cinfo, TRUE);
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = &rgb[static_cast<size_t>(cinfo.next_scanline) * width * 3];
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  jpeg.assign(buf, buf + size);
  free(buf);
  return true;
}

bool HostCamera::toGray(const CameraFrame& frame, std::vector<uint8_t>& gray, int& w, int& h) {
  // Same job as esp_jpg_decode(JPG_SCALE_8X) on the ESP32: a 1/8-size grayscale picture.
  jpeg_decompress_struct cinfo{};
  JpegError jerr{};
  cinfo.err = jpeg_std_error(&jerr.mgr);
  jerr.mgr.error_exit = onJpegError;
  if (setjmp(jerr.jump)) {
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, frame.jpeg, static_cast<unsigned long>(frame.len));
  jpeg_read_header(&cinfo, TRUE);
  cinfo.scale_num = 1;
  cinfo.scale_denom = 8;
  cinfo.out_color_space = JCS_GRAYSCALE;
  jpeg_start_decompress(&cinfo);
  w = static_cast<int>(cinfo.output_width);
  h = static_cast<int>(cinfo.output_height);
  gray.resize(static_cast<size_t>(w) * h);
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = &gray[static_cast<size_t>(cinfo.output_scanline) * w];
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  return true;
}

bool HostCamera::apply(const Command& c, std::string& err) {
  switch (c.control) {
    case Control::Framesize:
      if (c.integer > opts_.maxFramesize) {
        err = "unsupported framesize " + c.text + " (this sensor goes up to " + kFrameSizes[opts_.maxFramesize] + ")";
        return false;
      }
      framesize_ = c.integer;
      state_.set("framesize", c.text);
      return true;
    case Control::Quality:
      quality_ = c.integer;
      state_.set("quality", c.integer);
      return true;
    case Control::Vflip:
      vflip_ = c.flag;
      state_.set("vflip", c.flag);
      return true;
    case Control::Hmirror:
      hmirror_ = c.flag;
      state_.set("hmirror", c.flag);
      return true;
    case Control::Brightness:
      brightness_ = c.integer;
      state_.set("brightness", c.integer);
      return true;
    case Control::Contrast:
      contrast_ = c.integer;
      state_.set("contrast", c.integer);
      return true;
    default:
      err = std::string(controlName(c.control)) + " is not a sensor setting";
      return false;
  }
}

bool HostCamera::rawSetting(const std::string& key, const std::string& value, Json& result, std::string& err) {
  // The same sensor settings the ESP32 layer accepts (hal/esp32/esp32_camera.cpp), kept in the state.
  static const char* const known[] = {"xclk", "saturation", "sharpness", "awb", "aec", "agc", "special_effect", "wb_mode"};
  for (const char* k : known) {
    if (key != k) continue;
    char* end = nullptr;
    long v = strtol(value.c_str(), &end, 10);
    if (value.empty() || *end) {
      err = key + ": expected an integer";
      return false;
    }
    state_.set(key, static_cast<long long>(v));
    result = Json::object();
    result.set(key, static_cast<long long>(v));
    return true;
  }
  err = "unknown setting";
  return false;
}

}  // namespace c2m::host
