// smtpd_input_fuzz.h - fuzz target for what smtpd parses from the network.
//
// Summary
//   fuzz_smtpd_input() treats bytes as a client's input. Every line goes
//   through parse_command() under three option sets (lenient, strict
//   envelopes, a tiny line limit); the whole input also goes through
//   take_line() and DataDecoder as a DATA section, once whole and once a
//   byte at a time. It checks invariants that must hold for every input:
//   the parser is deterministic, a parsed command carries no CR, LF or NUL,
//   an error is a single well-formed 4xx/5xx reply line; the line cutter
//   never returns a piece over its limit and its output does not depend on
//   how the bytes arrive; DATA ends only at <CR><LF>.<CR><LF> (no SMTP
//   smuggling through bare LF or bare CR). The replay test in tests/lib/smtp
//   runs it over tests/fuzz/smtpd_command_corpus; built with
//   -DMAILROOM_LIBFUZZER it is also a libFuzzer entry point.
//
// Fuzzing (from the source root; the clang++ command is one line):
//   clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -DMAILROOM_LIBFUZZER
//     -I. -Ibuild/generated -Itests/fuzz tests/fuzz/smtpd_input_fuzz.cc lib/smtp/smtp_command.cc lib/smtp/smtp_data.cc
//     lib/smtp/smtp_reply.cc lib/config/*.cc lib/log/log.cc lib/util/*.cc -o smtpd_input_fuzz
//   ./smtpd_input_fuzz -max_len=4096 CORPUS_COPY tests/fuzz/smtpd_command_corpus
#pragma once

#include "queue_record_fuzz.h"

namespace mailroom::fuzz {

FuzzVerdict fuzz_smtpd_input(std::string_view bytes);

}  // namespace mailroom::fuzz
