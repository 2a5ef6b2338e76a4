// mailroom_perms.cc - see mailroom_perms.h.
#include "mailroom/mailroom_perms.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "lib/util/strings.h"

namespace mailroom::ctl {

using util::format;

const std::vector<std::string>& queue_subdirectories() {
    static const std::vector<std::string> dirs = {"maildrop", "incoming", "active", "deferred", "hold", "corrupt",
                                                  "bounce",   "defer",    "trace",  "private",  "public", "pid",
                                                  "recycle"};
    return dirs;
}

std::vector<DirSpec> expected_layout(const LayoutInput& in) {
    std::vector<DirSpec> out;
    out.push_back({in.queue_directory, in.root, false, {}, 0755});
    for (const auto& d : queue_subdirectories()) {
        DirSpec s{in.queue_directory + "/" + d, in.owner, false, {}, 0700};
        if (d == "pid") {
            s.owner = in.root;
            s.mode = 0755;
        } else if (d == "maildrop" || d == "public") {
            s.mode = d == "maildrop" ? 0730 : 0710;
            s.check_group = in.check_groups;
            s.group = in.setgid_group;
        }
        out.push_back(std::move(s));
    }
    out.push_back({in.data_directory, in.owner, false, {}, 0700});
    return out;
}

std::vector<Problem> check_layout(const std::vector<DirSpec>& layout) {
    std::vector<Problem> out;
    for (const auto& d : layout) {
        struct stat st {};
        if (::lstat(d.path.c_str(), &st) < 0) {
            out.push_back({Problem::Kind::kMissing, d.path, "missing directory: " + d.path});
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            out.push_back({Problem::Kind::kNotDirectory, d.path, "not a directory: " + d.path});
            continue;
        }
        if (st.st_uid != d.owner.uid)
            out.push_back({Problem::Kind::kOwner, d.path, format("not owned by %s: %s", d.owner.name.c_str(), d.path.c_str())});
        if (d.check_group && st.st_gid != d.group.gid)
            out.push_back({Problem::Kind::kGroup, d.path,
                           format("not owned by group %s: %s", d.group.name.c_str(), d.path.c_str())});
        mode_t mode = st.st_mode & 07777;
        if (mode != d.mode)
            out.push_back({Problem::Kind::kMode, d.path,
                           format("wrong mode %04o (expected %04o): %s", static_cast<unsigned>(mode),
                                  static_cast<unsigned>(d.mode), d.path.c_str())});
    }
    return out;
}

Status repair_layout(const std::vector<DirSpec>& layout, bool fix_existing) {
    bool root = ::geteuid() == 0;
    for (const auto& d : layout) {
        struct stat st {};
        bool created = false;
        if (::lstat(d.path.c_str(), &st) < 0) {
            if (errno != ENOENT) return make_error(format("stat %s: %s", d.path.c_str(), std::strerror(errno)));
            // Parents first (queue_directory and data_directory may be new).
            std::string partial;
            for (const auto& part : util::split(d.path, "/")) {
                partial += "/" + part;
                if (::mkdir(partial.c_str(), 0755) < 0 && errno != EEXIST)
                    return make_error(format("mkdir %s: %s", partial.c_str(), std::strerror(errno)));
            }
            created = true;
        } else if (!S_ISDIR(st.st_mode)) {
            return make_error("not a directory: " + d.path);
        }
        if (!created && !fix_existing) continue;
        if (root) {
            gid_t gid = d.check_group ? d.group.gid : d.owner.gid;
            if (::chown(d.path.c_str(), d.owner.uid, gid) < 0)
                return make_error(format("chown %s: %s", d.path.c_str(), std::strerror(errno)));
        }
        if (::chmod(d.path.c_str(), d.mode) < 0)
            return make_error(format("chmod %s: %s", d.path.c_str(), std::strerror(errno)));
    }
    return ok_status();
}

}  // namespace mailroom::ctl
