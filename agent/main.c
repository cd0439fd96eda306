#include <stdio.h>
int main(void) { puts("hsdo-agent: under construction"); return 1; }
