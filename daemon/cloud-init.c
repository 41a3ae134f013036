/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The cloud-init NoCloud seed ISO, built in memory with libisofs and written atomically. Library
 * code: it logs at debug level only and returns -errno. */

#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* After the headers it uses but does not include. We read its burn source ourselves instead of
 * through libburn, so we need its copy of struct burn_source. */
#define LIBISOFS_WITHOUT_LIBBURN 1
#include <libisofs/libisofs.h>

#include "cloud-init.h"
#include "fileio.h"
#include "log.h"
#include "macro.h"

/* Part of every seed's hash: a change to how seeds are laid out must change it, so that seeds
 * made by an older microvm are rebuilt. */
#define SEED_FORMAT "microvm NoCloud seed 1\n"

/* "MICROVM-SEED-" and 64 upper-case hex digits: ISO 9660 a-characters, which libisofs would
 * otherwise upper-case, and well within the application id's 128 bytes. */
#define SEED_ID_PREFIX "MICROVM-SEED-"
#define SEED_ID_MAX (sizeof(SEED_ID_PREFIX) + 64)

/* For iso_image_filesystem_new() when no image is involved, as libisofs.h asks. */
#define ISO_MSGID_NONE 0x1fffff

#define ISO_BLOCK_SIZE 2048

/* iso_ring_buffer_get_status(): "consumption has ended without input error". */
#define ISO_RING_BUFFER_ENDED 6

typedef struct SeedFile {
        const char *name;       /* borrowed */
        const char *contents;   /* borrowed */
} SeedFile;

static inline IsoImage *iso_image_unref_null(IsoImage *i) {
        iso_image_unref(i);
        return NULL;
}
DEFINE_CLEANUP(IsoImage *, iso_image_unref_null);

static inline IsoWriteOpts *iso_write_opts_free_null(IsoWriteOpts *o) {
        iso_write_opts_free(o);
        return NULL;
}
DEFINE_CLEANUP(IsoWriteOpts *, iso_write_opts_free_null);

static inline IsoReadOpts *iso_read_opts_free_null(IsoReadOpts *o) {
        iso_read_opts_free(o);
        return NULL;
}
DEFINE_CLEANUP(IsoReadOpts *, iso_read_opts_free_null);

static inline IsoDataSource *iso_data_source_unref_null(IsoDataSource *s) {
        iso_data_source_unref(s);
        return NULL;
}
DEFINE_CLEANUP(IsoDataSource *, iso_data_source_unref_null);

static inline IsoImageFilesystem *iso_filesystem_unref_null(IsoImageFilesystem *fs) {
        iso_filesystem_unref(fs);
        return NULL;
}
DEFINE_CLEANUP(IsoImageFilesystem *, iso_filesystem_unref_null);

static inline IsoStream *iso_stream_unref_null(IsoStream *s) {
        iso_stream_unref(s);
        return NULL;
}
DEFINE_CLEANUP(IsoStream *, iso_stream_unref_null);

/* The burn source owns the thread that generates the image: cancel() ends and joins it whatever
 * state it is in (a second call does nothing), and only then may its data be freed. */
static inline struct burn_source *burn_source_free_null(struct burn_source *bs) {
        bs->cancel(bs);
        bs->free_data(bs);
        free(bs);
        return NULL;
}
DEFINE_CLEANUP(struct burn_source *, burn_source_free_null);

/* libisofs's error codes, as the nearest errno. */
static int iso_to_errno(int e) {
        switch ((unsigned) e) {
        case ISO_OUT_OF_MEM:
                return -ENOMEM;
        case ISO_NULL_POINTER:
        case ISO_WRONG_ARG_VALUE:
        case ISO_NODE_NAME_NOT_UNIQUE:
        case ISO_RR_NAME_TOO_LONG:
        case ISO_RR_NAME_RESERVED:
                return -EINVAL;
        case ISO_FILE_ACCESS_DENIED:
                return -EACCES;
        case ISO_FILE_DOESNT_EXIST:
        case ISO_FILE_BAD_PATH:
                return -ENOENT;
        case ISO_FILE_IS_DIR:
                return -EISDIR;
        case ISO_THREAD_ERROR:
                return -EAGAIN;
        case ISO_CANCELED:
        case ISO_IMAGE_WRITE_CANCELED:
                return -ECANCELED;
        case ISO_WRONG_PVD:
        case ISO_WRONG_RR:
        case ISO_UNSUPPORTED_VD:
                return -EBADMSG;
        default:
                return -EIO;
        }
}

static int log_iso_error(int e, const char *what) {
        return log_debug_errno(iso_to_errno(e), "libisofs: failed to %s: %s (0x%08x)",
                               what, iso_error_to_msg(e), (unsigned) e);
}

/* libisofs keeps its message queue and tables process-wide; iso_finish() drops them. */
static int iso_session_begin(void) {
        int e;

        /* Flag bit 0: leave the process's locale alone. Our names and ids are plain ASCII. */
        e = iso_init_with_flag(1);
        if (e < 0) {
                iso_finish();
                return log_iso_error(e, "initialize");
        }
        /* Queue rather than print: library code logs at debug level, see iso_session_end(). */
        e = iso_set_msgs_severities((char *) "WARNING", (char *) "NEVER", (char *) "libisofs: ");
        if (e <= 0) {
                iso_finish();
                return log_iso_error(e < 0 ? e : (int) ISO_ERROR, "set message severities");
        }
        return 0;
}

static void iso_session_end(void) {
        char text[ISO_MSGS_MESSAGE_LEN], severity[80];
        int code, image_id;

        while (iso_obtain_msgs((char *) "ALL", &code, &image_id, text, severity) == 1)
                log_debug("libisofs: %s: %s (0x%08x)", severity, text, (unsigned) code);
        iso_finish();
}

/* s as a YAML double-quoted scalar. Control characters would need escapes that are not worth
 * having in an instance id or a host name, so they are refused, as is anything not UTF-8. */
static int yaml_quote(const char *s, char **ret) {
        size_t n = 2;
        char *q, *p;

        if (!g_utf8_validate(s, -1, NULL))
                return -EINVAL;
        for (const char *c = s; *c; c = g_utf8_next_char(c)) {
                if (g_unichar_iscntrl(g_utf8_get_char(c)))
                        return -EINVAL;
                n += *c == '"' || *c == '\\' ? 2 : (size_t) (g_utf8_next_char(c) - c);
        }

        q = p = malloc(n + 1);
        if (!q)
                return -ENOMEM;
        *p++ = '"';
        for (const char *c = s; *c; c++) {
                if (*c == '"' || *c == '\\')
                        *p++ = '\\';
                *p++ = *c;
        }
        *p++ = '"';
        *p = '\0';
        *ret = q;
        return 0;
}

static int meta_data_generate(const char *instance_id, const char *local_hostname, char **ret) {
        _cleanup_free_ char *id = NULL, *hostname = NULL;
        char *text;
        int r;

        if (!instance_id || instance_id[0] == '\0')
                return log_debug_errno(EINVAL, "No meta-data and no instance id to generate it from.");
        if (local_hostname && local_hostname[0] == '\0')
                return log_debug_errno(EINVAL, "Empty local hostname.");

        r = yaml_quote(instance_id, &id);
        if (r < 0)
                return log_debug_errno(r, "Instance id '%s' is not UTF-8 or holds a control character.",
                                       instance_id);
        if (local_hostname) {
                r = yaml_quote(local_hostname, &hostname);
                if (r < 0)
                        return log_debug_errno(r, "Local hostname '%s' is not UTF-8 or holds a control "
                                               "character.", local_hostname);
        }

        if (asprintf(&text, "instance-id: %s\n%s%s%s", id,
                     hostname ? "local-hostname: " : "", strempty(hostname), hostname ? "\n" : "") < 0)
                return -ENOMEM;
        *ret = text;
        return 0;
}

/* The application id that names these files: SEED_ID_PREFIX and the SHA-256 of the format, then
 * each file's name, size and contents (the sizes keep one file's end from passing for the next
 * one's start). */
static void seed_hash(const SeedFile *files, size_t n_files, char ret[static SEED_ID_MAX]) {
        g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
        const char *hex;
        char *p;

        g_checksum_update(sum, (const guchar *) SEED_FORMAT, strlen(SEED_FORMAT));
        for (size_t i = 0; i < n_files; i++) {
                char size[32];
                size_t len = strlen(files[i].contents);

                (void) snprintf(size, sizeof(size), "%zu", len);
                g_checksum_update(sum, (const guchar *) files[i].name, strlen(files[i].name) + 1);
                g_checksum_update(sum, (const guchar *) size, strlen(size) + 1);
                g_checksum_update(sum, (const guchar *) files[i].contents, len);
        }

        hex = g_checksum_get_string(sum);
        p = stpcpy(ret, SEED_ID_PREFIX);
        for (const char *c = hex; *c; c++)
                *p++ = g_ascii_toupper(*c);
        *p = '\0';
}

/* Whether path is a seed made from the files that gave id. Anything that is not (missing,
 * unreadable, not ISO 9660, another hash) just means it is to be written. */
static bool seed_is_current(const char *path, const char *id) {
        _cleanup_(iso_data_source_unref_nullp) IsoDataSource *src = NULL;
        _cleanup_(iso_read_opts_free_nullp) IsoReadOpts *opts = NULL;
        _cleanup_(iso_filesystem_unref_nullp) IsoImageFilesystem *fs = NULL;
        const char *found;
        int e;

        if (access(path, F_OK) < 0) {
                (void) log_debug_errno(errno, "No seed at '%s' yet: %m", path);
                return false;
        }

        e = iso_data_source_new_from_file(path, &src);
        if (e < 0) {
                (void) log_iso_error(e, "open the existing seed");
                return false;
        }
        e = iso_read_opts_new(&opts, 0);
        if (e < 0) {
                (void) log_iso_error(e, "allocate read options");
                return false;
        }
        e = iso_image_filesystem_new(src, opts, ISO_MSGID_NONE, &fs);
        if (e < 0) {
                (void) log_iso_error(e, "read the existing seed");
                return false;
        }

        found = iso_image_fs_get_application_id(fs);
        if (!streq_ptr(found, id)) {
                log_debug("Seed '%s' was made from other inputs (%s), rebuilding.", path, strempty(found));
                return false;
        }
        return true;
}

static int seed_add_file(IsoImage *image, const SeedFile *f) {
        _cleanup_(iso_stream_unref_nullp) IsoStream *stream = NULL;
        _cleanup_free_ unsigned char *copy = NULL;
        size_t size = strlen(f->contents);
        int e;

        /* The stream takes the buffer and free()s it; one byte more so that "" is no NULL. */
        copy = malloc(size + 1);
        if (!copy)
                return -ENOMEM;
        memcpy(copy, f->contents, size + 1);

        e = iso_memory_stream_new(copy, size, &stream);
        if (e < 0)
                return log_iso_error(e, "make a memory stream");
        TAKE_PTR(copy);

        e = iso_image_add_new_file(image, iso_image_get_root(image), f->name, stream, /* file= */ NULL);
        if (e < 0)
                return log_iso_error(e, "add a file");
        TAKE_PTR(stream);
        return 0;
}

/* The whole image in memory: a seed is small, and fileio's atomic write takes a buffer. */
static int seed_build(const SeedFile *files, size_t n_files, const char *id, char **ret, size_t *ret_size) {
        _cleanup_(iso_image_unref_nullp) IsoImage *image = NULL;
        _cleanup_(iso_write_opts_free_nullp) IsoWriteOpts *opts = NULL;
        _cleanup_(burn_source_free_nullp) struct burn_source *bs = NULL;
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        off_t total;
        int e, r;

        e = iso_image_new(MVM_CLOUD_INIT_VOLUME_ID, &image);
        if (e < 0)
                return log_iso_error(e, "create an image");
        iso_image_set_application_id(image, id);

        for (size_t i = 0; i < n_files; i++) {
                r = seed_add_file(image, &files[i]);
                if (r < 0)
                        return r;
        }

        e = iso_write_opts_new(&opts, /* profile= */ 0);
        if (e < 0)
                return log_iso_error(e, "allocate write options");
        /* Rock Ridge and Joliet each carry the lower-case names NoCloud needs; the plain ISO 9660
         * tree can only hold upper-case ones. Relaxed volume attributes keep "cidata" lower case,
         * which is how the guest's blkid and cloud-init look for it. */
        e = iso_write_opts_set_iso_level(opts, 3);
        if (e >= 0)
                e = iso_write_opts_set_rockridge(opts, 1);
        if (e >= 0)
                e = iso_write_opts_set_joliet(opts, 1);
        if (e >= 0)
                e = iso_write_opts_set_relaxed_vol_atts(opts, 1);
        if (e < 0)
                return log_iso_error(e, "set write options");

        e = iso_image_create_burn_source(image, opts, &bs);
        if (e < 0)
                return log_iso_error(e, "start writing the image");

        total = bs->get_size(bs);
        if (total <= 0 || total % ISO_BLOCK_SIZE != 0)
                return log_debug_errno(EIO, "libisofs announced an image of %jd bytes.", (intmax_t) total);
        buf = malloc((size_t) total);
        if (!buf)
                return -ENOMEM;

        for (;;) {
                int k;

                if (size == (size_t) total) {
                        /* Read on to see the end, and that libisofs agrees it is the end. */
                        unsigned char extra[ISO_BLOCK_SIZE];

                        k = bs->read_xt(bs, extra, sizeof(extra));
                        if (k != 0)
                                return log_debug_errno(EIO, "libisofs wrote more than the %jd bytes it "
                                                       "announced.", (intmax_t) total);
                        break;
                }
                k = bs->read_xt(bs, (unsigned char *) buf + size, ISO_BLOCK_SIZE);
                if (k < 0)
                        return log_debug_errno(EIO, "Failed to read the image from libisofs.");
                if (k == 0)
                        return log_debug_errno(EIO, "libisofs ended the image after %zu of %jd bytes.",
                                               size, (intmax_t) total);
                size += (size_t) k;
        }

        /* The writer thread has finished; joining it tells whether it finished well. */
        bs->cancel(bs);
        if (iso_ring_buffer_get_status(bs, NULL, NULL) != ISO_RING_BUFFER_ENDED)
                return log_debug_errno(EIO, "libisofs failed while writing the image.");

        *ret = TAKE_PTR(buf);
        *ret_size = size;
        return 0;
}

int cloud_init_seed_write(const CloudInitSeed *seed, const char *path) {
        _cleanup_free_ char *meta_data = NULL, *iso = NULL;
        SeedFile files[3];
        char id[SEED_ID_MAX];
        size_t n_files = 0, size = 0;
        bool current;
        int r = 0;

        assert(seed);
        assert(path);

        if (!seed->meta_data) {
                r = meta_data_generate(seed->instance_id, seed->local_hostname, &meta_data);
                if (r < 0)
                        return r;
        }

        files[n_files++] = (SeedFile) { "user-data", seed->user_data ?: "#cloud-config\n" };
        files[n_files++] = (SeedFile) { "meta-data", seed->meta_data ?: meta_data };
        if (seed->network_config)
                files[n_files++] = (SeedFile) { "network-config", seed->network_config };
        seed_hash(files, n_files, id);

        r = iso_session_begin();
        if (r < 0)
                return r;
        current = seed_is_current(path, id);
        if (!current)
                r = seed_build(files, n_files, id, &iso, &size);
        /* Every libisofs object is gone by now: the helpers above free theirs on return. */
        iso_session_end();
        if (r < 0)
                return log_debug_errno(r, "Failed to build the seed for '%s': %m", path);
        if (current) {
                log_debug("Seed '%s' is up to date.", path);
                return 0;
        }

        r = write_file_atomic(path, iso, size, MVM_CLOUD_INIT_SEED_MODE);
        if (r < 0)
                return log_debug_errno(r, "Failed to write seed '%s': %m", path);
        log_debug("Wrote seed '%s' (%zu bytes).", path, size);
        return 1;
}

int cloud_init_instance_id(const char *vm_name, char **ret) {
        g_autofree char *hex = NULL;
        char *id;

        assert(vm_name);
        assert(ret);

        hex = g_compute_checksum_for_string(G_CHECKSUM_SHA256, vm_name, -1);
        if (asprintf(&id, "iid-microvm-%.16s", hex) < 0)
                return -ENOMEM;
        *ret = id;
        return 0;
}
