/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <glib.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bus-errors.h"
#include "hypervisor-api.h"
#include "fileio.h"
#include "macro.h"
#include "problem.h"
#include "snapshot.h"

#define GROUP "Snapshot"
/* A QEMU migration stream starts with "QEVM" and format version 3. */
static const uint8_t qemu_state_magic[8] = { 'Q', 'E', 'V', 'M', 0, 0, 0, 3 };

void snapshot_meta_done(SnapshotMeta *m) {
        free(m->vm);
        free(m->hypervisor);
        free(m->hypervisor_version);
        free(m->config_hash);
        *m = (SnapshotMeta) {};
}

char *snapshot_config_hash(const Config *c) {
        /* With defaults filled in: a key set to its default is the same configuration. */
        g_autoptr(GVariant) v = g_variant_ref_sink(config_to_variant(c, /* effective= */ true));
        g_autofree char *text = g_variant_print(v, true);

        return g_compute_checksum_for_string(G_CHECKSUM_SHA256, text, -1);
}

int snapshot_meta_path(const char *path, char **ret) {
        return asprintf(ret, "%s" SNAPSHOT_META_SUFFIX, path) < 0 ? -ENOMEM : 0;
}

int snapshot_meta_write(const char *path, const SnapshotMeta *m) {
        g_autoptr(GKeyFile) kf = g_key_file_new();
        _cleanup_free_ char *meta = NULL;
        g_autofree char *text = NULL;
        gsize size;
        int r;

        r = snapshot_meta_path(path, &meta);
        if (r < 0)
                return r;
        g_key_file_set_string(kf, GROUP, "VM", m->vm);
        g_key_file_set_string(kf, GROUP, "Hypervisor", m->hypervisor);
        g_key_file_set_string(kf, GROUP, "HypervisorVersion", m->hypervisor_version);
        g_key_file_set_string(kf, GROUP, "ConfigHash", m->config_hash);
        g_key_file_set_uint64(kf, GROUP, "CreatedUSec", m->created_usec);
        g_key_file_set_uint64(kf, GROUP, "Size", m->size);
        g_key_file_set_uint64(kf, GROUP, "MTimeNSec", m->mtime_nsec);
        g_key_file_set_boolean(kf, GROUP, "Paused", m->paused);
        text = g_key_file_to_data(kf, &size, NULL);
        if (!text)
                return -ENOMEM;
        return write_file_atomic(meta, text, size, 0644);
}

int snapshot_meta_read(const char *path, SnapshotMeta *ret, char **ret_problem) {
        g_autoptr(GKeyFile) kf = g_key_file_new();
        g_autoptr(GError) error = NULL;
        _cleanup_free_ char *meta = NULL, *text = NULL;
        SnapshotMeta m = {};
        size_t size;
        int r;

        struct stat st;

        r = snapshot_meta_path(path, &meta);
        if (r < 0)
                return r;
        /* Never a link to some other file, whose contents an error message could show. */
        if (lstat(meta, &st) >= 0 && S_ISLNK(st.st_mode)) {
                *ret_problem = strdup("it is a symbolic link");
                return -EBADMSG;
        }
        r = read_file(meta, &text, &size);
        if (r < 0)
                return r;
        if (!g_key_file_load_from_data(kf, text, size, G_KEY_FILE_NONE, &error)) {
                *ret_problem = strdup("it is not a key file with a [" GROUP "] section");
                return -EBADMSG;
        }

        m.vm = g_key_file_get_string(kf, GROUP, "VM", NULL);
        m.hypervisor = g_key_file_get_string(kf, GROUP, "Hypervisor", NULL);
        m.hypervisor_version = g_key_file_get_string(kf, GROUP, "HypervisorVersion", NULL);
        m.config_hash = g_key_file_get_string(kf, GROUP, "ConfigHash", NULL);
        m.created_usec = g_key_file_get_uint64(kf, GROUP, "CreatedUSec", NULL);
        m.size = g_key_file_get_uint64(kf, GROUP, "Size", NULL);
        m.mtime_nsec = g_key_file_get_uint64(kf, GROUP, "MTimeNSec", NULL);
        m.paused = g_key_file_get_boolean(kf, GROUP, "Paused", NULL);
        if (!m.vm || !m.hypervisor || !m.hypervisor_version || !m.config_hash || m.size == 0) {
                snapshot_meta_done(&m);
                *ret_problem = strdup("a key of [" GROUP "] is missing");
                return -EBADMSG;
        }
        *ret = m;
        return 0;
}

bool snapshot_exists_at(const char *path) {
        _cleanup_free_ char *meta = NULL;
        struct stat st;

        /* A file, or cloud-hypervisor's directory. */
        return snapshot_meta_path(path, &meta) >= 0 && stat(path, &st) >= 0 &&
               (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) && access(meta, F_OK) >= 0;
}

/* Names the bus error and says what to fix; returns r. */
#define fail(ret_error_name, ret_message, r, name, ...) \
        (*(ret_error_name) = (name), problem_set((r), (ret_message), __VA_ARGS__))

int snapshot_state_path(const char *hypervisor, const char *path, char **ret) {
        const Backend *b = backend_get(hypervisor);

        if (b && api_snapshot_is_directory(b))
                return asprintf(ret, "%s/state.json", path) < 0 ? -ENOMEM : 0;
        *ret = strdup(path);
        return *ret ? 0 : -ENOMEM;
}

int snapshot_check(const char *path, const char *name, const Config *config, SnapshotMeta *ret_meta,
                   const char **ret_error_name, char **ret_message) {
        _cleanup_(snapshot_meta_done) SnapshotMeta m = {};
        _cleanup_free_ char *problem = NULL, *hash = NULL, *state = NULL;
        _cleanup_close_ int fd = -EBADF;
        uint8_t magic[sizeof(qemu_state_magic)];
        const char *hypervisor = config_get_string(config, CONFIG_HYPERVISOR);
        struct stat st;
        int r;

        if (!path[0] || path[0] != '/')
                return fail(ret_error_name, ret_message, -EINVAL, MVM_ERROR_INVALID_ARGUMENT,
                            "'%s' is not an absolute path: give the snapshot's full path", path);

        r = snapshot_state_path(hypervisor, path, &state);
        if (r < 0)
                return r;
        fd = open(state, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0 || fstat(fd, &st) < 0)
                return fail(ret_error_name, ret_message, -errno, MVM_ERROR_INVALID_SNAPSHOT,
                            "cannot open the snapshot %s: %s", state, strerror(errno));
        if (!S_ISREG(st.st_mode))
                return fail(ret_error_name, ret_message, -EBADFD, MVM_ERROR_INVALID_SNAPSHOT,
                            "%s is not a regular file, so not a snapshot", state);

        r = snapshot_meta_read(path, &m, &problem);
        if (r == -ENOENT)
                return fail(ret_error_name, ret_message, r, MVM_ERROR_INVALID_SNAPSHOT,
                            "%s has no metadata beside it (%s" SNAPSHOT_META_SUFFIX "): it is not a snapshot "
                            "SnapshotVM made", path, path);
        if (r < 0)
                return fail(ret_error_name, ret_message, r, MVM_ERROR_INVALID_SNAPSHOT,
                            "the metadata of %s cannot be used: %s", path, problem ?: strerror(-r));

        if ((uint64_t) st.st_size != m.size ||
            (uint64_t) st.st_mtim.tv_sec * UINT64_C(1000000000) + (uint64_t) st.st_mtim.tv_nsec != m.mtime_nsec)
                return fail(ret_error_name, ret_message, -EBADMSG, MVM_ERROR_INVALID_SNAPSHOT,
                            "%s changed since the snapshot was taken (%" PRIu64 " bytes, its metadata says %" PRIu64
                            "): it is truncated or was overwritten; take the snapshot again", path,
                            (uint64_t) st.st_size, m.size);
        if (streq(m.hypervisor, "qemu") &&
            (pread(fd, magic, sizeof(magic), 0) != (ssize_t) sizeof(magic) || memcmp(magic, qemu_state_magic, sizeof(magic)) != 0))
                return fail(ret_error_name, ret_message, -EBADMSG, MVM_ERROR_INVALID_SNAPSHOT,
                            "%s is not a QEMU state file", path);

        if (!streq(m.hypervisor, hypervisor))
                return fail(ret_error_name, ret_message, -EXDEV, MVM_ERROR_SNAPSHOT_MISMATCH,
                            "%s was taken with Hypervisor=%s, but VM '%s' has Hypervisor=%s", path, m.hypervisor,
                            name, hypervisor);
        hash = snapshot_config_hash(config);
        if (!hash)
                return -ENOMEM;
        if (!streq(m.config_hash, hash))
                return fail(ret_error_name, ret_message, -EXDEV, MVM_ERROR_SNAPSHOT_MISMATCH,
                            "the configuration of VM '%s' is not the one %s was taken of (VM '%s'): restore it "
                            "into a VM configured as that one was, or take a new snapshot", name, path, m.vm);

        if (ret_meta) {
                *ret_meta = m;
                m = (SnapshotMeta) {};
        }
        return 0;
}
