// shared_library.h - a shared library opened at run time (dlopen) and its
// functions bound by name (dlsym).
//
// Summary
//   Code that uses a large client library only in a few processes (the
//   MySQL client for mysql: tables, Berkeley DB for hash:/btree:) loads it
//   on first use instead of linking it, so that every other process does
//   not map it and pay for its relocations:
//
//     auto lib = util::SharedLibrary::open("libdb-5.3.so");
//     if (!lib) return lib.error();   // "cannot load libdb-5.3.so: <dlerror>"
//     int (*create)(DB**, DB_ENV*, u_int32_t) = nullptr;
//     if (Status s = lib->bind("db_create", &create); !s) return s.error();
//
//   LazyLibrary<Api> keeps one such library per process: the first get()
//   that succeeds opens the file and fills an Api struct of function
//   pointers with the caller's bind function; later calls return it.
//
// Description
//   open() takes a file name as the dynamic linker looks it up (a SONAME
//   such as libmariadb.so.3, or a path). The library stays loaded for the
//   life of the process (it is never closed: bound function pointers must
//   stay valid). bind() gives "NAME: cannot find symbol SYM: <dlerror>"
//   when the library lacks a function.
//
//   A LazyLibrary does not remember a failed load: the next get() (the
//   next table open) tries again.
//
//   A daemon that chroots (master.cf's chroot column) opens its tables
//   after the chroot, where the libraries are out of reach. So the code of
//   each such library registers what names its use in main.cf or master.cf
//   (register_jail_preload("mysql:", ...)), and the daemon skeleton calls
//   preload_before_jail() with those files' text just before it chroots:
//   every library whose marker occurs in the text as a word of its own
//   (after a character that is not a letter, digit or '_') is loaded then.
//
// Thread safety
//   open() and bind() may run on any thread. LazyLibrary::get() loads
//   under a lock, so two threads that open tables at once load once.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "lib/util/result.h"

namespace mailroom::util {

class SharedLibrary {
public:
    static Result<SharedLibrary> open(const std::string& file);

    template <class Fn>
    Status bind(const char* symbol, Fn** out) const {
        Result<void*> p = find(symbol);
        if (!p) return p.error();
        *out = reinterpret_cast<Fn*>(*p);
        return Status();
    }

    const std::string& file() const { return file_; }

private:
    SharedLibrary(std::string file, void* handle) : file_(std::move(file)), handle_(handle) {}
    Result<void*> find(const char* symbol) const;

    std::string file_;
    void* handle_ = nullptr;
};

// Registers `load` for preload_before_jail() when `marker` occurs in the
// configuration. Called from static initializers; the markers must be
// string literals.
bool register_jail_preload(const char* marker, Status (*load)());
// Loads the registered libraries whose markers occur in `config_text`. A
// library that fails to load is left to the table open to report.
void preload_before_jail(std::string_view config_text);

template <class Api>
class LazyLibrary {
public:
    // `bind` fills an Api from the opened library (and may initialize it).
    using Binder = Status (*)(const SharedLibrary& lib, Api* api);

    LazyLibrary(std::string file, Binder bind) : file_(std::move(file)), bind_(bind) {}

    // The library's functions, loaded by the first successful call. The
    // error names the file and says why it could not be used.
    Result<const Api*> get() {
        std::lock_guard<std::mutex> lock(mutex_);
        if (api_) return static_cast<const Api*>(api_);
        Result<SharedLibrary> lib = SharedLibrary::open(file_);
        if (!lib) return lib.error();
        auto api = std::make_unique<Api>();
        if (Status s = bind_(*lib, api.get()); !s) return s.error();
        api_ = api.release();  // lives as long as the process, as the library does
        return static_cast<const Api*>(api_);
    }

    // get() for its outcome only (register_jail_preload).
    Status load() {
        Result<const Api*> api = get();
        if (!api) return api.error();
        return Status();
    }

    std::string file() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return file_;
    }
    // Another file for the loads to come (a test of the error path).
    void set_file(std::string file) {
        std::lock_guard<std::mutex> lock(mutex_);
        file_ = std::move(file);
    }

private:
    mutable std::mutex mutex_;
    std::string file_;
    Binder bind_;
    Api* api_ = nullptr;
};

}  // namespace mailroom::util
