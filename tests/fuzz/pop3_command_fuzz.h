// pop3_command_fuzz.h - fuzz target for the POP3 command parser.
//
// Summary
//   fuzz_pop3_command() parses the input as one command line and checks
//   invariants that hold for every input: exactly one of command and error
//   is set, an error is one printable line, message numbers are in
//   1..2^31-1 (0 allowed, refused later by the session), the parse does
//   not depend on the keyword's case, and AUTH mechanisms come out upper
//   case. The replay test in tests/pop3d runs it over
//   tests/fuzz/pop3_command_corpus; built with -DMAILROOM_LIBFUZZER it is
//   also a libFuzzer entry point.
//
// Fuzzing (from the source root; the clang++ command is one line):
//   clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -DMAILROOM_LIBFUZZER
//     -I. -Itests/fuzz tests/fuzz/pop3_command_fuzz.cc pop3d/pop3_command.cc -o pop3_command_fuzz
//   ./pop3_command_fuzz -max_len=512 CORPUS_COPY tests/fuzz/pop3_command_corpus
#pragma once

#include "queue_record_fuzz.h"

namespace mailroom::fuzz {

FuzzVerdict fuzz_pop3_command(std::string_view bytes);

}  // namespace mailroom::fuzz
