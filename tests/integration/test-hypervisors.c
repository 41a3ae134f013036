/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Hypervisor=firecracker and cloud-hypervisor through the bus API, the unit and the launcher, with
 * tests/integration/fake-hypervisor.py in place of the real programs (they need KVM): it speaks their
 * APIs over HTTP/1.1 as their specifications say, records every request, and answers with success,
 * a fault, a hang or a closed connection as each test asks. microvmd.conf's [Hypervisors] names it. */

#include <criterion/criterion.h>
#include <sys/stat.h>

#include "bus-test.h"

#define PREFIX "ihv-"
#define CONF "/etc/microvm/microvmd.conf"
#define BIN_DIR "/var/lib/microvm-test-bin"
#define IMAGES "/var/lib/microvm-test-images/hv"
/* microvmd writes snapshots only where its unit may write. */
#define SNAPSHOTS "/var/lib/microvm/" PREFIX "snapshots"

static const char *const hypervisors[] = { "firecracker", "cloud-hypervisor" };

static void setup(void) {
        g_autofree char *out = NULL;

        bt_stand_in_install(BIN_DIR, "firecracker");
        cr_assert_eq(bt_run(&out, "mkdir -p /etc/microvm " SNAPSHOTS " && ln -sf firecracker %s/cloud-hypervisor",
                            BIN_DIR), 0, "%s", out);
        bt_write_file(CONF, "[Hypervisors]\nfirecracker=" BIN_DIR "/firecracker\n"
                            "cloud-hypervisor=" BIN_DIR "/cloud-hypervisor\n");
        bt_make_image(IMAGES "/root.img", "ext4");
}

static void teardown(void) {
        bt_cleanup_prefix(PREFIX);
        (void) unlink(CONF);
        (void) bt_run(NULL, "rm -rf %s %s", IMAGES, SNAPSHOTS);
        bt_stand_in_remove(BIN_DIR);
}

TestSuite(hypervisors, .init = setup, .fini = teardown);

static char *vm_name(const char *hypervisor, const char *what) {
        return g_strdup_printf(PREFIX "%s-%s", streq(hypervisor, "firecracker") ? "fc" : "ch", what);
}

static char *config_for(const char *hypervisor, const char *more) {
        return bt_guest_config("", g_strdup_printf("'Hypervisor': <'%s'>, 'Drives': <[{'Path': <'" IMAGES
                                                   "/root.img'>, 'Root': <true>}]>%s%s", hypervisor,
                                                   more[0] ? ", " : "", more));
}

static char *state_file(const char *name, const char *file) {
        return g_strdup_printf("/var/lib/microvm/%s/%s", name, file);
}

static void set_behaviour(const char *name, const char *json) {
        g_autofree char *path = state_file(name, "fake-behaviour");

        bt_write_file(path, json);
}

/* The requests the fake hypervisor received, one JSON object a line. */
static char *requests(const char *name) {
        g_autofree char *path = state_file(name, "fake-requests.log");
        char *text = bt_read_file(path);

        return text ?: g_strdup("");
}

static void start_running(BusTest *t, const char *name) {
        bt_start_vm(t, name);
        cr_assert(bt_wait_vm_state(t, name, "running", BT_TIMEOUT_USEC), "%s runs", name);
}

/* The hypervisor was given the image as "/proc/self/fd/N" after prefix in text: its process pid has
 * that descriptor open on the file at path. */
static void expect_fd_path(const char *text, const char *prefix, uint32_t pid, const char *path, const char *hv) {
        const char *p = strstr(strempty(text), prefix);
        g_autofree char *link = NULL;
        struct stat fd_st, path_st;
        unsigned fd;

        cr_assert(p && sscanf(p + strlen(prefix), "/proc/self/fd/%u", &fd) == 1, "%s: %s/proc/self/fd/N in %s", hv,
                  prefix, strempty(text));
        link = g_strdup_printf("/proc/%u/fd/%u", pid, fd);
        cr_assert(stat(link, &fd_st) >= 0 && stat(path, &path_st) >= 0, "%s: %s and %s", hv, link, path);
        cr_expect(fd_st.st_dev == path_st.st_dev && fd_st.st_ino == path_st.st_ino,
                  "%s: descriptor %u of the hypervisor is %s", hv, fd, path);
}

/* The hypervisor is the unit's main process, started as the backend's golden files say. */
Test(hypervisors, start_and_stop) {
        _cleanup_(bt_freep) BusTest *t = bt_new();

        for (size_t i = 0; i < ELEMENTSOF(hypervisors); i++) {
                const char *hv = hypervisors[i];
                g_autofree char *name = vm_name(hv, "run"), *config = NULL;
                g_autofree char *argv_path = state_file(name, "fake-argv"), *argv = NULL, *log = NULL, *reason = NULL;
                g_autofree char *conf_path = state_file(name, "fake-config.json"), *conf = NULL, *binary = NULL;

                g_autofree char *cid = g_strdup_printf("'VsockCID': <uint32 %zu>", 41 + i);
                g_autofree char *expected_cid = g_strdup_printf("\"guest_cid\":%zu", 41 + i);
                g_autofree char *expected_vsock = g_strdup_printf("--vsock\ncid=%zu,socket=/run/microvm/", 41 + i);
                struct stat st;
                uint32_t pid;

                config = config_for(hv, cid);
                g_free(bt_create_vm(t, name, config));
                start_running(t, name);
                pid = bt_vm_main_pid(t, name);
                binary = bt_process_binary(pid);
                cr_expect(strstr(strempty(binary), "python3") != NULL, "%s: the fake hypervisor is the main "
                          "process (%s)", hv, strempty(binary));
                argv = bt_read_file(argv_path);
                cr_assert_not_null(argv, "%s: the hypervisor recorded its command line", hv);
                if (streq(hv, "firecracker")) {
                        g_autofree char *expected = g_strdup_printf(BIN_DIR "/firecracker\n--api-sock\n/run/microvm/%s/"
                                                                    "api.sock\n--config-file\n/run/microvm/%s/"
                                                                    "firecracker.json\n", name, name);
                        cr_expect_str_eq(argv, expected, "firecracker's command line");
                        conf = bt_read_file(conf_path);
                        cr_assert_not_null(conf);
                        expect_fd_path(conf, "\"path_on_host\":\"", pid, IMAGES "/root.img", hv);
                        cr_expect(strstr(conf, expected_cid), "%s", conf);
                        cr_expect(strstr(conf, "root=/dev/vda"), "root= from the drive: %s", conf);
                } else {
                        expect_fd_path(argv, "--disk\npath=", pid, IMAGES "/root.img", hv);
                        cr_expect(strstr(argv, ",image_type=raw\n"), "%s", argv);
                        cr_expect(strstr(argv, expected_vsock), "%s", argv);
                        cr_expect(strstr(argv, "--console\noff\n"), "%s", argv);
                }

                /* The image was lent to the hypervisor's user for the run, and is root's again. */
                cr_expect(stat(IMAGES "/root.img", &st) >= 0 && st.st_uid != 0, "%s: the image is lent", hv);
                reason = bt_stop_vm(t, name, BT_STOP_TIMEOUT_USEC);
                cr_expect_str_eq(reason, "stop-request", "%s: stopped as asked", hv);
                cr_expect(stat(IMAGES "/root.img", &st) >= 0 && st.st_uid == 0 && st.st_gid == 0,
                          "%s: the image is given back: %u:%u", hv, st.st_uid, st.st_gid);
                log = requests(name);
                cr_expect(strstr(log, streq(hv, "firecracker")
                                      ? "\"method\": \"PUT\", \"path\": \"/actions\", \"body\": \"{\\\"action_type\\\":\\\"SendCtrlAltDel\\\"}\""
                                      : "\"method\": \"PUT\", \"path\": \"/api/v1/vm.power-button\", \"body\": null"),
                          "%s: the graceful stop request: %s", hv, log);
                bt_assert_vm_unit_gone(name, hv);
        }
}

/* PauseVM and ResumeVM through the API, and the State follows. */
Test(hypervisors, pause_resume) {
        _cleanup_(bt_freep) BusTest *t = bt_new();

        for (size_t i = 0; i < ELEMENTSOF(hypervisors); i++) {
                const char *hv = hypervisors[i];
                g_autofree char *name = vm_name(hv, "pause"), *config = config_for(hv, ""), *log = NULL;
                g_autofree char *state = NULL;

                g_free(bt_create_vm(t, name, config));
                start_running(t, name);
                g_variant_unref(bt_manager_call(t, "PauseVM", g_variant_new("(s)", name), "PauseVM"));
                state = bt_vm_state(t, name);
                cr_expect_str_eq(state, "paused", "%s: paused", hv);
                g_variant_unref(bt_manager_call(t, "ResumeVM", g_variant_new("(s)", name), "ResumeVM"));
                g_free(state);
                state = bt_vm_state(t, name);
                cr_expect_str_eq(state, "running", "%s: running again", hv);
                log = requests(name);
                if (streq(hv, "firecracker"))
                        cr_expect(strstr(log, "\"PATCH\", \"path\": \"/vm\", \"body\": \"{\\\"state\\\":\\\"Paused\\\"}\"") &&
                                  strstr(log, "\"PATCH\", \"path\": \"/vm\", \"body\": \"{\\\"state\\\":\\\"Resumed\\\"}\""),
                                  "PATCH /vm: %s", log);
                else
                        cr_expect(strstr(log, "\"/api/v1/vm.pause\", \"body\": null") &&
                                  strstr(log, "\"/api/v1/vm.resume\", \"body\": null"), "vm.pause, vm.resume: %s", log);
                g_free(bt_stop_vm(t, name, BT_STOP_TIMEOUT_USEC));
        }
}

typedef struct Pending {
        bool done;
        char *error;
} Pending;

static int pending_handler(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Pending *p = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);

        p->done = true;
        p->error = e ? g_strdup_printf("%s: %s", e->name, strempty(e->message)) : NULL;
        return 0;
}

/* A fault, a hang and a closed connection: each a named error within the call's time, the VM's
 * State unchanged, and microvmd serving other calls meanwhile. */
Test(hypervisors, faults) {
        static const struct {
                const char *behaviour;
                const char *fragment;
        } faults[] = {
                { "fault", "fake fault for " },
                { "hang", "did not answer within its time" },
                { "close", "closed its API connection without answering" },
        };
        _cleanup_(bt_freep) BusTest *t = bt_new();

        for (size_t i = 0; i < ELEMENTSOF(hypervisors); i++) {
                const char *hv = hypervisors[i];
                const char *key = streq(hv, "firecracker") ? "PATCH /vm" : "PUT /api/v1/vm.pause";
                g_autofree char *name = vm_name(hv, "fault"), *config = config_for(hv, "");

                g_free(bt_create_vm(t, name, config));
                start_running(t, name);
                for (size_t f = 0; f < ELEMENTSOF(faults); f++) {
                        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
                        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
                        g_autofree char *behaviour = g_strdup_printf("{\"%s\": \"%s\"}", key, faults[f].behaviour);
                        g_autofree char *state = NULL;
                        Pending pending = {};
                        int64_t start = g_get_monotonic_time();

                        set_behaviour(name, behaviour);
                        cr_assert_geq(sd_bus_message_new_method_call(t->bus, &m, "org.microvm.Manager",
                                                                     "/org/microvm/Manager", "org.microvm.Manager",
                                                                     "PauseVM"), 0);
                        cr_assert_geq(sd_bus_message_append(m, "s", name), 0);
                        cr_assert_geq(sd_bus_call_async(t->bus, &slot, m, pending_handler, &pending,
                                                        BT_TIMEOUT_USEC), 0);
                        /* Meanwhile microvmd answers. */
                        g_variant_unref(bt_manager_call(t, "ListVMs", NULL, "ListVMs while the hypervisor is asked"));
                        while (!pending.done) {
                                cr_assert_geq(sd_bus_process(t->bus, NULL), 0);
                                if (!pending.done)
                                        (void) sd_bus_wait(t->bus, 100000);
                        }
                        cr_expect(pending.error && g_str_has_prefix(pending.error,
                                                                    "org.microvm.Error.HypervisorUnavailable: ") &&
                                  strstr(pending.error, faults[f].fragment),
                                  "%s, %s: %s", hv, faults[f].behaviour, strempty(pending.error));
                        cr_expect_lt(g_get_monotonic_time() - start, 8 * G_USEC_PER_SEC, "%s, %s: within its time",
                                     hv, faults[f].behaviour);
                        state = bt_vm_state(t, name);
                        cr_expect_str_eq(state, "running", "%s, %s: still running", hv, faults[f].behaviour);
                        g_free(pending.error);
                }
                set_behaviour(name, "{}");
                g_free(bt_stop_vm(t, name, BT_STOP_TIMEOUT_USEC));
        }
}

/* SnapshotVM pauses, saves and resumes; RestoreVM starts a fresh hypervisor and loads it. */
Test(hypervisors, snapshot_restore) {
        _cleanup_(bt_freep) BusTest *t = bt_new();

        for (size_t i = 0; i < ELEMENTSOF(hypervisors); i++) {
                const char *hv = hypervisors[i];
                bool fc = streq(hv, "firecracker");
                g_autofree char *name = vm_name(hv, "snap"), *config = config_for(hv, ""), *log = NULL;
                g_autofree char *path = g_strdup_printf(SNAPSHOTS "/%s.snapshot", name), *meta = NULL, *state = NULL;
                g_autofree char *argv_path = state_file(name, "fake-argv"), *argv = NULL, *dir = NULL, *listing = NULL;
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                struct stat st;
                int r;

                g_free(bt_create_vm(t, name, config));
                start_running(t, name);

                /* A fault while saving: named, and the VM goes on. */
                set_behaviour(name, fc ? "{\"PUT /snapshot/create\": \"fault\"}" : "{\"PUT /api/v1/vm.snapshot\": \"fault\"}");
                r = bt_call_timeout(t, BT_MANAGER_PATH, BT_MANAGER_INTERFACE, "SnapshotVM",
                                    g_variant_new("(ss)", name, path), BT_TIMEOUT_USEC, NULL, &error);
                bt_assert_error(r, &error, "org.microvm.Error.SnapshotFailed", "fake fault for", hv);
                state = bt_vm_state(t, name);
                cr_expect_str_eq(state, "running", "%s: running after a failed snapshot", hv);
                cr_expect(lstat(path, &st) < 0, "%s: nothing at %s", hv, path);
                set_behaviour(name, "{}");

                /* The hypervisor writes into the VM's state directory, and microvmd renames: not onto
                 * another filesystem (/run is a tmpfs). Refused before anything is asked or written. */
                sd_bus_error_free(&error);
                r = bt_call_timeout(t, BT_MANAGER_PATH, BT_MANAGER_INTERFACE, "SnapshotVM",
                                    g_variant_new("(ss)", name, "/run/" PREFIX "elsewhere"), BT_TIMEOUT_USEC, NULL,
                                    &error);
                bt_assert_error(r, &error, "org.microvm.Error.InvalidArgument", "must be on the same filesystem", hv);
                cr_expect(lstat("/run/" PREFIX "elsewhere", &st) < 0, "%s: nothing written to /run", hv);
                sd_bus_error_free(&error);

                g_variant_unref(bt_manager_call(t, "SnapshotVM", g_variant_new("(ss)", name, path), "SnapshotVM"));
                meta = g_strdup_printf("%s.meta", path);
                cr_expect(access(meta, F_OK) >= 0, "%s: the metadata", hv);
                if (fc) {
                        g_autofree char *mem = g_strdup_printf("%s.mem", path);
                        cr_expect(stat(path, &st) >= 0 && S_ISREG(st.st_mode), "the state file");
                        cr_expect(access(mem, F_OK) >= 0, "the memory file");
                } else {
                        g_autofree char *s = g_strdup_printf("%s/state.json", path);
                        cr_expect(stat(path, &st) >= 0 && S_ISDIR(st.st_mode), "the snapshot directory");
                        cr_expect(access(s, F_OK) >= 0, "its state.json");
                }
                g_free(state);
                state = bt_vm_state(t, name);
                cr_expect_str_eq(state, "running", "%s: running after the snapshot", hv);
                log = requests(name);
                cr_expect(strstr(log, fc ? "/snapshot/create" : "/api/v1/vm.snapshot"), "%s: %s", hv, log);

                g_free(bt_stop_vm(t, name, BT_STOP_TIMEOUT_USEC));
                g_variant_unref(bt_manager_call(t, "RestoreVM", g_variant_new("(ss)", name, path), "RestoreVM"));
                cr_assert(bt_wait_vm_state(t, name, "running", BT_TIMEOUT_USEC), "%s: restored and running", hv);
                argv = bt_read_file(argv_path);
                cr_expect(argv && !strstr(argv, "--config-file") && !strstr(argv, "--kernel"),
                          "%s: an empty hypervisor: %s", hv, strempty(argv));
                g_free(log);
                log = requests(name);
                cr_expect(strstr(log, fc ? "/snapshot/load" : "/api/v1/vm.restore"), "%s: the load: %s", hv, log);
                /* The snapshot was saved and loaded through the VM's state directory: nothing stays there. */
                dir = g_strdup_printf(BT_STATE_DIR "/%s", name);
                listing = bt_list_dir(dir);
                cr_expect(!strstr(listing, ".snapshot") && !strstr(listing, ".restore"),
                          "%s: nothing left of the snapshot in %s:\n%s", hv, dir, listing);
                g_free(bt_stop_vm(t, name, BT_STOP_TIMEOUT_USEC));
        }
}

/* ExecVM in the guest through the hybrid vsock: CONNECT to port 5100 on the hypervisor's socket,
 * then the agent's own protocol. The stand-in's guest is microvm's agent itself, as the init of its
 * own PID namespace. */
static void exec_in_guest(BusTest *t, const char *name, const char *script, char **ret_out) {
        static const char *const none[] = { NULL };
        const char *argv[] = { "/bin/sh", "-c", script, NULL };
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        g_autoptr(GVariant) reply = NULL, out = NULL, err = NULL;
        int32_t status, signo;
        int r;

        r = bt_call_timeout(t, BT_MANAGER_PATH, BT_MANAGER_INTERFACE, "Exec",
                            g_variant_new("(s^as^as@aytt)", name, argv, none,
                                          g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, "", 0, 1), (uint64_t) 0,
                                          (uint64_t) 0),
                            BT_TIMEOUT_USEC, &reply, &error);
        cr_assert_eq(r, 0, "%s: Exec: %s: %s", name, strempty(error.name), strempty(error.message));
        g_variant_get(reply, "(ii@ay@ay)", &status, &signo, &out, &err);
        cr_expect_eq(status, 0, "%s: '%s' exited with %d", name, script, status);
        *ret_out = g_strndup(g_variant_get_data(out), g_variant_get_size(out));
}

/* The guest powers off by itself: reboot(2) (x86-64's syscall 169) with LINUX_REBOOT_CMD_POWER_OFF,
 * as its init's last step. perl is in every Debian system. */
#define GUEST_POWEROFF "perl -e 'syscall(169, 0xfee1dead, 672274793, 0x4321fedc) or die \"reboot: $!\"'"

Test(hypervisors, agent_over_vsock) {
        _cleanup_(bt_freep) BusTest *t = bt_new();
        const char *agent = getenv("MVM_AGENT");

        cr_assert_not_null(agent, "MVM_AGENT names the installed microvm-agent");
        for (size_t i = 0; i < ELEMENTSOF(hypervisors); i++) {
                const char *hv = hypervisors[i];
                g_autofree char *cid = g_strdup_printf("'VsockCID': <uint32 %zu>", 51 + i);
                g_autofree char *name = vm_name(hv, "agent"), *config = config_for(hv, cid), *path = bt_vm_path(name);
                g_autofree char *behaviour = g_strdup_printf("{\"guest-agent\": \"%s\"}", agent);
                g_autofree char *out = NULL, *reason = NULL, *poweroff = NULL, *journal = NULL, *unit = NULL;
                g_autoptr(GVariant) connected = NULL, stop_reason = NULL;
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                int64_t start;

                g_free(bt_create_vm(t, name, config));
                g_free(out);
                cr_assert_eq(bt_run(&out, "mkdir -p /var/lib/microvm/%s", name), 0, "%s", out);
                set_behaviour(name, behaviour);

                /* Ready: microvmd reached the agent through the hybrid vsock. */
                bt_clear_signals(t);
                bt_start_vm(t, name);
                cr_assert_not_null(bt_wait_signal(t, path, BT_VM_INTERFACE, "Ready", BT_TIMEOUT_USEC),
                                   "%s: no Ready signal", hv);
                connected = bt_vm_property(t, name, "AgentConnected");
                cr_expect(g_variant_get_boolean(connected), "%s: AgentConnected", hv);
                g_free(out);
                exec_in_guest(t, name, "echo vsock-$((6*7))", &out);
                cr_expect_str_eq(out, "vsock-42\n", "%s: the guest's output", hv);

                /* StopVM asks the agent: Shutdown where the hypervisor ends with the guest's poweroff
                 * (cloud-hypervisor), Reboot where it ends only with a reset (Firecracker). */
                start = g_get_monotonic_time();
                reason = bt_stop_vm(t, name, BT_STOP_TIMEOUT_USEC);
                cr_expect_str_eq(reason, "stop-request", "%s: stopped through the agent", hv);
                cr_expect_lt(g_get_monotonic_time() - start, 10 * G_USEC_PER_SEC, "%s: the agent's stop is quick", hv);
                unit = g_strdup_printf("microvm@%s.service", name);
                cr_expect(bt_wait_journal(unit, streq(hv, "firecracker") ? "its init ended with status -1: reboot"
                                                                          : "its init ended with status -2: poweroff",
                                          BT_TIMEOUT_USEC, &journal),
                          "%s: the guest %s: %s", hv, streq(hv, "firecracker") ? "rebooted" : "powered off",
                          strempty(journal));

                /* The guest powers off by itself: the unit ends, also where the hypervisor stays. */
                bt_clear_signals(t);
                bt_start_vm(t, name);
                cr_assert(bt_wait_vm_state(t, name, "running", BT_TIMEOUT_USEC), "%s runs again", hv);
                cr_assert_not_null(bt_wait_signal(t, path, BT_VM_INTERFACE, "Ready", BT_TIMEOUT_USEC),
                                   "%s: Ready again", hv);
                poweroff = g_strdup(GUEST_POWEROFF);
                start = g_get_monotonic_time();
                (void) bt_call_timeout(t, BT_MANAGER_PATH, BT_MANAGER_INTERFACE, "Exec",
                                       g_variant_new("(s^as^as@aytt)", name,
                                                     (const char *const[]) { "/bin/sh", "-c", poweroff, NULL },
                                                     (const char *const[]) { NULL },
                                                     g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, "", 0, 1),
                                                     (uint64_t) 0, (uint64_t) 0),
                                       BT_TIMEOUT_USEC, NULL, &error);
                cr_assert(bt_wait_vm_state(t, name, "stopped", BT_TIMEOUT_USEC), "%s: stopped after the guest's "
                          "poweroff (Exec: %s %s): %s", hv, strempty(error.name), strempty(error.message),
                          bt_vm_state(t, name));
                cr_expect_lt(g_get_monotonic_time() - start, 10 * G_USEC_PER_SEC, "%s: noticed at once", hv);
                stop_reason = bt_vm_property(t, name, "StopReason");
                cr_expect_str_eq(g_variant_get_string(stop_reason, NULL), "guest-poweroff", "%s: why it stopped", hv);
                bt_assert_vm_unit_gone(name, hv);

                /* The last run's poweroff is in the unit's journal: the next run goes on all the same. */
                bt_clear_signals(t);
                bt_start_vm(t, name);
                cr_assert_not_null(bt_wait_signal(t, path, BT_VM_INTERFACE, "Ready", BT_TIMEOUT_USEC),
                                   "%s: Ready once more", hv);
                g_usleep(2 * G_USEC_PER_SEC);
                g_free(reason);
                reason = bt_vm_state(t, name);
                cr_expect_str_eq(reason, "running", "%s: a new run is not stopped for an old poweroff", hv);
                g_free(bt_stop_vm(t, name, BT_STOP_TIMEOUT_USEC));
        }
}

/* What cannot work is refused, named, and leaves nothing behind. */
Test(hypervisors, bad_input) {
        _cleanup_(bt_freep) BusTest *t = bt_new();
        g_autofree char *qcow2 = bt_guest_config("", "'Hypervisor': <'firecracker'>, 'Drives': <[{'Path': <'"
                                                 IMAGES "/root.img'>, 'Format': <'qcow2'>}]>");
        g_autofree char *tcg = bt_guest_config("", "'Hypervisor': <'cloud-hypervisor'>, 'Accelerator': <'tcg'>");
        g_autofree char *fc = config_for("firecracker", ""), *name = vm_name("firecracker", "bad");
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        bt_assert_refused(t, "CreateVM", g_variant_new("(s@a{sv})", PREFIX "qcow2", bt_config(qcow2)),
                          "org.microvm.Error.InvalidConfig", "Firecracker reads raw images only", "qcow2 on Firecracker");
        bt_assert_refused(t, "CreateVM", g_variant_new("(s@a{sv})", PREFIX "tcg", bt_config(tcg)),
                          "org.microvm.Error.InvalidConfig", "cloud-hypervisor runs guests on KVM only", "TCG");

        g_free(bt_create_vm(t, name, fc));
        /* A missing executable, then one that is not executable: named, at StartVM. */
        bt_write_file(CONF, "[Hypervisors]\nfirecracker=" BIN_DIR "/missing\n");
        r = bt_try_manager_call(t, "StartVM", g_variant_new("(s)", name), &error);
        bt_assert_error(r, &error, "org.microvm.Error.HypervisorUnavailable", BIN_DIR "/missing", "missing");
        bt_assert_vm_unit_gone(name, "missing");
        sd_bus_error_free(&error);
        bt_write_file(BIN_DIR "/plain", "#!/bin/sh\n");
        cr_assert_eq(chmod(BIN_DIR "/plain", 0644), 0);
        bt_write_file(CONF, "[Hypervisors]\nfirecracker=" BIN_DIR "/plain\n");
        r = bt_try_manager_call(t, "StartVM", g_variant_new("(s)", name), &error);
        bt_assert_error(r, &error, "org.microvm.Error.HypervisorUnavailable", BIN_DIR "/plain", "not executable");
        bt_assert_vm_unit_gone(name, "not executable");
        sd_bus_error_free(&error);

        /* Firecracker's console is the journal: OpenConsole says so. */
        bt_write_file(CONF, "[Hypervisors]\nfirecracker=" BIN_DIR "/firecracker\n");
        start_running(t, name);
        {
                int fd = -1;

                r = bt_try_open_console(t, name, &fd, &error);
                bt_assert_error(r, &error, "org.microvm.Error.HypervisorUnavailable", "journalctl -u", "OpenConsole");
        }
        g_free(bt_stop_vm(t, name, BT_STOP_TIMEOUT_USEC));
}
