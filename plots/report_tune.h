/* report_tune.h - the "Settings that help" section of `mallog report`, from the tune.json that
 * `mallog tune LOG -o DIR` left in the report's directory (a report never runs a search itself:
 * a search takes minutes, a report must not). */
#ifndef MLG_REPORT_TUNE_H
#define MLG_REPORT_TUNE_H

#include <stdio.h>

/* Writes the section into f (HTML): dir/tune.json's defaults against best per allocator, the
 * failed candidates, the recommendation and dir/tune-memory.png; if there is no tune.json, or it
 * is about another log than logpath, says so and how to fill it. */
void report_tune_section(FILE *f, const char *dir, const char *logpath);

#endif
