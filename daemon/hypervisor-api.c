/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The requests of Firecracker's and cloud-hypervisor's APIs, as their specifications give them
 * (Firecracker's swagger file, cloud-hypervisor's OpenAPI file). */

#include <json-c/json.h>
#include <stdio.h>
#include <unistd.h>

#include "hypervisor-api.h"
#include "strv.h"
#include "json-util.h"

void api_request_done(ApiRequest *r) {
        r->path = mfree(r->path);
        r->body = mfree(r->body);
}

static bool is_firecracker(const Backend *b) {
        return streq(b->name, "firecracker");
}

const char *api_snapshot_memory_suffix(const Backend *b) {
        return is_firecracker(b) ? ".mem" : NULL;
}

bool api_snapshot_is_directory(const Backend *b) {
        return streq(b->name, "cloud-hypervisor");
}

/* What cloud-hypervisor writes into a snapshot's directory. */
static const char *const directory_files[] = { "config.json", "state.json", "memory-ranges" };

int api_snapshot_files(const Backend *b, const char *path, char ***ret) {
        _cleanup_(strv_freep) char **files = NULL;
        int r = 0;

        if (api_snapshot_is_directory(b)) {
                for (size_t i = 0; i < ELEMENTSOF(directory_files) && r >= 0; i++)
                        r = strv_extendf(&files, "%s/%s", path, directory_files[i]);
                if (r >= 0)
                        r = strv_extend(&files, path);
        } else {
                r = strv_extend(&files, path);
                if (r >= 0 && api_snapshot_memory_suffix(b))
                        r = strv_extendf(&files, "%s%s", path, api_snapshot_memory_suffix(b));
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(files);
        return 0;
}

void api_snapshot_remove(const Backend *b, const char *path) {
        _cleanup_(strv_freep) char **files = NULL;

        if (api_snapshot_files(b, path, &files) < 0)
                return;
        /* The directory comes last, when it is empty. */
        for (char **f = files; *f; f++)
                if (unlink(*f) < 0 && errno == EISDIR)
                        (void) rmdir(*f);
}

static char *json_text(json_object *o) {
        char *s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));

        json_object_put(o);
        return s;
}

static char *json_pair(const char *key, const char *value) {
        json_object *o = json_object_new_object();

        json_object_object_add(o, key, json_object_new_string(value));
        return json_text(o);
}

static int firecracker_request(ApiOperation op, const char *path, bool resume, ApiRequest *ret) {
        _cleanup_free_ char *memory = NULL;
        json_object *o, *backend;

        switch (op) {
        case API_PING:
        case API_STATE:
                *ret = (ApiRequest) { .method = "GET", .path = strdup("/") };
                return ret->path ? 0 : -ENOMEM;
        case API_PAUSE:
        case API_RESUME:
                *ret = (ApiRequest) { .method = "PATCH", .path = strdup("/vm"),
                                      .body = json_pair("state", op == API_PAUSE ? "Paused" : "Resumed") };
                break;
        case API_POWER_BUTTON:
                /* x86 Firecracker has no ACPI: the guest takes Ctrl-Alt-Del for a reboot, and a
                 * reboot with reboot=k ends Firecracker. */
                *ret = (ApiRequest) { .method = "PUT", .path = strdup("/actions"),
                                      .body = json_pair("action_type", "SendCtrlAltDel") };
                break;
        case API_SNAPSHOT:
                if (asprintf(&memory, "%s.mem", path) < 0)
                        return -ENOMEM;
                o = json_object_new_object();
                json_object_object_add(o, "snapshot_type", json_object_new_string("Full"));
                json_object_object_add(o, "snapshot_path", json_object_new_string(path));
                json_object_object_add(o, "mem_file_path", json_object_new_string(memory));
                *ret = (ApiRequest) { .method = "PUT", .path = strdup("/snapshot/create"), .body = json_text(o) };
                break;
        case API_RESTORE:
                if (asprintf(&memory, "%s.mem", path) < 0)
                        return -ENOMEM;
                o = json_object_new_object();
                backend = json_object_new_object();
                json_object_object_add(backend, "backend_type", json_object_new_string("File"));
                json_object_object_add(backend, "backend_path", json_object_new_string(memory));
                json_object_object_add(o, "snapshot_path", json_object_new_string(path));
                json_object_object_add(o, "mem_backend", backend);
                json_object_object_add(o, "resume_vm", json_object_new_boolean(resume));
                *ret = (ApiRequest) { .method = "PUT", .path = strdup("/snapshot/load"), .body = json_text(o) };
                break;
        default:
                return -EINVAL;
        }
        if (!ret->path || !ret->body) {
                api_request_done(ret);
                return -ENOMEM;
        }
        return 0;
}

static int cloud_hypervisor_request(ApiOperation op, const char *path, bool resume, ApiRequest *ret) {
        static const char *const actions[_API_OPERATION_MAX] = {
                [API_PING] = "vmm.ping",
                [API_STATE] = "vm.info",
                [API_PAUSE] = "vm.pause",
                [API_RESUME] = "vm.resume",
                /* Not vm.shutdown: that stops the VM and leaves the process running. */
                [API_POWER_BUTTON] = "vm.power-button",
                [API_SNAPSHOT] = "vm.snapshot",
                [API_RESTORE] = "vm.restore",
        };
        _cleanup_free_ char *url = NULL;
        json_object *o;

        if (op < 0 || op >= _API_OPERATION_MAX)
                return -EINVAL;
        *ret = (ApiRequest) { .method = op == API_PING || op == API_STATE ? "GET" : "PUT" };
        if (asprintf(&ret->path, "/api/v1/%s", actions[op]) < 0)
                return -ENOMEM;
        if (op != API_SNAPSHOT && op != API_RESTORE)
                return 0;

        /* Only file:// URLs, of a directory that exists. */
        if (asprintf(&url, "file://%s", path) < 0) {
                api_request_done(ret);
                return -ENOMEM;
        }
        if (op == API_SNAPSHOT)
                ret->body = json_pair("destination_url", url);
        else {
                o = json_object_new_object();
                json_object_object_add(o, "source_url", json_object_new_string(url));
                json_object_object_add(o, "resume", json_object_new_boolean(resume));
                ret->body = json_text(o);
        }
        if (!ret->body) {
                api_request_done(ret);
                return -ENOMEM;
        }
        return 0;
}

int api_request_build(const Backend *b, ApiOperation op, const char *path, bool resume, ApiRequest *ret) {
        if (b->control != BACKEND_CONTROL_HTTP)
                return -EOPNOTSUPP;
        return is_firecracker(b) ? firecracker_request(op, path, resume, ret)
                                 : cloud_hypervisor_request(op, path, resume, ret);
}

bool api_status_ok(unsigned status) {
        return status >= 200 && status < 300;
}

char *api_fault_message(unsigned status, const char *body) {
        _cleanup_(json_object_putp) json_object *o = body && body[0] ? json_tokener_parse(body) : NULL;
        json_object *fault;
        char *s;

        if (o && json_object_object_get_ex(o, "fault_message", &fault) && json_object_is_type(fault, json_type_string))
                return strdup(json_object_get_string(fault));
        if (o && json_object_is_type(o, json_type_array) && json_object_array_length(o) > 0) {
                g_autoptr(GString) joined = g_string_new(NULL);

                for (size_t i = 0; i < json_object_array_length(o); i++) {
                        json_object *e = json_object_array_get_idx(o, i);

                        if (!json_object_is_type(e, json_type_string))
                                continue;
                        g_string_append_printf(joined, "%s%s", joined->len ? ": " : "", json_object_get_string(e));
                }
                if (joined->len)
                        return strdup(joined->str);
        }
        if (body && body[0])
                return asprintf(&s, "HTTP status %u: %.200s", status, body) < 0 ? NULL : s;
        return asprintf(&s, "HTTP status %u", status) < 0 ? NULL : s;
}

int api_state_is_paused(const char *body) {
        _cleanup_(json_object_putp) json_object *o = json_tokener_parse(body);
        json_object *state;
        const char *s;

        if (!o || !json_object_object_get_ex(o, "state", &state) || !json_object_is_type(state, json_type_string))
                return -EBADMSG;
        s = json_object_get_string(state);
        if (streq(s, "Paused"))
                return 1;
        if (streq(s, "Running"))
                return 0;
        return -EBADMSG;
}

char *api_version(const char *body) {
        _cleanup_(json_object_putp) json_object *o = json_tokener_parse(body);
        json_object *v;

        if (!o)
                return NULL;
        if ((json_object_object_get_ex(o, "vmm_version", &v) || json_object_object_get_ex(o, "version", &v)) &&
            json_object_is_type(v, json_type_string))
                return strdup(json_object_get_string(v));
        return NULL;
}

const char *api_operation_to_string(ApiOperation op) {
        static const char *const table[_API_OPERATION_MAX] = {
                [API_PING] = "ping",
                [API_STATE] = "state",
                [API_PAUSE] = "pause",
                [API_RESUME] = "resume",
                [API_POWER_BUTTON] = "power button",
                [API_SNAPSHOT] = "snapshot",
                [API_RESTORE] = "restore",
        };

        return op >= 0 && op < _API_OPERATION_MAX ? table[op] : NULL;
}
