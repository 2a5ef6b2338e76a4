// folder_cache.cc - FolderState's per-message cache (mailroom.cache); see
// folder_sync.h and folder_index.h for the file format.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "lib/access/folder_sync.h"
#include "lib/access/mail_store_internal.h"
#include "lib/util/unique_fd.h"

namespace mailroom::access {

void FolderState::load_cache() {
    if (cache_loaded_) return;
    cache_loaded_ = true;
    cache_.clear();
    const std::string path = dir_ + "/" + kCacheFile;
    util::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    struct stat st{};
    if (!fd.valid() || ::fstat(fd.get(), &st) != 0) return;
    auto text = pread_from(fd.get(), 0, static_cast<std::size_t>(st.st_size));
    if (!text) return;
    cache_ino_ = st.st_ino;
    cache_valid_end_ = parse_cache(*text, index_.uid_validity, &cache_);
    // Values of expunged messages pile up; past 4 MB with more than half
    // of it dead, the file is written anew with the live values only.
    std::size_t live = 0;
    for (auto it = cache_.begin(); it != cache_.end();) {
        if (find(it->first.first) == nullptr) {
            it = cache_.erase(it);
        } else {
            live += 14 + it->second.size();
            ++it;
        }
    }
    if (text->size() < (4u << 20) || live * 2 > text->size()) return;
    auto held = lock();
    if (!held) return;
    std::string out = format_cache_header(index_.uid_validity);
    for (const auto& [key, value] : cache_) out += format_cache_record(key.first, key.second, value);
    const std::string tmp = path + ".tmp";
    util::UniqueFd w(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, ctx_->create.file_mode));
    if (!w.valid()) return;
    struct stat wst{};
    if (::write(w.get(), out.data(), out.size()) != static_cast<ssize_t>(out.size()) || ::fstat(w.get(), &wst) != 0 ||
        ::rename(tmp.c_str(), path.c_str()) != 0) {
        ::unlink(tmp.c_str());
        return;
    }
    cache_ino_ = wst.st_ino;
    cache_valid_end_ = out.size();
}

std::optional<std::string> FolderState::cached(std::uint32_t uid, std::uint8_t field) {
    load_cache();
    auto it = cache_.find({uid, field});
    if (it == cache_.end()) return std::nullopt;
    return it->second;
}

void FolderState::set_cached(std::uint32_t uid, std::uint8_t field, std::string_view value) {
    load_cache();
    cache_[{uid, field}] = std::string(value);
    auto held = lock();
    if (!held) return;
    const std::string path = dir_ + "/" + kCacheFile;
    util::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, ctx_->create.file_mode));
    if (!fd.valid()) return;
    struct stat st{};
    if (::fstat(fd.get(), &st) != 0) return;
    const std::size_t size = static_cast<std::size_t>(st.st_size);
    std::string out;
    if (st.st_ino != cache_ino_ || cache_valid_end_ == 0 || size < cache_valid_end_) {
        // Not the file this process knows (new, replaced, cut): read it whole.
        auto text = pread_from(fd.get(), 0, size);
        if (!text) return;
        CacheMap theirs;
        cache_valid_end_ = parse_cache(*text, index_.uid_validity, &theirs);
        cache_ino_ = st.st_ino;
        for (auto& [key, v] : theirs) cache_.emplace(key, std::move(v));
        if (cache_valid_end_ == 0) {
            if (::ftruncate(fd.get(), 0) != 0) return;
            out = format_cache_header(index_.uid_validity);
        } else if (cache_valid_end_ < size && ::ftruncate(fd.get(), static_cast<off_t>(cache_valid_end_)) != 0) {
            return;
        }
    } else if (size > cache_valid_end_) {
        // Records other sessions added; a torn tail is cut off.
        std::string tail(size - cache_valid_end_, '\0');
        ssize_t n = ::pread(fd.get(), tail.data(), tail.size(), static_cast<off_t>(cache_valid_end_));
        if (n < 0) return;
        tail.resize(static_cast<std::size_t>(n));
        const std::size_t valid = parse_cache_records(tail, &cache_);
        cache_valid_end_ += valid;
        if (cache_valid_end_ < size && ::ftruncate(fd.get(), static_cast<off_t>(cache_valid_end_)) != 0) return;
        cache_[{uid, field}] = std::string(value);
    }
    out += format_cache_record(uid, field, value);
    ssize_t n = ::write(fd.get(), out.data(), out.size());
    if (n == static_cast<ssize_t>(out.size())) cache_valid_end_ += out.size();
}

}  // namespace mailroom::access
