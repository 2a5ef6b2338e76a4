// imap_bodystructure_fuzz.h - fuzz target for the IMAP message parser
// (lib/imap): BODYSTRUCTURE, BODY, ENVELOPE and section extraction over
// arbitrary bytes.
//
// Summary
//   fuzz_imap_bodystructure() parses the input as a message and checks
//   invariants that hold for every input: the BODYSTRUCTURE, BODY and
//   ENVELOPE strings are well formed (parentheses balanced outside quoted
//   strings and literals, every literal's length right), nesting stays
//   under the parser's bound, the same message with CRLF line ends gives
//   the same strings, and BODY[n] of every part has exactly the size
//   BODYSTRUCTURE reports. `valid` is false when the parse had to stop at
//   a limit (nesting or part count). The replay test in tests/lib/imap
//   runs it over tests/fuzz/imap_bodystructure_corpus; built with
//   -DMAILROOM_LIBFUZZER it is also a libFuzzer entry point.
//
// Fuzzing (from the source root; the clang++ command is one line):
//   clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -DMAILROOM_LIBFUZZER
//     -I. -Itests/fuzz tests/fuzz/imap_bodystructure_fuzz.cc lib/imap/*.cc lib/util/strings.cc
//     -o imap_bodystructure_fuzz
//   ./imap_bodystructure_fuzz -max_len=8192 CORPUS_COPY tests/fuzz/imap_bodystructure_corpus
#pragma once

#include "queue_record_fuzz.h"

namespace mailroom::fuzz {

FuzzVerdict fuzz_imap_bodystructure(std::string_view bytes);

}  // namespace mailroom::fuzz
