// Entry points of the ESP32 firmware, called from src/main.cpp (PlatformIO) and cam2mqtt.ino (Arduino IDE).
#pragma once

void c2m_setup();
void c2m_loop();
