// maildir_folder.cc - see maildir_folder.h.
#include "lib/mailbox/maildir_folder.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>

#include "lib/mailbox/mailbox_internal.h"
#include "lib/mailbox/sys_error.h"
#include "lib/util/strings.h"
#include "lib/util/unique_fd.h"

namespace mailroom::mailbox {

namespace {

bool valid_folder_name(std::string_view name) {
    if (name.empty()) return false;
    if (name.front() == kFolderSeparator || name.back() == kFolderSeparator) return false;
    char prev = 0;
    for (char c : name) {
        unsigned char u = static_cast<unsigned char>(c);
        if (c == '/' || u < 0x20 || u == 0x7f) return false;
        if (c == kFolderSeparator && prev == kFolderSeparator) return false;
        prev = c;
    }
    return true;
}

Error bad_name(std::string_view name) {
    return make_error("invalid mailbox folder name \"" + std::string(name) + "\"");
}

}  // namespace

Result<std::string> folder_to_maildir_name(std::string_view imap_name) {
    if (util::iequals(imap_name, "INBOX")) return std::string();
    if (!valid_folder_name(imap_name)) return bad_name(imap_name);
    std::string out(1, kFolderSeparator);
    out.append(imap_name);
    return out;
}

Result<std::string> maildir_name_to_folder(std::string_view dir_name) {
    if (dir_name.empty()) return std::string("INBOX");
    if (dir_name.front() != kFolderSeparator) return bad_name(dir_name);
    std::string_view rest = dir_name.substr(1);
    if (!valid_folder_name(rest) || util::iequals(rest, "INBOX")) return bad_name(dir_name);
    return std::string(rest);
}

Result<std::string> folder_path(const std::string& maildir, std::string_view imap_name) {
    auto dir = folder_to_maildir_name(imap_name);
    if (!dir) return dir.error();
    if (dir->empty()) return maildir;
    return maildir + "/" + *dir;
}

Status create_folder(const std::string& maildir, std::string_view imap_name, const CreateOptions& options) {
    auto path = folder_path(maildir, imap_name);
    if (!path) return path.error();
    Status s = ensure_maildir(maildir, options);
    if (!s || *path == maildir) return s;
    s = ensure_maildir(*path, options);
    if (!s) return s;
    std::string marker = *path + "/" + kMaildirFolderMarker;
    util::UniqueFd fd(::open(marker.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, options.file_mode));
    if (!fd.valid()) {
        if (errno == EEXIST) return ok_status();
        return sys_error("create", marker, errno);
    }
    return internal::after_create(marker, options);
}

Result<std::vector<FolderInfo>> list_folders(const std::string& maildir) {
    std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(maildir.c_str()), &::closedir);
    if (!d) return sys_error("opendir", maildir, errno);
    std::vector<FolderInfo> out;
    for (;;) {
        errno = 0;
        struct dirent* e = ::readdir(d.get());
        if (e == nullptr) {
            if (errno != 0) return sys_error("readdir", maildir, errno);
            break;
        }
        std::string_view n(e->d_name);
        if (n.size() < 2 || n[0] != kFolderSeparator || n == "..") continue;
        auto name = maildir_name_to_folder(n);
        if (!name) continue;
        struct stat st;
        std::string cur = maildir + "/" + std::string(n) + "/cur";
        if (::stat(cur.c_str(), &st) < 0 || !S_ISDIR(st.st_mode)) continue;
        out.push_back(FolderInfo{std::move(*name), std::string(n)});
    }
    std::sort(out.begin(), out.end(), [](const FolderInfo& a, const FolderInfo& b) { return a.name < b.name; });
    return out;
}

}  // namespace mailroom::mailbox
