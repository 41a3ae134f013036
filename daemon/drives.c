/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Drive checks against the probed images, and what a start fills in from them. */

#include <stdarg.h>
#include <stdio.h>

#include "drives.h"
#include "strv.h"

_printf_(3, 4)
static int fail(char **ret_problem, int error, const char *format, ...) {
        va_list ap;

        if (ret_problem) {
                va_start(ap, format);
                *ret_problem = g_strdup_vprintf(format, ap);
                va_end(ap);
        }
        return error;
}

void drive_probes_done(DriveProbes *d) {
        for (size_t i = 0; i < d->n; i++)
                disk_probe_done(&d->probes[i]);
        d->probes = mfree(d->probes);
        d->n = 0;
}

bool kernel_command_line_has(const char *cmdline, const char *parameter) {
        size_t n = strlen(parameter);

        for (const char *p = cmdline; *p;) {
                p += strspn(p, " \t");
                if (strncmp(p, parameter, n) == 0 && (p[n] == '=' || p[n] == ' ' || p[n] == '\t' || p[n] == '\0'))
                        return true;
                p += strcspn(p, " \t");
        }
        return false;
}

/* Firecracker opens drives as raw block devices only; QEMU and cloud-hypervisor read qcow2. */
static bool hypervisor_takes_qcow2(const char *hypervisor) {
        return !streq(hypervisor, "firecracker");
}

static int drive_check(const Config *c, size_t i, const DiskProbe *p, char **ret_problem) {
        const ConfigGroup *d = &c->groups[CONFIG_SECTION_DRIVE][i];
        const char *hypervisor = config_get_string(c, CONFIG_HYPERVISOR);
        g_autoptr(GVariant) h = NULL;
        const char *format = config_group_get_string(d, CONFIG_DRIVE_FORMAT, &h);
        int r;

        /* Format=raw of a qcow2 image is allowed: the guest then sees the file's bytes as they are. */
        if (streq(format, "qcow2") && p->format != DISK_FORMAT_QCOW2)
                return fail(ret_problem, -EMEDIUMTYPE, "Drives[%zu] '%s': Format=qcow2, but the image is not "
                            "qcow2 (no qcow2 header): use Format=raw or auto", i, p->path);
        if (p->format == DISK_FORMAT_QCOW2 && !streq(format, "raw") && !hypervisor_takes_qcow2(hypervisor))
                return fail(ret_problem, -EMEDIUMTYPE, "Drives[%zu] '%s' is a qcow2 image, but %s takes only "
                            "raw images: convert it (qemu-img convert -O raw '%s' NEW.img) and use that",
                            i, p->path, hypervisor, p->path);

        if (config_group_get_bool(d, CONFIG_DRIVE_ROOT) &&
            !kernel_command_line_has(config_get_string(c, CONFIG_KERNEL_COMMAND_LINE), "root")) {
                g_autofree char *problem = NULL;
                _cleanup_free_ char *args = NULL;

                r = disk_root_args(p, i, &args, &problem);
                if (r < 0)
                        return fail(ret_problem, r, "Drives[%zu] is the root drive, but %s", i, problem);
        }
        return 0;
}

int drives_probe(const Config *c, DriveProbes *ret, char **ret_problem) {
        return drives_probe_fds(c, NULL, ret, ret_problem);
}

int drives_probe_fds(const Config *c, const int *fds, DriveProbes *ret, char **ret_problem) {
        _cleanup_(drive_probes_done) DriveProbes d = {};
        size_t n = c->n_groups[CONFIG_SECTION_DRIVE];
        int r;

        d.probes = g_new0(DiskProbe, n);
        for (size_t i = 0; i < n; i++) {
                g_autoptr(GVariant) h = NULL;
                const char *path = config_group_get_string(&c->groups[CONFIG_SECTION_DRIVE][i], CONFIG_DRIVE_PATH, &h);
                _cleanup_free_ char *problem = NULL;

                r = fds ? disk_probe_fd(path, fds[i], &d.probes[i], &problem) : disk_probe(path, &d.probes[i], &problem);
                if (r < 0)
                        return fail(ret_problem, r, "Drives[%zu]: %s", i, problem ?: strerror(-r));
                d.n++;

                r = drive_check(c, i, &d.probes[i], ret_problem);
                if (r < 0)
                        return r;
        }

        *ret = d;
        d = (DriveProbes) {};
        return 0;
}

int drives_fill_config(Config *c, const DriveProbes *probes, char **ret_problem) {
        const char *cmdline = config_get_string(c, CONFIG_KERNEL_COMMAND_LINE);
        _cleanup_strv_free_ char **extra = NULL;
        int r;

        assert(probes->n == c->n_groups[CONFIG_SECTION_DRIVE]);

        for (size_t i = 0; i < probes->n; i++) {
                ConfigGroup *d = &c->groups[CONFIG_SECTION_DRIVE][i];
                const DiskProbe *p = &probes->probes[i];
                g_autoptr(GVariant) h = NULL;

                if (streq(config_group_get_string(d, CONFIG_DRIVE_FORMAT, &h), "auto")) {
                        r = config_group_set(d, CONFIG_DRIVE_FORMAT,
                                             g_variant_new_string(disk_format_to_string(p->format)), ret_problem);
                        if (r < 0)
                                return r;
                }

                if (config_group_get_bool(d, CONFIG_DRIVE_ROOT) && !kernel_command_line_has(cmdline, "root")) {
                        _cleanup_free_ char *args = NULL, *problem = NULL;
                        g_auto(GStrv) words = NULL;

                        r = disk_root_args(p, i, &args, &problem);
                        if (r < 0)
                                return fail(ret_problem, r, "Drives[%zu] is the root drive, but %s", i, problem);
                        /* root= is ours; rootfstype= only where the user did not choose one. */
                        words = g_strsplit(args, " ", -1);
                        for (size_t w = 0; words[w]; w++) {
                                g_autofree char *name = g_strndup(words[w], strcspn(words[w], "="));

                                if (!kernel_command_line_has(cmdline, name)) {
                                        r = strv_extend(&extra, words[w]);
                                        if (r < 0)
                                                return r;
                                }
                        }
                }
        }

        if (extra) {
                _cleanup_free_ char *joined = strv_join(extra, " ");
                g_autofree char *line = NULL;

                if (!joined)
                        return -ENOMEM;
                line = cmdline[0] ? g_strdup_printf("%s %s", cmdline, joined) : g_strdup(joined);
                r = config_group_set(config_singleton(c, CONFIG_SECTION_BOOT), CONFIG_KERNEL_COMMAND_LINE,
                                     g_variant_new_string(line), ret_problem);
                if (r < 0)
                        return r;
        }
        return 0;
}

static void add_string(GVariantBuilder *b, const char *key, const char *value) {
        g_variant_builder_add(b, "{sv}", key, g_variant_new_string(strempty(value)));
}

GVariant *drive_info_to_variant(const char *path) {
        _cleanup_(disk_probe_done) DiskProbe p = {};
        _cleanup_free_ char *problem = NULL;
        const DiskFilesystem *fs;
        GVariantBuilder b;
        int r;

        g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
        add_string(&b, "Path", path);

        r = disk_probe(path, &p, &problem);
        if (r < 0) {
                add_string(&b, "Problem", problem ?: strerror(-r));
                return g_variant_builder_end(&b);
        }

        /* A partitioned image is described by the partition it would boot from. */
        fs = p.fs.type || p.root_partition <= 0 ? &p.fs : &p.root_fs;
        add_string(&b, "Format", disk_format_to_string(p.format));
        g_variant_builder_add(&b, "{sv}", "Size", g_variant_new_uint64(p.size));
        add_string(&b, "Type", fs->type);
        add_string(&b, "Label", fs->label);
        add_string(&b, "UUID", fs->uuid);
        add_string(&b, "PartitionTable", p.partition_table);
        g_variant_builder_add(&b, "{sv}", "Partition", g_variant_new_uint32(p.fs.type ? 0 : (uint32_t) MAX(p.root_partition, 0)));
        add_string(&b, "Problem", NULL);
        return g_variant_builder_end(&b);
}
