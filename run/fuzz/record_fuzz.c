/* libFuzzer target: the attempt record reader that natlab report and check use
 * (one line of attempts.jsonl), and the writer on what it read. `make fuzz`. */
#include <stdint.h>
#include <stdlib.h>

#include "../record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t err;
	json_t *j = json_loadb((const char *)data, size, 0, &err);
	struct attempt_record *r;
	struct diag d;

	if (!j)
		return 0;
	r = malloc(sizeof(*r));
	if (r) {
		record_init(r);
		if (!record_from_json(j, r, &d)) {
			size_t len;
			char *line = record_line(r, &len);

			free(line);
		}
		record_release(r);
		free(r);
	}
	json_decref(j);
	return 0;
}
