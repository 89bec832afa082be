// Bounds on a filter, so that storing and evaluating one stays cheap whatever a user sends.

/** all/any/not nodes nested inside one another, counted from the root. */
export const MAX_FILTER_DEPTH = 10;
/** Conditions in the whole filter. */
export const MAX_FILTER_CONDITIONS = 200;
/** Characters in any string inside a condition's value. */
export const MAX_FILTER_STRING_LENGTH = 1024;
/** Items in an `in` list. */
export const MAX_FILTER_IN_ITEMS = 200;
/** Characters in a `matches` pattern. */
export const MAX_FILTER_REGEX_LENGTH = 512;
/** Instructions a compiled pattern may have (`[a-z]{1000}` has about 1,000): linear time, bounded constant. */
export const MAX_FILTER_REGEX_PROGRAM_SIZE = 2000;
/**
 * `matches` conditions in the whole filter. Each scans its value in time linear in the value's
 * length, but the constant is the pattern's: about 10 ms a megabyte for a small pattern and 100
 * for one at MAX_FILTER_REGEX_PROGRAM_SIZE on a slow 2-core VM. Two hundred large patterns over a
 * 1 MB field held the event loop for 14 s; these two bounds keep one filter under half a second.
 */
export const MAX_FILTER_PATTERNS = 20;
/** Instructions of all of a filter's patterns together (see MAX_FILTER_PATTERNS). */
export const MAX_FILTER_PATTERN_PROGRAM_TOTAL = 4000;
/** Characters in a path. */
export const MAX_FILTER_PATH_LENGTH = 256;
/** Segments in a path (`a.b[0]` has three). */
export const MAX_FILTER_PATH_SEGMENTS = 32;
/** Arrays and objects nested inside a condition's value. */
export const MAX_FILTER_VALUE_DEPTH = 8;
/** UTF-8 bytes of the whole filter written as JSON. */
export const MAX_FILTER_JSON_BYTES = 64 * 1024;
