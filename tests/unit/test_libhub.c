#include "check.h"
static const check_case_t cases[] = {{NULL, NULL}};
int main(void) { return check_run(cases); }
