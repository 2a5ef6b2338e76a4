// postalias_main.cc - the postalias command; all of it lives in postmap_core.cc.
#include "postmap/postmap_core.h"

int main(int argc, char** argv) { return mailroom::postmap::run(mailroom::postmap::Flavor::kPostalias, argc, argv); }
