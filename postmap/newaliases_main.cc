// newaliases_main.cc - the newaliases command; all of it lives in postmap_core.cc.
#include "postmap/postmap_core.h"

int main(int argc, char** argv) { return mailroom::postmap::run_newaliases(argc, argv); }
