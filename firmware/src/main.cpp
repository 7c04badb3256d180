// PlatformIO entry point. Everything happens in hal/esp32/esp32_main.cpp and core/.
#include <Arduino.h>

#include "esp32_main.h"

void setup() { c2m_setup(); }
void loop() { c2m_loop(); }
