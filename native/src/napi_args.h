// The N-API argument handling every exported function shares (addon.cc, dense_step.cc): reading typed arrays,
// numbers and strings, the argument count, output arrays, and C++ exceptions turned into JavaScript errors. The
// get* functions throw a JavaScript error naming the argument and return false; the read* functions only report.
#pragma once
#include <node_api.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>

namespace sbn {

struct F32 {
  float* data = nullptr;
  size_t length = 0;
};

inline bool throwError(napi_env env, const std::string& msg, bool range = false) {
  if (range) {
    napi_throw_range_error(env, nullptr, msg.c_str());
  } else {
    napi_throw_type_error(env, nullptr, msg.c_str());
  }
  return false;
}

/**
 * The first `n` arguments into argv (more are ignored, missing ones are undefined); false, with `usage` thrown, when
 * fewer than n − optional were passed.
 */
inline bool getArgs(napi_env env, napi_callback_info info, size_t n, napi_value* argv, const char* usage,
                    size_t optional = 0) {
  size_t argc = n;
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  return argc + optional >= n || throwError(env, usage);
}

/**
 * Runs `work`; a C++ exception (bad_alloc, a failed thread) becomes a JavaScript Error "name: what". Returns
 * `result`, or nullptr once an exception was thrown.
 */
template <class Fn>
napi_value guarded(napi_env env, const char* name, napi_value result, const Fn& work) {
  try {
    work();
  } catch (const std::exception& e) {
    napi_throw_error(env, nullptr, (std::string(name) + ": " + e.what()).c_str());
    return nullptr;
  }
  return result;
}

inline bool readF32(napi_env env, napi_value v, F32* out) {
  bool isTa = false;
  if (napi_is_typedarray(env, v, &isTa) != napi_ok || !isTa) return false;
  napi_typedarray_type type;
  void* data = nullptr;
  if (napi_get_typedarray_info(env, v, &type, &out->length, &data, nullptr, nullptr) != napi_ok ||
      type != napi_float32_array)
    return false;
  out->data = static_cast<float*>(data);
  return true;
}

inline bool readNumber(napi_env env, napi_value v, double* out) {
  napi_valuetype t;
  return napi_typeof(env, v, &t) == napi_ok && t == napi_number && napi_get_value_double(env, v, out) == napi_ok;
}

inline bool readArrayLength(napi_env env, napi_value v, uint32_t* n) {
  bool isArray = false;
  return napi_is_array(env, v, &isArray) == napi_ok && isArray && napi_get_array_length(env, v, n) == napi_ok;
}

inline bool readString(napi_env env, napi_value v, std::string* out) {
  char buf[64];
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, buf, sizeof buf, &len) != napi_ok) return false;
  out->assign(buf, len);
  return true;
}

/** An integer in [0, 2^53) (a seed or a stream offset). */
inline bool readUint53(napi_env env, napi_value v, uint64_t* out) {
  double x = 0;
  if (!readNumber(env, v, &x) || !(x >= 0 && x <= 9007199254740991.0 && x == std::floor(x))) return false;
  *out = static_cast<uint64_t>(x);
  return true;
}

inline bool getF32(napi_env env, napi_value v, const char* name, F32* out) {
  return readF32(env, v, out) || throwError(env, std::string(name) + " must be a Float32Array");
}

inline bool getSize(napi_env env, napi_value v, const char* name, size_t* out, int64_t min = 1) {
  int64_t x = 0;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number || napi_get_value_int64(env, v, &x) != napi_ok) {
    return throwError(env, std::string(name) + " must be an integer");
  }
  if (x < min || x > (int64_t{1} << 31)) return throwError(env, std::string(name) + " out of range", true);
  *out = static_cast<size_t>(x);
  return true;
}

inline bool getString(napi_env env, napi_value v, const char* name, std::string* out) {
  return readString(env, v, out) || throwError(env, std::string(name) + " must be a string");
}

inline bool getNoise(napi_env env, napi_value v, bool* normal) {
  std::string s;
  if (!getString(env, v, "noise", &s)) return false;
  if (s != "logistic" && s != "normal") return throwError(env, "noise must be 'logistic' or 'normal'", true);
  *normal = s == "normal";
  return true;
}

inline bool checkLength(napi_env env, const F32& x, size_t expected, const char* name) {
  if (x.length != expected) {
    return throwError(
        env, std::string(name) + ": length " + std::to_string(x.length) + ", expected " + std::to_string(expected),
        true);
  }
  return true;
}

inline bool getUint(napi_env env, napi_value v, const char* name, uint64_t* out) {
  return readUint53(env, v, out) || throwError(env, std::string(name) + " must be an integer in [0, 2^53)", true);
}

inline bool getFloat(napi_env env, napi_value v, const char* name, float* out) {
  double x = 0;
  if (!readNumber(env, v, &x) || !std::isfinite(x)) {
    return throwError(env, std::string(name) + " must be a finite number");
  }
  *out = static_cast<float>(x);  // what tfjs does with a scalar operand of a float32 op
  return true;
}

inline bool getBool(napi_env env, napi_value v, const char* name, bool* out) {
  if (napi_get_value_bool(env, v, out) != napi_ok) return throwError(env, std::string(name) + " must be a boolean");
  return true;
}

/** A new Float32Array of `length` values; *data points at them (nullptr on failure). */
inline napi_value newF32(napi_env env, size_t length, float** data) {
  napi_value buffer, array;
  void* raw = nullptr;
  if (napi_create_arraybuffer(env, length * sizeof(float), &raw, &buffer) != napi_ok) return nullptr;
  if (napi_create_typedarray(env, napi_float32_array, length, buffer, 0, &array) != napi_ok) return nullptr;
  *data = static_cast<float*>(raw);
  return array;
}

/**
 * An output of `length` values: `v` itself when it is a Float32Array of that length (the caller's array, reused from
 * call to call: no fresh pages to fault in and zero), a new array when `v` is undefined; false with an error thrown
 * otherwise.
 */
inline bool outputF32(napi_env env, napi_value v, size_t length, const char* name, napi_value* result, float** data) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return false;
  if (t == napi_undefined) return (*result = newF32(env, length, data)) != nullptr;
  F32 out;
  if (!getF32(env, v, name, &out) || !checkLength(env, out, length, name)) return false;
  *result = v;
  *data = out.data;
  return true;
}

}  // namespace sbn
