"""Preview rendering: decode safely, scale, watermark, encode. Pure functions on bytes."""
