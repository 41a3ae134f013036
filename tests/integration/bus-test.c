/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Helpers for the integration tests: see bus-test.h. */

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netinet/ip_icmp.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/wait.h>

#include "bus-test.h"
#include "bus-variant.h"

/* The rest of a message's body as a tuple. */
static GVariant *read_body(sd_bus_message *m) {
        GVariantBuilder b;
        int r;

        g_variant_builder_init(&b, G_VARIANT_TYPE_TUPLE);
        while ((r = sd_bus_message_at_end(m, /* complete= */ false)) == 0) {
                GVariant *v;

                r = bus_message_read_gvariant(m, &v);
                cr_assert(r >= 0, "reading %s.%s: %s", strempty(sd_bus_message_get_interface(m)),
                          strempty(sd_bus_message_get_member(m)), strerror(-r));
                g_variant_builder_add_value(&b, v);
                g_variant_unref(v);
        }
        cr_assert(r > 0, "reading a message: %s", strerror(-r));
        return g_variant_ref_sink(g_variant_builder_end(&b));
}

static int on_signal(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        BusTest *t = userdata;
        BusSignal *s;

        t->signals = g_renew(BusSignal, t->signals, t->n_signals + 1);
        s = &t->signals[t->n_signals++];
        *s = (BusSignal) {
                .path = g_strdup(sd_bus_message_get_path(m)),
                .interface = g_strdup(sd_bus_message_get_interface(m)),
                .member = g_strdup(sd_bus_message_get_member(m)),
                .body = read_body(m),
        };
        return 0;
}

BusTest *bt_new(void) {
        BusTest *t = g_new0(BusTest, 1);
        int r;

        r = sd_bus_open_system(&t->bus);
        cr_assert(r >= 0, "connecting to the system bus: %s", strerror(-r));
        r = sd_bus_set_method_call_timeout(t->bus, BT_TIMEOUT_USEC);
        cr_assert(r >= 0);

        /* Synchronous: once this returns the bus routes microvmd's signals to us. */
        r = sd_bus_add_match(t->bus, &t->match, "type='signal',sender='" BT_BUS_NAME "'", on_signal, t);
        cr_assert(r >= 0, "adding the signal match: %s", strerror(-r));
        return t;
}

void bt_clear_signals(BusTest *t) {
        for (size_t i = 0; i < t->n_signals; i++) {
                g_free(t->signals[i].path);
                g_free(t->signals[i].interface);
                g_free(t->signals[i].member);
                g_variant_unref(t->signals[i].body);
        }
        g_clear_pointer(&t->signals, g_free);
        t->n_signals = 0;
}

BusTest *bt_free(BusTest *t) {
        if (!t)
                return NULL;
        bt_clear_signals(t);
        sd_bus_slot_unref(t->match);
        sd_bus_flush_close_unref(t->bus);
        g_free(t);
        return NULL;
}

int bt_call_timeout(BusTest *t, const char *path, const char *interface, const char *member, GVariant *args,
                    uint64_t timeout_usec, GVariant **ret_reply, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL, *reply = NULL;
        g_autoptr(GVariant) a = args ? g_variant_ref_sink(args) : NULL;
        int r;

        r = sd_bus_message_new_method_call(t->bus, &call, BT_BUS_NAME, path, interface, member);
        cr_assert(r >= 0, "building %s: %s", member, strerror(-r));
        for (size_t i = 0; a && i < g_variant_n_children(a); i++) {
                g_autoptr(GVariant) v = g_variant_get_child_value(a, i);

                r = bus_message_append_gvariant(call, v);
                cr_assert(r >= 0, "appending argument %zu of %s: %s", i, member, strerror(-r));
        }

        r = sd_bus_call(t->bus, call, timeout_usec, error, &reply);
        if (r < 0)
                return r;
        if (ret_reply)
                *ret_reply = read_body(reply);
        return 0;
}

int bt_call(BusTest *t, const char *path, const char *interface, const char *member, GVariant *args,
            GVariant **ret_reply, sd_bus_error *error) {
        return bt_call_timeout(t, path, interface, member, args, BT_TIMEOUT_USEC, ret_reply, error);
}

int bt_try_manager_call(BusTest *t, const char *member, GVariant *args, sd_bus_error *error) {
        return bt_call(t, BT_MANAGER_PATH, BT_MANAGER_INTERFACE, member, args, NULL, error);
}

GVariant *bt_manager_call(BusTest *t, const char *member, GVariant *args, const char *what) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        GVariant *reply = NULL;
        int r;

        r = bt_call(t, BT_MANAGER_PATH, BT_MANAGER_INTERFACE, member, args, &reply, &error);
        cr_assert(r >= 0, "%s: %s failed: %s: %s", what, member, error.name, error.message);
        return reply;
}

void bt_assert_error(int r, const sd_bus_error *error, const char *name, const char *fragment, const char *what) {
        cr_assert(r < 0, "%s: the call succeeded, expected %s", what, name);
        cr_assert(sd_bus_error_has_name(error, name), "%s: expected %s, got %s: %s", what, name, error->name,
                  error->message);
        cr_assert(error->message && error->message[0], "%s: %s has no message", what, name);
        cr_assert(!fragment || strstr(error->message, fragment), "%s: the message of %s lacks '%s': %s", what,
                  name, fragment, error->message);
}

GVariant *bt_config(const char *text) {
        g_autoptr(GError) e = NULL;
        g_autoptr(GVariant) v = g_variant_parse(G_VARIANT_TYPE_VARDICT, text, NULL, NULL, &e);
        g_autoptr(GBytes) data = NULL;

        cr_assert(v, "bad test data '%s': %s", text, e ? e->message : "");
        /* g_variant_parse() gives a full reference, which g_variant_new("@a{sv}") would not take:
         * the same value, floating. */
        data = g_variant_get_data_as_bytes(v);
        return g_variant_new_from_bytes(G_VARIANT_TYPE_VARDICT, data, TRUE);
}

int bt_try_create_vm(BusTest *t, const char *name, const char *config_text, sd_bus_error *error) {
        return bt_try_manager_call(t, "CreateVM", g_variant_new("(s@a{sv})", name, bt_config(config_text)), error);
}

char *bt_create_vm(BusTest *t, const char *name, const char *config_text) {
        g_autoptr(GVariant) reply = NULL;
        g_autofree char *what = g_strdup_printf("creating %s", name);
        char *path;

        reply = bt_manager_call(t, "CreateVM", g_variant_new("(s@a{sv})", name, bt_config(config_text)), what);
        g_variant_get(reply, "(o)", &path);
        return path;
}

void bt_update_vm(BusTest *t, const char *name, const char *config_text) {
        g_autofree char *what = g_strdup_printf("updating %s with %s", name, config_text);
        g_autoptr(GVariant) reply = NULL;

        reply = bt_manager_call(t, "UpdateVM", g_variant_new("(s@a{sv})", name, bt_config(config_text)), what);
}

void bt_delete_vm(BusTest *t, const char *name) {
        g_autofree char *what = g_strdup_printf("deleting %s", name);
        g_autoptr(GVariant) reply = NULL;

        reply = bt_manager_call(t, "DeleteVM", g_variant_new("(s)", name), what);
}

char *bt_vm_path(const char *name) {
        char *path;
        int r;

        r = sd_bus_path_encode(BT_VM_PATH_PREFIX, name, &path);
        cr_assert(r >= 0, "encoding the path of '%s': %s", name, strerror(-r));
        return path;
}

GVariant *bt_vm_properties(BusTest *t, const char *path, const char *what) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        g_autoptr(GVariant) reply = NULL;
        GVariant *props;
        int r;

        r = bt_call(t, path, "org.freedesktop.DBus.Properties", "GetAll", g_variant_new("(s)", BT_VM_INTERFACE),
                    &reply, &error);
        cr_assert(r >= 0, "%s: GetAll on %s failed: %s: %s", what, path, error.name, error.message);
        g_variant_get(reply, "(@a{sv})", &props);
        return props;
}

void bt_assert_entry(GVariant *dict, const char *key, const char *expected, const char *what) {
        g_autoptr(GVariant) v = g_variant_lookup_value(dict, key, NULL);
        g_autofree char *shown = NULL;

        cr_assert(v, "%s: no %s", what, key);
        shown = g_variant_print(v, /* type_annotate= */ TRUE);
        cr_assert_str_eq(shown, expected, "%s: %s is %s, expected %s", what, key, shown, expected);
}

GVariant *bt_list_vms(BusTest *t) {
        g_autoptr(GVariant) reply = bt_manager_call(t, "ListVMs", NULL, "listing VMs");
        GVariant *list;

        g_variant_get(reply, "(@a(sso))", &list);
        return list;
}

bool bt_vm_listed(BusTest *t, const char *name) {
        g_autoptr(GVariant) list = bt_list_vms(t);
        GVariantIter iter;
        const char *n;

        g_variant_iter_init(&iter, list);
        while (g_variant_iter_next(&iter, "(&s&s&o)", &n, NULL, NULL))
                if (streq(n, name))
                        return true;
        return false;
}

void bt_dispatch(BusTest *t) {
        int r;

        while ((r = sd_bus_process(t->bus, NULL)) > 0)
                ;
        cr_assert(r >= 0, "processing bus messages: %s", strerror(-r));
}

void bt_sync(BusTest *t) {
        g_autoptr(GVariant) list = bt_list_vms(t);

        bt_dispatch(t);
}

static const BusSignal *find_signal(BusTest *t, const char *path, const char *interface, const char *member) {
        for (size_t i = 0; i < t->n_signals; i++) {
                const BusSignal *s = &t->signals[i];

                if ((!path || streq_ptr(s->path, path)) && (!interface || streq_ptr(s->interface, interface)) &&
                    streq_ptr(s->member, member))
                        return s;
        }
        return NULL;
}

const BusSignal *bt_wait_signal(BusTest *t, const char *path, const char *interface, const char *member,
                                uint64_t timeout_usec) {
        uint64_t deadline = (uint64_t) g_get_monotonic_time() + timeout_usec;

        for (;;) {
                const BusSignal *s = find_signal(t, path, interface, member);
                uint64_t now;
                int r;

                if (s)
                        return s;

                r = sd_bus_process(t->bus, NULL);
                cr_assert(r >= 0, "processing bus messages: %s", strerror(-r));
                if (r > 0)
                        continue;

                now = (uint64_t) g_get_monotonic_time();
                if (now >= deadline)
                        return NULL;
                r = sd_bus_wait(t->bus, deadline - now);
                cr_assert(r >= 0, "waiting for the bus: %s", strerror(-r));
        }
}

size_t bt_count_signals(BusTest *t, const char *interface, const char *member) {
        size_t n = 0;

        for (size_t i = 0; i < t->n_signals; i++)
                if ((!interface || streq_ptr(t->signals[i].interface, interface)) &&
                    streq_ptr(t->signals[i].member, member))
                        n++;
        return n;
}

char *bt_read_file(const char *path) {
        g_autoptr(GError) e = NULL;
        char *contents;

        if (!g_file_get_contents(path, &contents, NULL, &e)) {
                cr_assert(g_error_matches(e, G_FILE_ERROR, G_FILE_ERROR_NOENT), "reading %s: %s", path, e->message);
                return NULL;
        }
        return contents;
}

void bt_write_file(const char *path, const char *contents) {
        g_autoptr(GError) e = NULL;

        cr_assert(g_file_set_contents(path, contents, -1, &e), "writing %s: %s", path, e ? e->message : "");
}

void bt_assert_file(const char *path, const char *expected, const char *what) {
        g_autofree char *contents = bt_read_file(path);

        cr_assert(contents, "%s: %s does not exist", what, path);
        cr_assert(streq(contents, expected), "%s: %s holds:\n%s\nexpected:\n%s", what, path, contents, expected);
}

char *bt_key_file(const char *name) {
        return g_strdup_printf(BT_CONFIG_DIR "/%s.vm", name);
}

static int not_dot(const struct dirent *de) {
        return !streq(de->d_name, ".") && !streq(de->d_name, "..");
}

char *bt_list_dir(const char *dir) {
        g_autoptr(GString) s = g_string_new(NULL);
        struct dirent **entries = NULL;
        int n;

        n = scandir(dir, &entries, not_dot, alphasort);
        if (n < 0) {
                cr_assert(errno == ENOENT, "reading %s: %s", dir, strerror(errno));
                return g_strdup("");
        }
        for (int i = 0; i < n; i++) {
                g_string_append_printf(s, "%s%s", i > 0 ? "\n" : "", entries[i]->d_name);
                free(entries[i]);
        }
        free(entries);
        return g_string_free(g_steal_pointer(&s), FALSE);
}

/* The key files and their contents, as text. */
static char *key_files(void) {
        g_autoptr(GString) s = g_string_new(NULL);
        g_autofree char *names = bt_list_dir(BT_CONFIG_DIR);
        g_auto(GStrv) list = g_strsplit(names, "\n", -1);

        for (char **n = list; *n && **n; n++) {
                g_autofree char *path = g_strdup_printf(BT_CONFIG_DIR "/%s", *n);
                g_autofree char *contents = g_file_test(path, G_FILE_TEST_IS_REGULAR) ? bt_read_file(path) : NULL;

                g_string_append_printf(s, "%s:\n%s", *n, strempty(contents));
        }
        return g_string_free(g_steal_pointer(&s), FALSE);
}

char *bt_snapshot(BusTest *t) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        g_autofree char *files = key_files(), *parent = bt_list_dir(BT_CONFIG_DIR "/..");
        g_autofree char *vms_text = NULL, *objects_text = NULL;
        g_autoptr(GVariant) vms = bt_list_vms(t), objects = NULL;
        int r;

        r = bt_call(t, BT_MANAGER_PATH, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", NULL, &objects,
                    &error);
        cr_assert(r >= 0, "GetManagedObjects failed: %s: %s", error.name, error.message);

        vms_text = g_variant_print(vms, TRUE);
        objects_text = g_variant_print(objects, TRUE);
        return g_strdup_printf("files:\n%s\nparent:\n%s\nListVMs: %s\nGetManagedObjects: %s\n", files, parent,
                               vms_text, objects_text);
}

void bt_assert_no_temp_files(const char *what) {
        _cleanup_(closedirp) DIR *d = opendir(BT_CONFIG_DIR);
        struct dirent *de;

        cr_assert(d, "opening " BT_CONFIG_DIR ": %s", strerror(errno));
        while ((de = readdir(d)))
                cr_assert(!(de->d_name[0] == '.' && strstr(de->d_name, ".tmp")),
                          "%s: a temporary file was left behind: " BT_CONFIG_DIR "/%s", what, de->d_name);
}

void bt_assert_unchanged(BusTest *t, const char *before, const char *what) {
        static const char *const members[] = {
                "VMCreated", "VMRemoved", "VMStateChanged", "InterfacesAdded", "InterfacesRemoved", "PropertiesChanged",
        };
        g_autofree char *after = NULL;

        bt_sync(t);
        for (size_t i = 0; i < ELEMENTSOF(members); i++) {
                g_autoptr(GString) sent = g_string_new(NULL);

                for (size_t k = 0; k < t->n_signals; k++)
                        if (streq(t->signals[k].member, members[i])) {
                                g_autofree char *body = t->signals[k].body ? g_variant_print(t->signals[k].body, FALSE)
                                                                           : g_strdup("");

                                g_string_append_printf(sent, "\n  %s %s", t->signals[k].path, body);
                        }
                cr_assert_eq(sent->len, 0, "%s: %s was sent:%s", what, members[i], sent->str);
        }

        bt_assert_no_temp_files(what);
        after = bt_snapshot(t);
        cr_assert(streq(after, before), "%s: something changed.\nbefore:\n%s\nafter:\n%s", what, before, after);
}

int bt_run(char **ret_output, const char *format, ...) {
        g_autofree char *command = NULL, *shell = NULL;
        g_autoptr(GString) out = g_string_new(NULL);
        char buf[4096];
        size_t n;
        va_list ap;
        FILE *f;
        int status;

        va_start(ap, format);
        command = g_strdup_vprintf(format, ap);
        va_end(ap);

        shell = g_strdup_printf("(%s) 2>&1 </dev/null", command);
        f = popen(shell, "re");
        cr_assert(f, "running '%s': %s", command, strerror(errno));
        while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
                g_string_append_len(out, buf, (gssize) n);
        status = pclose(f);
        cr_assert(status >= 0 && WIFEXITED(status), "'%s' did not exit normally", command);

        if (ret_output)
                *ret_output = g_string_free(g_steal_pointer(&out), FALSE);
        return WEXITSTATUS(status);
}

char *bt_unit_property(const char *unit, const char *property) {
        char *out = NULL;
        int r;

        r = bt_run(&out, "systemctl show -P %s %s", property, unit);
        cr_assert(r == 0, "systemctl show -P %s %s failed: %s", property, unit, out);
        g_strchomp(out);
        return out;
}

bool bt_wait_unit_property(const char *unit, const char *property, const char *value, uint64_t timeout_usec) {
        uint64_t deadline = (uint64_t) g_get_monotonic_time() + timeout_usec;

        for (;;) {
                g_autofree char *v = bt_unit_property(unit, property);

                if (streq(v, value))
                        return true;
                if ((uint64_t) g_get_monotonic_time() >= deadline)
                        return false;
                g_usleep(20 * 1000);
        }
}

bool bt_name_has_owner(BusTest *t) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int has, r;

        r = sd_bus_call_method(t->bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                               "NameHasOwner", &error, &reply, "s", BT_BUS_NAME);
        cr_assert(r >= 0, "NameHasOwner: %s", error.message);
        r = sd_bus_message_read(reply, "b", &has);
        cr_assert(r >= 0);
        return has;
}

bool bt_wait_name_owner(BusTest *t, bool owned, uint64_t timeout_usec) {
        uint64_t deadline = (uint64_t) g_get_monotonic_time() + timeout_usec;

        for (;;) {
                if (bt_name_has_owner(t) == owned)
                        return true;
                if ((uint64_t) g_get_monotonic_time() >= deadline)
                        return false;
                g_usleep(20 * 1000);
        }
}

void bt_kill_microvmd(const char *what) {
        g_autofree char *old_pid = bt_unit_property(BT_UNIT, "MainPID"), *out = NULL;
        int r;

        /* The suite starts microvmd more often than systemd's start rate limit allows. */
        (void) bt_run(NULL, "systemctl reset-failed " BT_UNIT);
        r = bt_run(&out, "systemctl kill --kill-whom=main -s KILL " BT_UNIT);
        cr_assert(r == 0, "%s: systemctl kill failed: %s", what, out);
        for (int64_t deadline = g_get_monotonic_time() + BT_TIMEOUT_USEC;;) {
                g_autofree char *pid = bt_unit_property(BT_UNIT, "MainPID");

                if (!streq(pid, old_pid))
                        return;
                cr_assert(g_get_monotonic_time() < deadline, "%s: MainPID is still %s", what, pid);
                g_usleep(20 * 1000);
        }
}

/* Runs a command without a shell, ignoring how it went: for cleanups that must not assert. */
static void run_quietly(const char *command) {
        g_autofree char *out = NULL, *err = NULL;
        g_autoptr(GError) e = NULL;
        int status;

        if (!g_spawn_command_line_sync(command, &out, &err, &status, &e))
                fprintf(stderr, "running '%s' failed, ignoring: %s\n", command, e->message);
}

/* DeleteVM, again while the VM is still seen running: microvmd learns that its unit stopped a
 * little after systemd says so. */
static void delete_vm_quietly(sd_bus *bus, const char *name) {
        for (int64_t deadline = g_get_monotonic_time() + BT_TIMEOUT_USEC;;) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

                if (sd_bus_call_method(bus, BT_BUS_NAME, BT_MANAGER_PATH, BT_MANAGER_INTERFACE, "DeleteVM", &error,
                                       NULL, "s", name) >= 0 ||
                    !sd_bus_error_has_name(&error, "org.microvm.Error.InvalidState") ||
                    g_get_monotonic_time() >= deadline)
                        return;
                g_usleep(20 * 1000);
        }
}

#define STAND_IN_DROPIN_DIR "/run/systemd/system/microvm@.service.d"
#define STAND_IN_DROPIN STAND_IN_DROPIN_DIR "/50-stand-in.conf"

void bt_stand_in_install(const char *dir, const char *name) {
        g_autofree char *fake = g_build_filename(getenv("MVM_SOURCE_ROOT"), "tests", "integration",
                                                  "fake-hypervisor.py", NULL);
        g_autofree char *out = NULL;

        cr_assert_eq(bt_run(&out, "mkdir -p '%s' " STAND_IN_DROPIN_DIR " && install -m 0755 '%s' '%s/%s'", dir, fake,
                            dir, name), 0, "%s", out);
        /* Capabilities only inside its own user namespace, for mount(2) and reboot(2) there. */
        bt_write_file(STAND_IN_DROPIN, "[Service]\n"
                      "CapabilityBoundingSet=CAP_SYS_ADMIN CAP_SYS_BOOT\n"
                      "RestrictNamespaces=user pid mnt\n"
                      "SystemCallFilter=@mount @reboot\n");
        g_free(out);
        cr_assert_eq(bt_run(&out, "systemctl daemon-reload 2>&1"), 0, "%s", out);
}

void bt_stand_in_remove(const char *dir) {
        (void) unlink(STAND_IN_DROPIN);
        (void) rmdir(STAND_IN_DROPIN_DIR);
        (void) bt_run(NULL, "rm -rf '%s'; systemctl daemon-reload", dir);
}

void bt_cleanup_prefix(const char *prefix) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(closedirp) DIR *d = NULL;
        g_autofree char *hidden = g_strdup_printf(".%s", prefix);
        g_autofree char *kill_units = g_strdup_printf("systemctl kill --signal=SIGKILL 'microvm@%s*.service'", prefix);
        g_autofree char *stop_units = g_strdup_printf("systemctl stop 'microvm@%s*.service'", prefix);
        g_auto(GStrv) names = NULL;
        struct dirent *de;
        const char *name;

        /* Best effort, never asserting: this also runs after a failed test. A VM left running is
         * killed through systemd, which works whatever state microvmd is in. */
        run_quietly(kill_units);
        run_quietly(stop_units);

        if (sd_bus_open_system(&bus) >= 0 &&
            sd_bus_call_method(bus, BT_BUS_NAME, BT_MANAGER_PATH, BT_MANAGER_INTERFACE, "ListVMs", NULL, &reply,
                               "") >= 0 &&
            sd_bus_message_enter_container(reply, 'a', "(sso)") >= 0) {
                g_autoptr(GStrvBuilder) b = g_strv_builder_new();

                while (sd_bus_message_read(reply, "(sso)", &name, NULL, NULL) > 0)
                        if (g_str_has_prefix(name, prefix))
                                g_strv_builder_add(b, name);
                names = g_strv_builder_end(b);
                for (char **n = names; *n; n++)
                        delete_vm_quietly(bus, *n);
        }

        d = opendir(BT_CONFIG_DIR);
        while (d && (de = readdir(d)))
                if (g_str_has_prefix(de->d_name, prefix) || g_str_has_prefix(de->d_name, hidden)) {
                        g_autofree char *p = g_strdup_printf(BT_CONFIG_DIR "/%s", de->d_name);

                        (void) unlink(p);
                }
}

/* s as a GVariant text string, quoted and escaped so that any character survives (owned). */
static char *quote(const char *s) {
        g_autoptr(GVariant) v = g_variant_ref_sink(g_variant_new_string(s));

        return g_variant_print(v, FALSE);
}

char *bt_guest_config(const char *cmdline, const char *more) {
        const char *dir = getenv("MVM_GUEST_DIR");
        g_autofree char *kernel = NULL, *initrd = NULL, *k = NULL, *i = NULL, *c = NULL;

        cr_assert(dir && dir[0], "MVM_GUEST_DIR is not set: it names the test guest's directory");
        kernel = g_build_filename(dir, "vmlinuz", NULL);
        initrd = g_build_filename(dir, "initramfs.cpio.gz", NULL);
        cr_assert(access(kernel, R_OK) >= 0 && access(initrd, R_OK) >= 0,
                  "no test guest in %s: build it with tools/guest-image/build %s", dir, dir);

        k = quote(kernel);
        i = quote(initrd);
        c = quote(cmdline);
        return g_strdup_printf("{'Kernel': <%s>, 'Initrd': <%s>, 'KernelCommandLine': <%s>%s%s}", k, i, c,
                               more[0] ? ", " : "", more);
}

char *bt_vm_unit(const char *name) {
        return g_strdup_printf("microvm@%s.service", name);
}

char *bt_serial_log(const char *name) {
        return g_strdup_printf(BT_STATE_DIR "/%s/serial.log", name);
}

void bt_start_vm(BusTest *t, const char *name) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        g_autofree char *log = bt_serial_log(name);
        int r;

        cr_assert(unlink(log) >= 0 || errno == ENOENT, "removing %s: %s", log, strerror(errno));
        /* The start job includes the launcher's first KVM probe (up to a second). */
        r = bt_call_timeout(t, BT_MANAGER_PATH, BT_MANAGER_INTERFACE, "StartVM", g_variant_new("(s)", name),
                            BT_BOOT_TIMEOUT_USEC, NULL, &error);
        cr_assert(r >= 0, "starting %s: StartVM failed: %s: %s", name, error.name, error.message);
}

void bt_boot_vm(BusTest *t, const char *name) {
        g_autofree char *what = g_strdup_printf("booting %s", name);

        bt_start_vm(t, name);
        bt_assert_serial_line(name, BT_GUEST_READY, BT_BOOT_TIMEOUT_USEC, what);
}

char *bt_stop_vm(BusTest *t, const char *name, uint64_t timeout_usec) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        g_autoptr(GVariant) reply = NULL;
        char *reason;
        int r;

        r = bt_call_timeout(t, BT_MANAGER_PATH, BT_MANAGER_INTERFACE, "StopVM",
                            g_variant_new("(st)", name, (guint64) timeout_usec), timeout_usec + BT_STOP_TIMEOUT_USEC,
                            &reply, &error);
        cr_assert(r >= 0, "stopping %s: StopVM failed: %s: %s", name, error.name, error.message);
        g_variant_get(reply, "(s)", &reason);
        return reason;
}

void bt_kill_vm(BusTest *t, const char *name, int signo) {
        g_autofree char *what = g_strdup_printf("killing %s with signal %d", name, signo);
        g_autoptr(GVariant) reply = NULL;

        reply = bt_manager_call(t, "KillVM", g_variant_new("(si)", name, signo), what);
}

GVariant *bt_vm_property(BusTest *t, const char *name, const char *property) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        g_autofree char *path = bt_vm_path(name);
        g_autoptr(GVariant) reply = NULL;
        GVariant *v;
        int r;

        r = bt_call(t, path, "org.freedesktop.DBus.Properties", "Get", g_variant_new("(ss)", BT_VM_INTERFACE, property),
                    &reply, &error);
        cr_assert(r >= 0, "reading %s of %s failed: %s: %s", property, name, error.name, error.message);
        g_variant_get(reply, "(v)", &v);
        return v;
}

static char *vm_string_property(BusTest *t, const char *name, const char *property) {
        g_autoptr(GVariant) v = bt_vm_property(t, name, property);

        cr_assert(g_variant_is_of_type(v, G_VARIANT_TYPE_STRING), "%s of %s is of type %s", property, name,
                  g_variant_get_type_string(v));
        return g_variant_dup_string(v, NULL);
}

char *bt_vm_state(BusTest *t, const char *name) {
        return vm_string_property(t, name, "State");
}

char *bt_vm_stop_reason(BusTest *t, const char *name) {
        return vm_string_property(t, name, "StopReason");
}

uint32_t bt_vm_main_pid(BusTest *t, const char *name) {
        g_autoptr(GVariant) v = bt_vm_property(t, name, "MainPID");

        cr_assert(g_variant_is_of_type(v, G_VARIANT_TYPE_UINT32), "MainPID of %s is of type %s", name,
                  g_variant_get_type_string(v));
        return g_variant_get_uint32(v);
}

bool bt_wait_vm_state(BusTest *t, const char *name, const char *state, uint64_t timeout_usec) {
        uint64_t deadline = (uint64_t) g_get_monotonic_time() + timeout_usec;

        for (;;) {
                g_autofree char *current = bt_vm_state(t, name);
                uint64_t now;
                int r;

                if (streq(current, state))
                        return true;
                now = (uint64_t) g_get_monotonic_time();
                if (now >= deadline)
                        return false;
                /* Woken by microvmd's next signal, or after a short while at the latest. */
                r = sd_bus_wait(t->bus, MIN(deadline - now, 50 * 1000));
                cr_assert(r >= 0, "waiting for the bus: %s", strerror(-r));
                bt_dispatch(t);
        }
}

char *bt_vm_state_changes(BusTest *t, const char *name) {
        g_autoptr(GString) s = g_string_new(NULL);

        for (size_t i = 0; i < t->n_signals; i++) {
                const BusSignal *sig = &t->signals[i];
                const char *n, *state;

                if (!streq_ptr(sig->interface, BT_MANAGER_INTERFACE) || !streq_ptr(sig->member, "VMStateChanged"))
                        continue;
                g_variant_get(sig->body, "(&s&s)", &n, &state);
                if (streq(n, name))
                        g_string_append_printf(s, "%s%s", s->len > 0 ? " " : "", state);
        }
        return g_string_free(g_steal_pointer(&s), FALSE);
}

char *bt_serial_text(const char *name) {
        g_autofree char *log = bt_serial_log(name);
        char *text = bt_read_file(log);

        return text ?: g_strdup("");
}

static bool has_line_starting(const char *text, const char *prefix) {
        for (const char *line = text; line; line = strchr(line, '\n')) {
                line += strspn(line, "\r\n");
                if (g_str_has_prefix(line, prefix))
                        return true;
        }
        return false;
}

bool bt_wait_serial_line(const char *name, const char *prefix, uint64_t timeout_usec) {
        uint64_t deadline = (uint64_t) g_get_monotonic_time() + timeout_usec;

        for (;;) {
                g_autofree char *text = bt_serial_text(name);

                if (has_line_starting(text, prefix))
                        return true;
                if ((uint64_t) g_get_monotonic_time() >= deadline)
                        return false;
                g_usleep(20 * 1000);
        }
}

void bt_assert_serial_line(const char *name, const char *prefix, uint64_t timeout_usec, const char *what) {
        g_autofree char *serial = NULL;

        if (bt_wait_serial_line(name, prefix, timeout_usec))
                return;
        serial = bt_serial_text(name);
        cr_assert_fail("%s: no line '%s' from %s within %" PRIu64 " ms; its serial console said:\n%s", what, prefix,
                       name, timeout_usec / 1000, serial);
}

bool bt_wait_journal(const char *unit, const char *fragment, uint64_t timeout_usec, char **ret_log) {
        uint64_t deadline = (uint64_t) g_get_monotonic_time() + timeout_usec;

        for (;;) {
                g_autofree char *log = NULL;
                bool found;
                int r;

                r = bt_run(&log, "journalctl --no-pager -o cat -u %s", unit);
                cr_assert(r == 0, "journalctl -u %s failed: %s", unit, log);
                found = strstr(log, fragment);
                if (found || (uint64_t) g_get_monotonic_time() >= deadline) {
                        if (ret_log)
                                *ret_log = g_steal_pointer(&log);
                        return found;
                }
                g_usleep(50 * 1000);
        }
}

char *bt_process_binary(uint32_t pid) {
        g_autofree char *exe = g_strdup_printf("/proc/%" PRIu32 "/exe", pid), *target = NULL;

        target = g_file_read_link(exe, NULL);
        return target ? g_path_get_basename(target) : NULL;
}

/* Whether /proc/PID/cgroup, as text, puts the process in cgroup (any hierarchy). */
static bool in_cgroup(const char *text, const char *cgroup) {
        g_auto(GStrv) lines = g_strsplit(text, "\n", -1);

        for (char **l = lines; *l; l++) {
                /* "ID:CONTROLLERS:PATH" */
                const char *c = strchr(*l, ':');

                c = c ? strchr(c + 1, ':') : NULL;
                if (c && streq(c + 1, cgroup))
                        return true;
        }
        return false;
}

static int compare_pids(gconstpointer a, gconstpointer b) {
        uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;

        return (x > y) - (x < y);
}

char *bt_unit_processes(const char *unit) {
        g_autofree char *cgroup = bt_unit_property(unit, "ControlGroup");
        g_autoptr(GArray) pids = g_array_new(FALSE, FALSE, sizeof(uint32_t));
        g_autoptr(GString) s = g_string_new(NULL);
        _cleanup_(closedirp) DIR *d = opendir("/proc");
        struct dirent *de;

        cr_assert(d, "opening /proc: %s", strerror(errno));
        if (!cgroup[0])
                return g_strdup("");
        while ((de = readdir(d))) {
                g_autofree char *path = NULL, *text = NULL;
                guint64 pid;
                uint32_t p;

                if (!g_ascii_string_to_unsigned(de->d_name, 10, 1, UINT32_MAX, &pid, NULL))
                        continue;
                path = g_strdup_printf("/proc/%s/cgroup", de->d_name);
                /* A process that is gone by now is not in the cgroup either. */
                if (g_file_get_contents(path, &text, NULL, NULL) && in_cgroup(text, cgroup)) {
                        p = (uint32_t) pid;
                        g_array_append_val(pids, p);
                }
        }
        g_array_sort(pids, compare_pids);
        for (guint i = 0; i < pids->len; i++) {
                uint32_t pid = g_array_index(pids, uint32_t, i);
                g_autofree char *binary = bt_process_binary(pid);

                g_string_append_printf(s, "%" PRIu32 " %s\n", pid, binary ?: "(gone)");
        }
        return g_string_free(g_steal_pointer(&s), FALSE);
}

void bt_assert_vm_unit_gone(const char *name, const char *what) {
        g_autofree char *unit = bt_vm_unit(name), *runtime = g_strdup_printf(BT_RUNTIME_DIR "/%s", name);
        uint64_t deadline = (uint64_t) g_get_monotonic_time() + BT_TIMEOUT_USEC;

        for (;;) {
                g_autofree char *out = NULL;
                g_autoptr(GStrvBuilder) b = g_strv_builder_new();
                g_auto(GStrv) words = NULL, fields = NULL;
                int r;

                /* list-units names loaded units only, and loads nothing itself (show would). */
                r = bt_run(&out, "systemctl list-units --all --no-legend --plain %s", unit);
                cr_assert(r == 0, "%s: systemctl list-units %s failed: %s", what, unit, out);
                /* "UNIT LOAD ACTIVE SUB DESCRIPTION", in columns padded with spaces */
                words = g_strsplit_set(out, " \n", -1);
                for (char **w = words; *w; w++)
                        if (**w)
                                g_strv_builder_add(b, *w);
                fields = g_strv_builder_end(b);
                if (!fields[0] || (g_strv_length(fields) >= 3 &&
                                   (streq(fields[1], "not-found") || streq(fields[2], "inactive"))))
                        break;
                cr_assert((uint64_t) g_get_monotonic_time() < deadline, "%s: %s is still loaded:\n%s", what,
                          unit, out);
                g_usleep(20 * 1000);
        }
        cr_assert(!g_file_test(runtime, G_FILE_TEST_EXISTS), "%s: %s exists", what, runtime);
}

static inline struct nl_sock *nl_socket_free_null(struct nl_sock *sk) {
        if (sk)
                nl_socket_free(sk);
        return NULL;
}
DEFINE_CLEANUP(struct nl_sock *, nl_socket_free_null);

static inline struct nl_cache *nl_cache_free_null(struct nl_cache *c) {
        if (c)
                nl_cache_free(c);
        return NULL;
}
DEFINE_CLEANUP(struct nl_cache *, nl_cache_free_null);

static inline struct rtnl_link *rtnl_link_put_null(struct rtnl_link *l) {
        if (l)
                rtnl_link_put(l);
        return NULL;
}
DEFINE_CLEANUP(struct rtnl_link *, rtnl_link_put_null);

static inline struct rtnl_addr *rtnl_addr_put_null(struct rtnl_addr *a) {
        if (a)
                rtnl_addr_put(a);
        return NULL;
}
DEFINE_CLEANUP(struct rtnl_addr *, rtnl_addr_put_null);

static inline struct nl_addr *nl_addr_put_null(struct nl_addr *a) {
        if (a)
                nl_addr_put(a);
        return NULL;
}
DEFINE_CLEANUP(struct nl_addr *, nl_addr_put_null);

static struct nl_sock *netlink_open(void) {
        struct nl_sock *sk = nl_socket_alloc();
        int r;

        cr_assert(sk, "allocating a netlink socket");
        r = nl_connect(sk, NETLINK_ROUTE);
        cr_assert(r >= 0, "connecting to rtnetlink: %s", nl_geterror(r));
        return sk;
}

static struct nl_cache *link_cache(struct nl_sock *sk) {
        struct nl_cache *cache = NULL;
        int r;

        r = rtnl_link_alloc_cache(sk, AF_UNSPEC, &cache);
        cr_assert(r >= 0, "dumping the links: %s", nl_geterror(r));
        return cache;
}

static int compare_lines(gconstpointer a, gconstpointer b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The lines sorted and joined, each ending in a newline (owned). */
static char *sorted_lines(GPtrArray *lines) {
        g_autoptr(GString) s = g_string_new(NULL);

        g_ptr_array_sort(lines, compare_lines);
        for (guint i = 0; i < lines->len; i++)
                g_string_append_printf(s, "%s\n", (const char *) g_ptr_array_index(lines, i));
        return g_string_free(g_steal_pointer(&s), FALSE);
}

char *bt_links(void) {
        _cleanup_(nl_socket_free_nullp) struct nl_sock *sk = netlink_open();
        _cleanup_(nl_cache_free_nullp) struct nl_cache *cache = link_cache(sk);
        g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func(g_free);

        for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
                struct rtnl_link *link = (struct rtnl_link *) o;
                int master = rtnl_link_get_master(link);
                char master_name[IFNAMSIZ] = "";
                g_autoptr(GString) line = g_string_new(rtnl_link_get_name(link));

                g_string_append_printf(line, " %s", rtnl_link_get_type(link) ?: "-");
                if (master > 0) {
                        cr_assert(rtnl_link_i2name(cache, master, master_name, sizeof(master_name)),
                                  "links: %s has master %d, which is not in the dump", rtnl_link_get_name(link),
                                  master);
                        g_string_append_printf(line, " master=%s", master_name);
                }
                if (rtnl_link_get_flags(link) & IFF_UP)
                        g_string_append(line, " up");
                g_ptr_array_add(lines, g_string_free(g_steal_pointer(&line), FALSE));
        }
        return sorted_lines(lines);
}

void bt_assert_links(const char *expected, const char *what) {
        g_autofree char *links = bt_links();

        cr_assert_str_eq(links, expected, "%s: the links are\n%sexpected\n%s", what, links, expected);
}

char *bt_links_plus(const char *links, ...) {
        g_auto(GStrv) old = g_strsplit(links, "\n", -1);
        g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func(g_free);
        const char *l;
        va_list ap;

        for (char **o = old; *o; o++)
                if (**o)
                        g_ptr_array_add(lines, g_strdup(*o));
        va_start(ap, links);
        while ((l = va_arg(ap, const char *)))
                g_ptr_array_add(lines, g_strdup(l));
        va_end(ap);
        return sorted_lines(lines);
}

int bt_link_ifindex(const char *name) {
        _cleanup_(nl_socket_free_nullp) struct nl_sock *sk = netlink_open();
        _cleanup_(rtnl_link_put_nullp) struct rtnl_link *link = NULL;
        int r;

        r = rtnl_link_get_kernel(sk, 0, name, &link);
        if (r == -NLE_NODEV || r == -NLE_OBJ_NOTFOUND)
                return 0;
        cr_assert(r >= 0, "looking up link %s: %s", name, nl_geterror(r));
        return rtnl_link_get_ifindex(link);
}

void bt_tap_add(const char *name) {
        _cleanup_close_ int fd = -EBADF;
        struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };

        cr_assert(strlen(name) < IFNAMSIZ, "TAP name %s is too long", name);
        fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
        cr_assert(fd >= 0, "opening /dev/net/tun: %s", strerror(errno));
        strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
        cr_assert(ioctl(fd, TUNSETIFF, &ifr) >= 0, "creating TAP device %s: %s", name, strerror(errno));
        cr_assert(ioctl(fd, TUNSETPERSIST, 1) >= 0, "making TAP device %s persistent: %s", name, strerror(errno));
}

void bt_veth_add(const char *name, const char *peer) {
        _cleanup_(nl_socket_free_nullp) struct nl_sock *sk = netlink_open();
        int r;

        r = rtnl_link_veth_add(sk, name, peer, getpid());
        cr_assert(r >= 0, "creating veth pair %s/%s: %s", name, peer, nl_geterror(r));
}

void bt_bridge_add(const char *name) {
        _cleanup_(nl_socket_free_nullp) struct nl_sock *sk = netlink_open();
        _cleanup_(rtnl_link_put_nullp) struct rtnl_link *link = NULL, *change = rtnl_link_alloc();
        int r;

        r = rtnl_link_bridge_add(sk, name);
        cr_assert(r >= 0, "creating bridge %s: %s", name, nl_geterror(r));
        r = rtnl_link_get_kernel(sk, 0, name, &link);
        cr_assert(r >= 0, "looking up bridge %s: %s", name, nl_geterror(r));
        cr_assert(change);
        rtnl_link_set_flags(change, IFF_UP);
        r = rtnl_link_change(sk, link, change, 0);
        cr_assert(r >= 0, "bringing bridge %s up: %s", name, nl_geterror(r));
}

void bt_link_delete(const char *name) {
        _cleanup_(nl_socket_free_nullp) struct nl_sock *sk = nl_socket_alloc();
        _cleanup_(rtnl_link_put_nullp) struct rtnl_link *link = NULL;

        if (!sk || nl_connect(sk, NETLINK_ROUTE) < 0 || rtnl_link_get_kernel(sk, 0, name, &link) < 0)
                return;
        (void) rtnl_link_delete(sk, link);
}

void bt_address_add(const char *link, const char *address) {
        _cleanup_(nl_socket_free_nullp) struct nl_sock *sk = netlink_open();
        _cleanup_(rtnl_addr_put_nullp) struct rtnl_addr *a = rtnl_addr_alloc();
        _cleanup_(nl_addr_put_nullp) struct nl_addr *local = NULL;
        int ifindex = bt_link_ifindex(link), r;

        cr_assert(a);
        cr_assert_gt(ifindex, 0, "adding %s: no link %s", address, link);
        r = nl_addr_parse(address, AF_INET, &local);
        cr_assert(r >= 0, "bad test data: address %s: %s", address, nl_geterror(r));
        rtnl_addr_set_ifindex(a, ifindex);
        r = rtnl_addr_set_local(a, local);
        cr_assert(r >= 0, "address %s: %s", address, nl_geterror(r));
        r = rtnl_addr_add(sk, a, 0);
        cr_assert(r >= 0, "adding %s to %s: %s", address, link, nl_geterror(r));
}

/* Whether the link has the IPv4 address, as nl_addr2str() prints it ("10.0.0.1/24"). */
static bool link_has_address(const char *link, const char *address) {
        _cleanup_(nl_socket_free_nullp) struct nl_sock *sk = netlink_open();
        _cleanup_(nl_cache_free_nullp) struct nl_cache *cache = NULL;
        int ifindex = bt_link_ifindex(link), r;

        if (ifindex <= 0)
                return false;
        r = rtnl_addr_alloc_cache(sk, &cache);
        cr_assert(r >= 0, "dumping the addresses: %s", nl_geterror(r));
        for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
                struct rtnl_addr *a = (struct rtnl_addr *) o;
                char text[INET6_ADDRSTRLEN + 8];

                if (rtnl_addr_get_ifindex(a) == ifindex && rtnl_addr_get_family(a) == AF_INET &&
                    streq(nl_addr2str(rtnl_addr_get_local(a), text, sizeof(text)), address))
                        return true;
        }
        return false;
}

bool bt_wait_address(const char *link, const char *address, uint64_t timeout_usec) {
        uint64_t deadline = (uint64_t) g_get_monotonic_time() + timeout_usec;

        for (;;) {
                if (link_has_address(link, address))
                        return true;
                if ((uint64_t) g_get_monotonic_time() >= deadline)
                        return false;
                g_usleep(20 * 1000);
        }
}

/* The Internet checksum (RFC 1071). */
static uint16_t inet_checksum(const void *data, size_t n) {
        const uint8_t *p = data;
        uint32_t sum = 0;

        for (size_t i = 0; i + 1 < n; i += 2)
                sum += (uint32_t) (p[i] << 8 | p[i + 1]);
        if (n % 2)
                sum += (uint32_t) p[n - 1] << 8;
        while (sum >> 16)
                sum = (sum & 0xffff) + (sum >> 16);
        return htons((uint16_t) ~sum);
}

/* Waits up to timeout_usec for the echo reply with this id and sequence number from to. */
static bool ping_wait_reply(int fd, const struct sockaddr_in *to, uint16_t id, uint16_t seq, uint64_t timeout_usec) {
        uint64_t deadline = (uint64_t) g_get_monotonic_time() + timeout_usec;

        for (;;) {
                uint8_t buf[1500];
                struct sockaddr_in from;
                socklen_t from_len = sizeof(from);
                const struct icmphdr *icmp;
                struct pollfd p = { .fd = fd, .events = POLLIN };
                uint64_t now = (uint64_t) g_get_monotonic_time();
                ssize_t n;
                size_t header;

                if (now >= deadline)
                        return false;
                if (poll(&p, 1, (int) ((deadline - now + 999) / 1000)) <= 0)
                        continue;
                n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *) &from, &from_len);
                if (n < 0) {
                        cr_assert(errno == EAGAIN || errno == EINTR, "ping: receiving: %s", strerror(errno));
                        continue;
                }
                /* A raw socket hands over the IP header too. */
                header = (size_t) (buf[0] & 0x0f) * 4;
                if ((size_t) n < header + sizeof(*icmp) || from.sin_addr.s_addr != to->sin_addr.s_addr)
                        continue;
                icmp = (const struct icmphdr *) (buf + header);
                if (icmp->type == ICMP_ECHOREPLY && ntohs(icmp->un.echo.id) == id &&
                    ntohs(icmp->un.echo.sequence) == seq)
                        return true;
        }
}

unsigned bt_ping(const char *address, unsigned count, uint64_t timeout_usec) {
        _cleanup_close_ int fd = -EBADF;
        struct sockaddr_in to = { .sin_family = AF_INET };
        uint16_t id = (uint16_t) getpid();
        unsigned replies = 0;

        cr_assert(inet_pton(AF_INET, address, &to.sin_addr) == 1, "bad test data: address %s", address);
        fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
        cr_assert(fd >= 0, "ping: opening a raw ICMP socket: %s", strerror(errno));

        for (unsigned i = 0; i < count; i++) {
                struct {
                        struct icmphdr header;
                        char payload[32];
                } packet = {
                        .header.type = ICMP_ECHO,
                        .header.un.echo.id = htons(id),
                        .header.un.echo.sequence = htons((uint16_t) i),
                        .payload = "microvm integration test ping",
                };

                packet.header.checksum = inet_checksum(&packet, sizeof(packet));
                cr_assert(sendto(fd, &packet, sizeof(packet), 0, (const struct sockaddr *) &to, sizeof(to)) ==
                                  (ssize_t) sizeof(packet),
                          "ping %s: sending: %s", address, strerror(errno));
                if (ping_wait_reply(fd, &to, id, (uint16_t) i, timeout_usec))
                        replies++;
        }
        return replies;
}

void bt_make_image(const char *path, const char *kind) {
        g_autofree char *out = NULL;
        int r;

        if (streq(kind, "ext4"))
                r = bt_run(&out, "mkdir -p \"$(dirname '%s')\" && rm -f '%s' && "
                           "mkfs.ext4 -q -F -L mvm-test '%s' 4M", path, path, path);
        else if (streq(kind, "blank"))
                r = bt_run(&out, "mkdir -p \"$(dirname '%s')\" && rm -f '%s' && truncate -s 1M '%s'", path, path, path);
        else
                cr_assert_fail("bt_make_image: unknown kind '%s'", kind);
        cr_assert_eq(r, 0, "making %s image %s: %s", kind, path, out);
}

void bt_assert_refused(BusTest *t, const char *member, GVariant *args, const char *error_name, const char *fragment,
                       const char *what) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        g_autofree char *before = NULL;
        int r;

        bt_sync(t);
        before = bt_snapshot(t);
        bt_clear_signals(t);

        r = bt_call_timeout(t, BT_MANAGER_PATH, BT_MANAGER_INTERFACE, member, args, BT_BOOT_TIMEOUT_USEC, NULL,
                            &error);
        bt_assert_error(r, &error, error_name, fragment, what);
        bt_assert_unchanged(t, before, what);
}

int bt_try_open_console(BusTest *t, const char *name, int *ret_fd, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int fd, r;

        r = sd_bus_call_method(t->bus, BT_BUS_NAME, BT_MANAGER_PATH, BT_MANAGER_INTERFACE, "OpenConsole", error,
                               &reply, "s", name);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "h", &fd);
        if (r < 0)
                return r;
        fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return -errno;
        *ret_fd = fd;
        return 0;
}

int bt_open_console(BusTest *t, const char *name, const char *what) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int fd = -1, r;

        r = bt_try_open_console(t, name, &fd, &error);
        cr_assert_eq(r, 0, "%s: OpenConsole(%s) failed: %s: %s", what, name, strempty(error.name),
                     strempty(error.message));
        return fd;
}

bool bt_console_wait(int fd, const char *text, uint64_t timeout_usec, char **ret_output) {
        uint64_t deadline = (uint64_t) g_get_monotonic_time() + timeout_usec;
        g_autoptr(GString) out = g_string_new(NULL);
        bool found = false;

        for (;;) {
                uint64_t now = (uint64_t) g_get_monotonic_time();
                struct pollfd p = { .fd = fd, .events = POLLIN };
                char buf[4096];
                ssize_t n;

                found = strstr(out->str, text);
                if (found || now >= deadline)
                        break;
                if (poll(&p, 1, (int) ((deadline - now + 999) / 1000)) <= 0)
                        continue;
                n = read(fd, buf, sizeof(buf));
                if (n <= 0)
                        break;
                g_string_append_len(out, buf, n);
        }
        if (ret_output)
                *ret_output = g_string_free(g_steal_pointer(&out), false);
        return found;
}

void bt_console_expect(int fd, const char *text, uint64_t timeout_usec, const char *what) {
        g_autofree char *output = NULL;

        cr_assert(bt_console_wait(fd, text, timeout_usec, &output), "%s: '%s' did not come on the console; it said:\n%s",
                  what, text, output);
}

void bt_console_send(int fd, const char *text, const char *what) {
        size_t n = strlen(text);

        cr_assert_eq(write(fd, text, n), (ssize_t) n, "%s: writing to the console: %s", what, strerror(errno));
}
