/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A fuzz target: libFuzzer calls it with each input it makes (meson -Dfuzz=true, with clang);
 * corpus-driver.c calls it with each file of the target's corpus, as a regression test. An input
 * that breaks an invariant aborts. */
#pragma once

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Stops with a message when an invariant does not hold, in every build type. */
#define FUZZ_CHECK(cond)                                                                        \
        do {                                                                                    \
                if (!(cond)) {                                                                  \
                        fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #cond); \
                        abort();                                                                \
                }                                                                               \
        } while (0)
