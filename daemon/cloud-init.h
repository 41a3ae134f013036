/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cloud-init NoCloud seeds: the small ISO 9660 image, volume id "cidata", that hands a guest its
 * user-data, meta-data and network-config. Built with libisofs, written atomically, and rebuilt
 * only when what goes into it changed. */
#pragma once

/* The volume id cloud-init's NoCloud data source looks for. */
#define MVM_CLOUD_INIT_VOLUME_ID "cidata"

/* The seed's file name in a VM's state directory. */
#define MVM_CLOUD_INIT_SEED_FILE "cidata.iso"

/* Only root reads the seed on the host: user-data often holds passwords and keys. */
#define MVM_CLOUD_INIT_SEED_MODE 0600

/* What goes into a seed. All strings are borrowed, and are the files' contents, not paths. */
typedef struct CloudInitSeed {
        const char *user_data;          /* NULL: "#cloud-config\n", which asks for nothing */
        const char *meta_data;          /* NULL: generated from instance_id and local_hostname */
        const char *network_config;     /* NULL: no network-config file, cloud-init's default */
        const char *instance_id;        /* needed when meta_data is NULL */
        const char *local_hostname;     /* NULL: no local-hostname in generated meta-data */
} CloudInitSeed;

/* Makes path the seed for these inputs: an ISO 9660 image with Rock Ridge and Joliet (so the
 * guest sees the lower-case names "user-data", "meta-data" and "network-config"), volume id
 * MVM_CLOUD_INIT_VOLUME_ID, mode MVM_CLOUD_INIT_SEED_MODE. A SHA-256 of the files' names and
 * contents is kept in the image's application id: when path already holds a seed with the same
 * hash it is left alone (same inode, same mtime), else it is replaced atomically (temporary file
 * in the same directory, fsync, rename, fsync of the directory); on failure nothing is left
 * behind. The directory must exist. Generated meta-data is YAML with instance-id and
 * local-hostname as double-quoted scalars.
 *
 * Uses libisofs, whose iso_init()/iso_finish() set up and tear down process-wide state: call it
 * from one thread at a time, and not while something else in the process uses libisofs.
 *
 * Returns 0 when path was already up to date, 1 when it was written, -EINVAL when meta_data and
 * instance_id are both NULL, or a value for generated meta-data is empty, holds a control
 * character or is not UTF-8,
 * -ENOMEM, -EIO when libisofs failed, or the -errno of the write. */
int cloud_init_seed_write(const CloudInitSeed *seed, const char *path);

/* The default instance id of a VM: "iid-microvm-" and the first 16 hex digits of the SHA-256 of
 * its name. The same name always gives the same id, so that cloud-init treats a restarted VM as
 * the same instance, across microvm versions too; different names give different ids. free(). */
int cloud_init_instance_id(const char *vm_name, char **ret);
