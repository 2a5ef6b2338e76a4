// mailroom_ctl.cc - see mailroom_ctl.h.
#include "mailroom/mailroom_ctl.h"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "lib/server/instance_lock.h"
#include "lib/util/strings.h"

namespace mailroom::ctl {

using util::format;

Result<LayoutInput> layout_for(const config::Config& cfg) {
    LayoutInput in;
    auto q = cfg.get("queue_directory");
    if (!q) return q.error();
    auto d = cfg.get("data_directory");
    if (!d) return d.error();
    in.queue_directory = *q;
    in.data_directory = *d;
    if (::geteuid() == 0) {
        in.root = {0, 0, "root"};
        auto owner = cfg.get("mail_owner");
        if (!owner) return owner.error();
        struct passwd* pw = ::getpwnam(owner->c_str());
        if (!pw) return make_error("unknown mail_owner user: " + *owner);
        in.owner = {pw->pw_uid, pw->pw_gid, *owner};
        auto group = cfg.get("setgid_group");
        if (!group) return group.error();
        struct group* gr = ::getgrnam(group->c_str());
        if (!gr) return make_error("unknown setgid_group group: " + *group);
        in.setgid_group = {0, gr->gr_gid, *group};
        in.check_groups = true;
    } else {
        struct passwd* pw = ::getpwuid(::geteuid());
        std::string name = pw ? pw->pw_name : std::to_string(::geteuid());
        in.owner = {::geteuid(), ::getegid(), name};
        in.root = in.owner;
        in.check_groups = false;
    }
    return in;
}

std::string find_system_program(const std::string& name) {
    for (const char* dir : {"/usr/sbin", "/sbin", "/usr/bin", "/bin"}) {
        std::string p = std::string(dir) + "/" + name;
        if (::access(p.c_str(), X_OK) == 0) return p;
    }
    return "";
}

Result<int> run_program(const std::vector<std::string>& args) {
    if (args.empty()) return make_error("run_program: empty argv");
    std::vector<std::string> copy = args;
    std::vector<char*> argv;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) return make_error(format("fork: %s", std::strerror(errno)));
    if (pid == 0) {
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return make_error(format("waitpid: %s", std::strerror(errno)));
    }
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return 128 + WTERMSIG(status);
}

Status ensure_accounts(const std::string& mail_owner, const std::string& setgid_group,
                       const std::string& home_directory) {
    if (::geteuid() != 0) return ok_status();
    if (!::getgrnam(setgid_group.c_str())) {
        std::string groupadd = find_system_program("groupadd");
        if (groupadd.empty()) return make_error("cannot create group " + setgid_group + ": groupadd not found");
        auto rc = run_program({groupadd, "--system", setgid_group});
        if (!rc) return rc.error();
        if (*rc != 0) return make_error(format("groupadd %s failed with status %d", setgid_group.c_str(), *rc));
    }
    if (!::getpwnam(mail_owner.c_str())) {
        std::string useradd = find_system_program("useradd");
        if (useradd.empty()) return make_error("cannot create user " + mail_owner + ": useradd not found");
        std::string shell = ::access("/usr/sbin/nologin", X_OK) == 0 ? "/usr/sbin/nologin" : "/bin/false";
        std::vector<std::string> argv = {useradd, "--system", "--no-create-home", "--home-dir", home_directory,
                                         "--shell", shell};
        // A group of the same name as the user, unless one exists already.
        if (::getgrnam(mail_owner.c_str()))
            argv.insert(argv.end(), {"--gid", mail_owner});
        else
            argv.push_back("--user-group");
        argv.push_back(mail_owner);
        auto rc = run_program(argv);
        if (!rc) return rc.error();
        if (*rc != 0) return make_error(format("useradd %s failed with status %d", mail_owner.c_str(), *rc));
    }
    return ok_status();
}

bool wait_for_exit(const std::string& pid_directory, std::chrono::seconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (server::probe_instance_lock(pid_directory) != 0) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return true;
}

}  // namespace mailroom::ctl
