{
  "targets": [
    {
      "target_name": "otoc_kernels",
      "sources": ["src/activation.c", "src/batchnorm.c", "src/addon.c"],
      "cflags": ["-O3", "-march=native", "-std=c11"],
      "xcode_settings": { "OTHER_CFLAGS": ["-O3"] }
    }
  ]
}
