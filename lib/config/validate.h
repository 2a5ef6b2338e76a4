// validate.h - checks every configured value by its parameter's type.
//
// Summary
//   validate_config() looks at each parameter that main.cf sets (the last
//   definition of a name) and at each `-o name=value` of a master.cf
//   service, converts its expanded value as the parameter's type says
//   (params.h), and returns one line per problem, naming the file and line:
//
//     /etc/mailroom/main.cf, line 12: bad numerical configuration: message_size_limit = abc
//     /etc/mailroom/master.cf, line 20: service submission: parameter smtpd_timeout: bad time value or unit: 5x
//
//   postconf prints the lines as warnings; `mailroom check`, `start`,
//   `reload` and master refuse a configuration that has any (see
//   docs/configuration.md, "Validation").
//
// Description
//   By type: kInt/kSize range-checked integers, kTime a number with an
//   optional s/m/h/d/w unit, kBool yes/no, kEnum one of the row's choices,
//   kEnumList a list of them, kMaps a list of type:table lookup tables,
//   kRestrictions an smtpd restriction list (known restriction names, the
//   table or domain argument each needs, and the restriction classes named
//   by smtpd_restriction_classes, whose own values are checked as lists
//   too). A kList element of the form type:table with a known type is a
//   table as well (mydestination = hash:/etc/mailroom/domains). kString
//   values are only expanded (recursion, unbalanced braces).
//
//   Tables are checked through a TableChecker, which lib/table supplies
//   (table_check.h): the type exists and the file a file-based table reads
//   is there and readable. Without one, tables are not checked. In a list,
//   an element that is only a reference to another parameter ($alias_maps)
//   is left to that parameter's own line, so that a default nobody wrote
//   is never blamed on a line that merely names it.
//
//   Only values someone wrote are judged: a default is never reported.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/config/config.h"
#include "lib/util/result.h"

namespace mailroom::config {

struct TableChecker {
    // True when `type` names a table type this build has.
    std::function<bool(std::string_view type)> known_type;
    // Ok when "type:name" can be opened as far as can be told without
    // opening it; else the reason ("unsupported dictionary type: x").
    std::function<Status(std::string_view spec)> check;
};

// Every problem, "FILE, line N: message", in file order (main.cf first).
std::vector<std::string> validate_config(const Config& cfg, const TableChecker* tables = nullptr);

// The problem with the effective value of one parameter of `cfg`, if any
// (no file or line in the message).
Status validate_param(const Config& cfg, std::string_view name, const TableChecker* tables = nullptr);

// The first problem among the values of `names` that someone wrote, with
// where: "FILE, line N: ..." for main.cf, "-o name=value: ..." for an
// override. What a daemon declares it reads (server.h, ServiceSpec) is
// checked this way when the daemon starts.
Status validate_params(const Config& cfg, const std::vector<std::string_view>& names,
                       const TableChecker* tables = nullptr);

// How an smtpd restriction name is used, as smtpd/smtpd_check.cc
// evaluates it.
enum class RestrictionKind {
    kUnknown,
    kPlain,        // no argument
    kTable,        // followed by a type:table argument
    kDomain,       // followed by a DNS domain argument
    kUnsupported,  // a Postfix restriction this mail system does not have
};
RestrictionKind restriction_kind(std::string_view name);

}  // namespace mailroom::config
