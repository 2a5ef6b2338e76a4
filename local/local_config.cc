// local_config.cc - see local_config.h.
#include "local/local_config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "lib/agent/agent_identity.h"
#include "lib/log/log.h"
#include "lib/mailbox/mbox_lock.h"
#include "lib/util/strings.h"

namespace mailroom::local {

std::string table_owner_file(const table::Table& t) {
    if (t.type() == "hash" || t.type() == "btree") return t.name() + ".db";
    return t.name();
}

namespace {

constexpr std::size_t kMaxListFile = 1 << 20;

// Reads a small file without following a final symlink. nullopt: absent.
Result<std::optional<std::pair<std::string, struct stat>>> read_small(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR) return std::optional<std::pair<std::string, struct stat>>();
        int e = errno;
        return Error{util::format("open %s: %s", path.c_str(), std::strerror(e)),
                     e == EACCES || e == ELOOP ? ErrorKind::kPermanent : ErrorKind::kTemporary};
    }
    util::UniqueFd owner(fd);
    struct stat sb;
    if (::fstat(fd, &sb) < 0) return make_temp_error(util::format("fstat %s: %s", path.c_str(), std::strerror(errno)));
    if (!S_ISREG(sb.st_mode)) return make_error("not a regular file: " + path);
    std::string text;
    char buf[8192];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return make_temp_error(util::format("read %s: %s", path.c_str(), std::strerror(errno)));
        if (n == 0) break;
        text.append(buf, static_cast<size_t>(n));
        if (text.size() > kMaxListFile) return make_error("file too large: " + path);
    }
    return std::optional<std::pair<std::string, struct stat>>(std::make_pair(std::move(text), sb));
}

Result<std::string> get(const config::Config& c, const char* name) { return c.get(name); }

}  // namespace

Result<LocalRuntime> load_local_context(const config::Config& c) {
    LocalRuntime rt;
    LocalSettings& x = rt.context.expand;
    DeliverySettings& d = rt.context.deliver;

    auto resolver = address::resolver_from_config(c);
    if (!resolver) return resolver.error();
    x.resolver = std::move(*resolver);
    auto origin = get(c, "myorigin");
    if (!origin) return origin.error();
    x.myorigin = *origin;
    auto ext = address::read_extension_settings(c);
    if (!ext) return ext.error();
    x.extension = std::move(*ext);
    // forward_path and luser_relay use delivery-time $names: read raw.
    x.forward_path = util::split_list(c.raw("forward_path").value_or(""));
    x.luser_relay = c.raw("luser_relay").value_or("");
    auto cmds = c.get_list("allow_mail_to_commands");
    auto files = c.get_list("allow_mail_to_files");
    if (!cmds) return cmds.error();
    if (!files) return files.error();
    x.allow_commands = std::set<std::string>(cmds->begin(), cmds->end());
    x.allow_files = std::set<std::string>(files->begin(), files->end());
    auto privs_name = get(c, "default_privs");
    if (!privs_name) return privs_name.error();
    if (agent::privileged()) {
        auto p = agent::resolve_user(*privs_name);
        if (!p) return Error{"default_privs: " + p.error().message, p.error().kind};
        if (p->uid == 0) return make_error("default_privs must not be the super-user: " + *privs_name);
        x.default_privs = Privs{p->uid, p->gid, p->name};
        d.default_privs = *p;
    } else {
        x.default_privs = Privs{::getuid(), ::getgid(), *privs_name};
    }

    auto spool = get(c, "mail_spool_directory");
    if (!spool) return spool.error();
    d.mail_spool_directory = *spool;
    while (d.mail_spool_directory.size() > 1 && d.mail_spool_directory.back() == '/') d.mail_spool_directory.pop_back();
    auto home = get(c, "home_mailbox");
    if (!home) return home.error();
    d.home_mailbox = *home;
    d.mailbox_command = c.raw("mailbox_command").value_or("");
    auto limit = c.get_int("mailbox_size_limit");
    if (!limit) return limit.error();
    d.mailbox_size_limit = static_cast<std::uint64_t>(*limit);
    auto lock = get(c, "mailbox_delivery_lock");
    if (!lock) return lock.error();
    auto methods = mailbox::parse_lock_methods(*lock);
    if (!methods) return methods.error();
    d.lock.methods = *methods;
    auto tries = c.get_int("deliver_lock_attempts");
    auto delay = c.get_time("deliver_lock_delay");
    auto stale = c.get_time("stale_lock_time");
    auto cmd_limit = c.get_time("command_time_limit");
    if (!tries) return tries.error();
    if (!delay) return delay.error();
    if (!stale) return stale.error();
    if (!cmd_limit) return cmd_limit.error();
    d.lock.tries = static_cast<int>(*tries);
    d.lock.delay_ms = static_cast<unsigned>(*delay * 1000);
    d.lock.stale_seconds = static_cast<long>(*stale);
    d.command_time_limit = static_cast<long>(*cmd_limit);
    auto shell = get(c, "local_command_shell");
    if (!shell) return shell.error();
    if (!shell->empty()) d.command_shell = *shell;
    d.base_env = {"PATH=/usr/bin:/bin"};
    for (const char* name : {"TZ", "LANG"})
        if (const char* v = std::getenv(name)) d.base_env.push_back(std::string(name) + "=" + v);

    auto alias_value = get(c, "alias_maps");
    if (!alias_value) return alias_value.error();
    auto maps = table::Maps::open(*alias_value);
    if (!maps) {
        // As Postfix does: a missing or broken alias database defers local
        // mail ("alias database unavailable") instead of stopping the agent.
        log::warn("%s is unavailable. %s", alias_value->c_str(), maps.error().message.c_str());
        rt.context.env.alias = [](const std::string&) -> Result<std::optional<AliasAnswer>> {
            return make_temp_error("alias database unavailable");
        };
    } else {
        rt.aliases = std::make_shared<table::Maps>(std::move(*maps));
    }
    Privs default_privs = x.default_privs;
    auto aliases = rt.aliases;
    if (aliases) rt.context.env.alias = [aliases, default_privs](const std::string& key) -> Result<std::optional<AliasAnswer>> {
        for (const auto& t : aliases->tables()) {
            auto r = t->lookup(key);
            if (!r) return r.error();
            if (!*r) continue;
            Privs owner = default_privs;
            struct stat sb;
            if (agent::privileged() && ::stat(table_owner_file(*t).c_str(), &sb) == 0 && sb.st_uid != 0)
                owner = Privs{sb.st_uid, sb.st_gid, ""};
            return std::optional<AliasAnswer>(AliasAnswer{**r, owner});
        }
        return std::optional<AliasAnswer>();
    };
    rt.context.env.user = [](const std::string& name) { return agent::lookup_user(name); };
    rt.context.env.forward = [](const std::string& path,
                                const agent::Identity& who) -> Result<std::optional<std::string>> {
        auto r = read_small(path);
        if (!r) return r.error();
        if (!*r) return std::optional<std::string>();
        const struct stat& sb = (*r)->second;
        // As Postfix: an unsafe .forward is ignored with a warning (the
        // mail then goes to the next forward_path entry or the mailbox).
        if (agent::privileged() && sb.st_uid != who.uid && sb.st_uid != 0) {
            log::warn("file %s has bad owner uid %ld", path.c_str(), static_cast<long>(sb.st_uid));
            return std::optional<std::string>();
        }
        if (sb.st_mode & (S_IWGRP | S_IWOTH)) {
            log::warn("file %s is group or world writable", path.c_str());
            return std::optional<std::string>();
        }
        return std::optional<std::string>(std::move((*r)->first));
    };
    rt.context.env.include = [](const std::string& path, const Privs&) -> Result<std::pair<std::string, Privs>> {
        auto r = read_small(path);
        if (!r) return r.error();
        if (!*r) return make_error("cannot open include file " + path + ": No such file or directory");
        const struct stat& sb = (*r)->second;
        if (sb.st_mode & S_IWOTH) return make_error("include file " + path + " is world writable");
        return std::make_pair(std::move((*r)->first), Privs{sb.st_uid, sb.st_gid, ""});
    };
    return rt;
}

}  // namespace mailroom::local
