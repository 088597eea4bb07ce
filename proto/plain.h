/*
 * plain - how many bytes at the start of a JSON string's text a reader
 * can take as they are, found eight bytes at a time: the scan the JSON
 * reader runs over every string of an event.
 */
#ifndef HUB_PLAIN_H_INCLUDED
#define HUB_PLAIN_H_INCLUDED

#include <stddef.h>

/* The length of the run at the start of s (len bytes) that holds no '"',
 * no '\\', no control byte (below 0x20, NUL too) and no byte from 0x80
 * (UTF-8, which the reader checks). */
size_t hub_plain_run(const char *s, size_t len);

#endif
