// postconf.h - the postconf command, as a function the tests can call.
//
// Summary
//   run_postconf(argv) implements postconf(1): show parameters (all, named,
//   -n non-default, -d defaults, -h values only, -H names only, -x expanded),
//   edit main.cf (-e name=value or a bare "name = value", -X remove,
//   -# comment out), list table types (-m) and SASL plug-in types (-a, -A),
//   and show or edit master.cf (-M [service[/type]], -Me service/type=entry,
//   -MX service/type, -M# service/type). -c DIR selects the configuration
//   directory; -o name=value overrides a parameter for this run.
//
// Diagnostics
//   Output goes to `out`; warnings and errors to standard error as
//   "postconf: warning: ..." / "postconf: fatal: ...". Returns the exit
//   status: 0 on success, 1 on a fatal error.
#pragma once

#include <ostream>

namespace mailroom::postconf {

int run_postconf(int argc, char** argv, std::ostream& out);

}  // namespace mailroom::postconf
