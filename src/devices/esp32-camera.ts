// The esp32-camera driver's vocabulary, shared by every ESP32 camera family (framesize_t).

/** Frame size names in the order of the current esp32-camera enum: index = framesize_t value. */
export const FRAMESIZES = [
  '96X96',
  'QQVGA',
  '128X128',
  'QCIF',
  'HQVGA',
  '240X240',
  'QVGA',
  '320X320',
  'CIF',
  'HVGA',
  'VGA',
  'SVGA',
  'XGA',
  'HD',
  'SXGA',
  'UXGA',
  'FHD',
  'P_HD',
  'P_3MP',
  'QXGA',
  'QHD',
  'WQXGA',
  'P_FHD',
  'QSXGA',
] as const;
export type FrameSize = (typeof FRAMESIZES)[number];
