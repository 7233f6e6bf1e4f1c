{
  "variables": { "onednn%": "false" },
  "targets": [
    {
      "target_name": "otoc_kernels",
      "sources": ["src/activation.c", "src/batchnorm.c", "src/pooling.c", "src/addon.c"],
      "cflags": ["-O3", "-march=native"],
      "cflags_c": ["-std=c11"],
      "xcode_settings": { "OTHER_CFLAGS": ["-O3"] },
      "conditions": [
        ["onednn=='true'", {
          "sources": ["src/onednn.cpp"],
          "defines": ["OTOC_ONEDNN"],
          "cflags": ["-fopenmp"],
          "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
          "cflags_cc": ["-std=c++17", "-fexceptions"],
          "libraries": ["-ldnnl", "-fopenmp"]
        }]
      ]
    }
  ]
}
