// master_cf.h - the master.cf reader, a pure function from text to services.
//
// Summary
//   Postfix's eight columns: service type private unpriv chroot wakeup
//   maxproc command [args...]. A line that starts with white space continues
//   the previous entry; '#' lines and blank lines are ignored; '-' selects
//   the default of a column. `-o name=value` and `-o { name = value with
//   spaces }` arguments become overrides; other arguments stay in args in
//   order (braced arguments lose their braces and outer white space).
//
// Description
//   Column defaults: private y, unpriv y, chroot n, wakeup 0, maxproc
//   $default_process_limit (0 = no limit). A wakeup value may end in '?'
//   (wake only when the service is in use). Types: inet, unix, unix-dgram,
//   fifo, pass. An inet service name is "host:port" or "port".
//
// Diagnostics
//   Every error names the file and line: a bad type, a bad y/n column, a bad
//   number, a missing command, a duplicate service/type, an unbalanced brace.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lib/util/result.h"

namespace mailroom::config {

struct MasterService {
    std::string name;  // "smtp", "127.0.0.1:2525", "submission"
    std::string type;  // inet unix unix-dgram fifo pass
    std::optional<bool> private_;  // nullopt = '-'
    std::optional<bool> unpriv;
    std::optional<bool> chroot;
    std::optional<int> wakeup;     // seconds; nullopt = '-'
    bool wakeup_conditional = false;
    std::optional<int> maxproc;    // nullopt = '-'
    std::string command;
    std::vector<std::string> args;  // arguments other than -o overrides
    std::vector<std::pair<std::string, std::string>> overrides;
    std::vector<std::string> raw_fields;  // the fields as written, braces kept
    int line = 0;
    int last_line = 0;

    bool is_private() const { return private_.value_or(true); }
    bool is_unpriv() const { return unpriv.value_or(true); }
    bool is_chroot() const { return chroot.value_or(false); }
    int wakeup_seconds() const { return wakeup.value_or(0); }
    std::string key() const { return name + "/" + type; }
};

Result<std::vector<MasterService>> parse_master_cf(std::string_view text, std::string_view filename);

// Splits a master.cf logical line into fields; `{ ... }` groups are one field
// (braces kept). Error on an unbalanced brace.
Result<std::vector<std::string>> split_master_fields(std::string_view line);

// Postfix's `postconf -M` layout of one entry (one line, no newline).
std::string format_master_entry(const MasterService& svc);

}  // namespace mailroom::config
