// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* --fail-on: the verdict list parser and which reports it counts as flagged. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "report/report.h"
#include "unit.h"

static void parse(void)
{
	unsigned m = 99;

	CHECK(report__parse_verdicts("leaked", &m) == 0 && m == REPORT_VERDICT_LEAKED);
	CHECK(report__parse_verdicts("leaked,deadlocked", &m) == 0 &&
	      m == (REPORT_VERDICT_LEAKED | REPORT_VERDICT_DEADLOCKED));
	CHECK(report__parse_verdicts("parked,spinning,growing", &m) == 0 &&
	      m == (REPORT_VERDICT_PARKED | REPORT_VERDICT_SPINNING | REPORT_VERDICT_GROWING));
	CHECK(report__parse_verdicts("leaked,leaked", &m) == 0 && m == REPORT_VERDICT_LEAKED);
	/* idle is never flagged: not a --fail-on verdict */
	const char *bad[] = { "", ",", "leaked,", ",leaked", "leaked,,parked", "leak", "idle",
			      "LEAKED", "leaked parked", "averyveryverylongverdictname" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(report__parse_verdicts(bad[i], &m) == -EINVAL);
}

static void flagged(void)
{
	struct pw_report r = { 0 };
	struct pw_gflagged *g;

	CHECK(!report__flagged(&r, 0));
	CHECK(!report__flagged(&r, REPORT_VERDICT_LEAKED));
	g = report__add_goroutine(&r);
	g->class = "parked";
	CHECK(report__flagged(&r, 0));
	CHECK(!report__flagged(&r, REPORT_VERDICT_LEAKED));
	CHECK(report__flagged(&r, REPORT_VERDICT_PARKED | REPORT_VERDICT_LEAKED));
	g = report__add_goroutine(&r);
	g->class = "leaked";
	CHECK(report__flagged(&r, REPORT_VERDICT_LEAKED));
	CHECK(!report__flagged(&r, REPORT_VERDICT_SPINNING));
	report__free(&r);
}

int main(void)
{
	parse();
	flagged();
	return unit_done("report_verdicts");
}
