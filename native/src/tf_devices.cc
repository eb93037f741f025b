// tfDevices(libPath) → [{ name, type, memoryBytes }]: the devices libtensorflow sees (CPU, GPU, …), listed through
// its C API. tfjs-node's binding exposes no device list, so this asks the library directly: dlopen() on the path of
// libtensorflow_cc.so.2 returns the copy the binding already loaded (glibc matches the file), and every symbol is
// looked up with dlsym at call time — the addon neither links against libtensorflow nor needs its headers, so it
// builds and loads on machines without it. The C API's types are opaque; only their pointers are used here.
// preload(paths) dlopens CUDA libraries (RTLD_GLOBAL) before a GPU libtensorflow looks for them by SONAME.
#include <node_api.h>

#include <cstdint>
#include <string>
#include <vector>

#ifndef _WIN32
#include <dlfcn.h>
#endif

namespace sbn {

namespace {

napi_value fail(napi_env env, const std::string& msg) {
  napi_throw_error(env, nullptr, msg.c_str());
  return nullptr;
}

}  // namespace

napi_value TfDevices(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  size_t len = 0;
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], nullptr, 0, &len) != napi_ok) {
    return fail(env, "tfDevices: " + std::string("expected the path of libtensorflow_cc.so.2"));
  }
  std::string path(len, '\0');
  napi_get_value_string_utf8(env, argv[0], &path[0], len + 1, &len);
#ifdef _WIN32
  return fail(env, "tfDevices: " + std::string("not implemented on Windows"));
#else
  void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char* err = dlerror();
    return fail(env, "tfDevices: " + std::string(err ? err : ("cannot open " + path)));
  }
  using NewStatus = void* (*)();
  using DeleteStatus = void (*)(void*);
  using GetCode = int (*)(const void*);
  using Message = const char* (*)(const void*);
  using NewOptions = void* (*)();
  using DeleteOptions = void (*)(void*);
  using NewContext = void* (*)(const void*, void*);
  using DeleteContext = void (*)(void*);
  using ListDevices = void* (*)(void*, void*);
  using ListCount = int (*)(const void*);
  using ListString = const char* (*)(const void*, int, void*);
  using ListMemory = int64_t (*)(const void*, int, void*);
  using DeleteList = void (*)(void*);
  std::string missing;
  auto sym = [&](const char* name) -> void* {
    void* p = dlsym(lib, name);
    if (!p && missing.empty()) missing = name;
    return p;
  };
  auto newStatus = reinterpret_cast<NewStatus>(sym("TF_NewStatus"));
  auto deleteStatus = reinterpret_cast<DeleteStatus>(sym("TF_DeleteStatus"));
  auto getCode = reinterpret_cast<GetCode>(sym("TF_GetCode"));
  auto message = reinterpret_cast<Message>(sym("TF_Message"));
  auto newOptions = reinterpret_cast<NewOptions>(sym("TFE_NewContextOptions"));
  auto deleteOptions = reinterpret_cast<DeleteOptions>(sym("TFE_DeleteContextOptions"));
  auto newContext = reinterpret_cast<NewContext>(sym("TFE_NewContext"));
  auto deleteContext = reinterpret_cast<DeleteContext>(sym("TFE_DeleteContext"));
  auto listDevices = reinterpret_cast<ListDevices>(sym("TFE_ContextListDevices"));
  auto listCount = reinterpret_cast<ListCount>(sym("TF_DeviceListCount"));
  auto listName = reinterpret_cast<ListString>(sym("TF_DeviceListName"));
  auto listType = reinterpret_cast<ListString>(sym("TF_DeviceListType"));
  auto listMemory = reinterpret_cast<ListMemory>(sym("TF_DeviceListMemoryBytes"));
  auto deleteList = reinterpret_cast<DeleteList>(sym("TF_DeleteDeviceList"));
  if (!missing.empty()) {
    dlclose(lib);
    return fail(env, "tfDevices: " + std::string(path + " has no symbol " + missing));
  }
  void* status = newStatus();
  void* options = newOptions();
  void* ctx = newContext(options, status);
  deleteOptions(options);
  std::string error;
  napi_value out = nullptr;
  if (getCode(status) != 0 || !ctx) {
    error = std::string("TFE_NewContext: ") + message(status);
  } else {
    void* list = listDevices(ctx, status);
    if (getCode(status) != 0 || !list) {
      error = std::string("TFE_ContextListDevices: ") + message(status);
    } else {
      const int n = listCount(list);
      napi_create_array_with_length(env, static_cast<size_t>(n), &out);
      for (int i = 0; i < n; i++) {
        const char* name = listName(list, i, status);
        const char* type = listType(list, i, status);
        const int64_t bytes = listMemory(list, i, status);
        napi_value item, v;
        napi_create_object(env, &item);
        napi_create_string_utf8(env, name ? name : "", NAPI_AUTO_LENGTH, &v);
        napi_set_named_property(env, item, "name", v);
        napi_create_string_utf8(env, type ? type : "", NAPI_AUTO_LENGTH, &v);
        napi_set_named_property(env, item, "type", v);
        napi_create_double(env, static_cast<double>(bytes < 0 ? 0 : bytes), &v);
        napi_set_named_property(env, item, "memoryBytes", v);
        napi_set_element(env, out, static_cast<uint32_t>(i), item);
      }
      deleteList(list);
    }
    deleteContext(ctx);
  }
  deleteStatus(status);
  // The library stays loaded (the binding holds it, or it would only be reloaded on the next call).
  if (!error.empty()) return fail(env, "tfDevices: " + std::string(error));
  return out;
#endif
}

napi_value Preload(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  bool isArray = false;
  if (argc < 1 || napi_is_array(env, argv[0], &isArray) != napi_ok || !isArray) return fail(env, "preload: expected an array of library paths");
  uint32_t n = 0;
  napi_get_array_length(env, argv[0], &n);
  std::vector<std::string> pending;
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    napi_get_element(env, argv[0], i, &v);
    size_t len = 0;
    if (napi_get_value_string_utf8(env, v, nullptr, 0, &len) != napi_ok) return fail(env, "preload: expected strings");
    std::string p(len, '\0');
    napi_get_value_string_utf8(env, v, &p[0], len + 1, &len);
    pending.push_back(p);
  }
#ifdef _WIN32
  return fail(env, "preload: not implemented on Windows");
#else
  // RTLD_GLOBAL, by absolute path, in passes: a library whose dependencies are not loaded yet is retried after the
  // others. libtensorflow later dlopens CUDA by SONAME and gets these copies.
  std::string lastError;
  while (!pending.empty()) {
    std::vector<std::string> failed;
    for (const auto& p : pending) {
      if (!dlopen(p.c_str(), RTLD_NOW | RTLD_GLOBAL)) {
        const char* err = dlerror();
        lastError = err ? err : p;
        failed.push_back(p);
      }
    }
    if (failed.size() == pending.size()) return fail(env, "preload: " + lastError);
    pending.swap(failed);
  }
  napi_value ok;
  napi_get_boolean(env, true, &ok);
  return ok;
#endif
}

}  // namespace sbn
