// shared_library.cc - dlopen()/dlsym() behind Result (see shared_library.h).
#include "lib/util/shared_library.h"

#include <dlfcn.h>

#include <cctype>
#include <mutex>
#include <vector>

namespace mailroom::util {

namespace {

std::string last_dl_error() {
    const char* why = ::dlerror();
    return why ? why : "unknown error";
}

struct JailPreload {
    const char* marker;
    Status (*load)();
};

// Constructed on first use: the registrations run from static initializers.
std::vector<JailPreload>& jail_preloads() {
    static std::vector<JailPreload> preloads;
    return preloads;
}

std::mutex& jail_preloads_mutex() {
    static std::mutex m;
    return m;
}

// Does `marker` occur in `text` as a word of its own ("hash:" in
// "alias_maps = hash:/etc/aliases", not in "texthash:/etc/x")?
bool names(std::string_view text, std::string_view marker) {
    for (size_t at = text.find(marker); at != std::string_view::npos; at = text.find(marker, at + 1)) {
        unsigned char before = at == 0 ? ' ' : static_cast<unsigned char>(text[at - 1]);
        if (!std::isalnum(before) && before != '_') return true;
    }
    return false;
}

}  // namespace

bool register_jail_preload(const char* marker, Status (*load)()) {
    std::lock_guard<std::mutex> lock(jail_preloads_mutex());
    jail_preloads().push_back(JailPreload{marker, load});
    return true;
}

void preload_before_jail(std::string_view config_text) {
    std::vector<JailPreload> preloads;
    {
        std::lock_guard<std::mutex> lock(jail_preloads_mutex());
        preloads = jail_preloads();
    }
    for (const JailPreload& p : preloads) {
        if (names(config_text, p.marker)) (void)p.load();
    }
}

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
