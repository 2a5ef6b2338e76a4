// shared_library.cc - dlopen()/dlsym() behind Result (see shared_library.h).
#include "lib/util/shared_library.h"

#include <dlfcn.h>

namespace mailroom::util {

namespace {

std::string last_dl_error() {
    const char* why = ::dlerror();
    return why ? why : "unknown error";
}

}  // namespace

Result<SharedLibrary> SharedLibrary::open(const std::string& file) {
    // RTLD_LOCAL: the library's symbols are reached through bind() only,
    // never by the names the headers declare.
    void* handle = ::dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) return make_error("cannot load " + file + ": " + last_dl_error());
    return SharedLibrary(file, handle);
}

Result<void*> SharedLibrary::find(const char* symbol) const {
    ::dlerror();
    void* p = ::dlsym(handle_, symbol);
    if (!p) return make_error(file_ + ": cannot find symbol " + symbol + ": " + last_dl_error());
    return p;
}

}  // namespace mailroom::util
