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
/** Characters in a path. */
export const MAX_FILTER_PATH_LENGTH = 256;
/** Segments in a path (`a.b[0]` has three). */
export const MAX_FILTER_PATH_SEGMENTS = 32;
/** Arrays and objects nested inside a condition's value. */
export const MAX_FILTER_VALUE_DEPTH = 8;
/** UTF-8 bytes of the whole filter written as JSON. */
export const MAX_FILTER_JSON_BYTES = 64 * 1024;
