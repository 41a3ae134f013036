/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The [CloudInit] keys, resolved into a seed's files. */

#include <stdarg.h>
#include <stdio.h>

#include "cloud-init.h"
#include "fileio.h"
#include "vm-seed.h"

static const ConfigKeyId seed_keys[] = {
        CONFIG_CLOUD_INIT_USER_DATA,
        CONFIG_CLOUD_INIT_META_DATA,
        CONFIG_CLOUD_INIT_NETWORK_CONFIG,
        CONFIG_CLOUD_INIT_INSTANCE_ID,
        CONFIG_CLOUD_INIT_LOCAL_HOSTNAME,
};

bool vm_seed_wanted(const Config *c) {
        for (size_t i = 0; i < ELEMENTSOF(seed_keys); i++)
                if (config_get_string(c, seed_keys[i])[0])
                        return true;
        return false;
}

void vm_seed_inputs_done(VMSeedInputs *in) {
        free(in->user_data);
        free(in->meta_data);
        free(in->network_config);
        free(in->instance_id);
        free(in->local_hostname);
        *in = (VMSeedInputs) {};
}

static bool value_is_path(const char *value) {
        return value[0] == '/' && !strpbrk(value, "\n\r");
}

/* A file's contents from the key's value: the named file's, or the value itself; NULL if empty. */
static int seed_file_load(const Config *c, ConfigKeyId id, char **ret, char **ret_problem) {
        const char *value = config_get_string(c, id), *name = config_key_get(id)->name;
        _cleanup_free_ char *text = NULL;
        size_t size;
        int r;

        if (!value[0]) {
                *ret = NULL;
                return 0;
        }
        if (!value_is_path(value)) {
                *ret = strdup(value);
                return *ret ? 0 : -ENOMEM;
        }

        r = read_file(value, &text, &size);
        if (r == -EFBIG) {
                *ret_problem = g_strdup_printf("CloudInit %s: '%s' is larger than %d KiB, more than a seed "
                                               "should carry: fetch large data from the guest instead", name,
                                               value, MVM_FILE_SIZE_MAX / 1024);
                return r;
        }
        if (r < 0) {
                *ret_problem = g_strdup_printf("CloudInit %s: '%s' cannot be read (%s): put the file there, or "
                                               "give the contents themselves instead of a path", name, value,
                                               strerror(-r));
                return r;
        }
        if (strlen(text) != size || !g_utf8_validate(text, (gssize) size, NULL)) {
                *ret_problem = g_strdup_printf("CloudInit %s: '%s' is not UTF-8 text, which cloud-init expects",
                                               name, value);
                return -EINVAL;
        }
        *ret = TAKE_PTR(text);
        return 0;
}

int vm_seed_load(const Config *c, const char *vm_name, VMSeedInputs *ret, char **ret_problem) {
        _cleanup_(vm_seed_inputs_done) VMSeedInputs in = {};
        const char *instance_id = config_get_string(c, CONFIG_CLOUD_INIT_INSTANCE_ID),
                   *hostname = config_get_string(c, CONFIG_CLOUD_INIT_LOCAL_HOSTNAME);
        int r;

        r = seed_file_load(c, CONFIG_CLOUD_INIT_USER_DATA, &in.user_data, ret_problem);
        if (r >= 0)
                r = seed_file_load(c, CONFIG_CLOUD_INIT_META_DATA, &in.meta_data, ret_problem);
        if (r >= 0)
                r = seed_file_load(c, CONFIG_CLOUD_INIT_NETWORK_CONFIG, &in.network_config, ret_problem);
        if (r < 0)
                return r;

        if (instance_id[0])
                in.instance_id = strdup(instance_id);
        else
                r = cloud_init_instance_id(vm_name, &in.instance_id);
        in.local_hostname = strdup(hostname[0] ? hostname : vm_name);
        if (r < 0 || !in.instance_id || !in.local_hostname)
                return -ENOMEM;

        *ret = in;
        in = (VMSeedInputs) {};
        return 0;
}

int vm_seed_write(const VMSeedInputs *in, const char *path) {
        CloudInitSeed seed = {
                .user_data = in->user_data,
                .meta_data = in->meta_data,
                .network_config = in->network_config,
                .instance_id = in->instance_id,
                .local_hostname = in->local_hostname,
        };

        return cloud_init_seed_write(&seed, path);
}
