/* libFuzzer target: scenario files (and, through knob overrides, profile knobs).
 * `make fuzz` builds it with clang and runs it for FUZZ_SECONDS. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "../scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct scenario s;
	struct diag d;
	FILE *f;

	if (size == 0)
		return 0;
	f = fmemopen((void *)data, size, "r");
	if (!f)
		return 0;
	scenario_load_stream(&s, f, "fuzz.ini", &d);
	fclose(f);
	return 0;
}
