/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A fuzz target as a plain program: every file in the directories (or files) named on the command
 * line goes through it once. Without libFuzzer, this is how the corpus becomes a regression test. */

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fileio.h"
#include "fuzz.h"
#include "macro.h"

static int run_file(const char *path) {
        _cleanup_free_ char *data = NULL;
        size_t size;
        int r;

        r = read_file(path, &data, &size);
        if (r < 0) {
                fprintf(stderr, "%s: %s\n", path, strerror(-r));
                return r;
        }
        (void) LLVMFuzzerTestOneInput((const uint8_t *) data, size);
        return 0;
}

int main(int argc, char *argv[]) {
        size_t n = 0;

        for (int i = 1; i < argc; i++) {
                _cleanup_(closedirp) DIR *d = NULL;
                struct dirent *de;
                struct stat st;

                if (stat(argv[i], &st) < 0) {
                        perror(argv[i]);
                        return EXIT_FAILURE;
                }
                if (!S_ISDIR(st.st_mode)) {
                        if (run_file(argv[i]) < 0)
                                return EXIT_FAILURE;
                        n++;
                        continue;
                }
                d = opendir(argv[i]);
                if (!d) {
                        perror(argv[i]);
                        return EXIT_FAILURE;
                }
                while ((de = readdir(d))) {
                        _cleanup_free_ char *path = NULL;

                        if (de->d_name[0] == '.')
                                continue;
                        if (asprintf(&path, "%s/%s", argv[i], de->d_name) < 0 || run_file(path) < 0)
                                return EXIT_FAILURE;
                        n++;
                }
        }
        printf("%zu inputs, no invariant broken\n", n);
        return n > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
