// passwd_file.h - Dovecot's passwd-file format, for authd's passwd-file:PATH module.
//
// Summary
//   parse_passwd_file_line() reads one line of
//     user:{SCHEME}hash:uid:gid:gecos:home:shell:extra fields
//   into a UserRecord (pure). The extra fields are space-separated
//   key=value pairs; those authd understands:
//     userdb_mail=maildir:/path   MAILDIR= (also `mail=`; a trailing
//                                 :INDEX=... or other option is dropped)
//     userdb_quota_rule=*:storage=1G   QUOTA= in courier's form
//                                 ("1073741824S"; messages=N adds "NC")
//     userdb_home, userdb_uid, userdb_gid   override the columns
//   Others are ignored. Fields after the password may be missing or empty.
//   PasswdFileModule serves a file, re-reading it when its modification
//   time or size changes.
#pragma once

#include <ctime>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "lib/auth/auth_module.h"

namespace mailroom::auth {

// nullopt for a blank or comment line; an error for a malformed one.
Result<std::optional<UserRecord>> parse_passwd_file_line(std::string_view line);

// "*:storage=1G" -> "1073741824S"; "" when the rule sets no limit.
std::string quota_rule_to_courier(std::string_view rule);

class PasswdFileModule : public AuthModule {
public:
    PasswdFileModule(std::string spec, std::string path) : spec_(std::move(spec)), path_(std::move(path)) {}
    const std::string& spec() const override { return spec_; }
    bool may_block() const override { return false; }
    LookupResult lookup(const std::string& user, const std::string& service) override;
    std::optional<Result<std::vector<UserRecord>>> enumerate() override;

    // Loads the file if it changed; a file that cannot be read is a
    // temporary failure of the module.
    Status refresh();

private:
    std::string spec_;
    std::string path_;
    std::map<std::string, UserRecord> users_;
    std::time_t mtime_ = 0;
    long long mtime_ns_ = -1;
    long long size_ = -1;
};

}  // namespace mailroom::auth
