// authd_proto_fuzz.h - fuzz target for the authdaemond protocol codec.
//
// Summary
//   fuzz_authd_proto() reads its first byte as the direction ('q': a
//   request; 'p', 'a', 'w', 'e': the reply to PRE, AUTH, PASSWD or
//   ENUMERATE) and decodes the rest, whole and byte by byte, checking
//   invariants that hold for every input: both ways give the same verdict
//   and the same value, the decoder never consumes more than it was given
//   nor asks for more without consuming, and a decoded value encodes and
//   decodes back to itself. The replay test in tests/lib/auth runs it over
//   tests/fuzz/authd_proto_corpus; built with -DMAILROOM_LIBFUZZER it is
//   also a libFuzzer entry point.
//
// Fuzzing (from the source root; the clang++ command is one line):
//   clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -DMAILROOM_LIBFUZZER
//     -I. -Itests/fuzz tests/fuzz/authd_proto_fuzz.cc lib/auth/authd_proto.cc lib/util/base64.cc -o authd_proto_fuzz
//   ./authd_proto_fuzz -max_len=4096 CORPUS_COPY tests/fuzz/authd_proto_corpus
#pragma once

#include "queue_record_fuzz.h"

namespace mailroom::fuzz {

FuzzVerdict fuzz_authd_proto(std::string_view bytes);

}  // namespace mailroom::fuzz
