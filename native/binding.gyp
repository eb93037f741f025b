{
  "targets": [
    {
      "target_name": "sbn_kernels",
      "sources": [
        "src/addon.cc", "src/runtime.cc", "src/drivers.cc", "src/noise_models.cc", "src/last_layer.cc",
        "src/sampling.cc", "src/optimizer.cc", "src/isa_scalar.cc", "src/isa_avx2.cc", "src/isa_avx512.cc", "src/tf_devices.cc", "src/dense_step.cc", "src/conv_step.cc"
      ],
      "defines": ["NAPI_VERSION=8"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=gnu++14"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-O3", "-ffp-contract=off", "-fno-math-errno", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "conditions": [
        ["OS=='linux'", {
          "cflags_cc": ["-Wno-maybe-uninitialized", "-Wno-uninitialized"],
          "libraries": ["-ldl"]
        }],
        ["OS=='linux' and <!pymod_do_main(detect_blas)==1", {
          "defines": ["SBN_HAVE_BLAS"],
          "libraries": ["-lopenblas"]
        }]
      ],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "OTHER_CPLUSPLUSFLAGS": ["-ffp-contract=off"]
      },
      "msvs_settings": {
        "VCCLCompilerTool": { "ExceptionHandling": 1, "AdditionalOptions": ["/std:c++17", "/fp:precise"] }
      }
    }
  ]
}
