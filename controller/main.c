/* main.c: virtform's command line (placeholder until the CLI lands). */
#include <stdio.h>
int main(void)
{
	puts("virtform " VF_VERSION);
	return 0;
}
