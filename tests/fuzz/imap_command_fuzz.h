// imap_command_fuzz.h - fuzz target for the IMAP command parser and framer.
//
// Summary
//   fuzz_imap_command() feeds the input to an ImapFramer line by line (the
//   way the session does, literals taken raw) and parses each complete
//   command. Invariants for every input: exactly one of command and error
//   is set; an error is one printable line; a parsed command has a valid
//   tag and an upper-case name; the framer never asks for more literal
//   bytes than were announced; a parse is the same when the keyword's case
//   is flipped. The replay test in tests/imapd runs it over
//   tests/fuzz/imap_command_corpus; built with -DMAILROOM_LIBFUZZER it is
//   also a libFuzzer entry point.
//
// Fuzzing (from the source root; the clang++ command is one line):
//   clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -DMAILROOM_LIBFUZZER
//     -I. -Itests/fuzz tests/fuzz/imap_command_fuzz.cc imapd/imap_parser.cc -o imap_command_fuzz
//   ./imap_command_fuzz -max_len=2048 CORPUS_COPY tests/fuzz/imap_command_corpus
#pragma once

#include "queue_record_fuzz.h"

namespace mailroom::fuzz {

FuzzVerdict fuzz_imap_command(std::string_view bytes);

}  // namespace mailroom::fuzz
