/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A VM's cloud-init seed: from its [CloudInit] keys (file paths or contents) to the files of the
 * NoCloud seed, checked at CreateVM/UpdateVM and built by the unit's preparation. */
#pragma once

#include <stdbool.h>

#include "config.h"

/* Whether the VM gets a seed: when any [CloudInit] key is non-empty. */
bool vm_seed_wanted(const Config *c);

/* The seed's files, as cloud_init_seed_write() takes them; NULL where cloud-init's default or a
 * generated file applies. All owned. */
typedef struct VMSeedInputs {
        char *user_data;
        char *meta_data;
        char *network_config;
        char *instance_id;
        char *local_hostname;
} VMSeedInputs;

void vm_seed_inputs_done(VMSeedInputs *in);

/* Reads the files that UserData=, MetaData= and NetworkConfig= name (a value that is an absolute
 * path on one line; anything else is the contents themselves) and fills in the defaults: the
 * instance id derived from the VM's name, the VM's name as the local hostname. Returns 0, or
 * -errno and a sentence that names the key and the file and says what to do (g_free()). */
int vm_seed_load(const Config *c, const char *vm_name, VMSeedInputs *ret, char **ret_problem);

/* Makes path the seed of these inputs (see cloud_init_seed_write()): 1 written, 0 up to date. */
int vm_seed_write(const VMSeedInputs *in, const char *path);
