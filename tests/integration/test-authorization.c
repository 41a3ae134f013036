/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Authorization, with the real polkitd: one table of every method and property read. A caller
 * that is not root may read everything but change nothing, and nothing changes; with the example
 * rule (polkit/50-microvm-group.rules), a member of the group "microvm" may do every change, on a
 * VM of the stand-in cloud-hypervisor whose guest runs microvm-agent; and a check that polkit takes
 * its time over does not hold up microvmd's other callers. VM names start with "itp-". */

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bus-test.h"
#include "bus-variant.h"

#define PREFIX "itp-"
#define NOBODY 65534
#define OPERATOR "itp-operator"
#define GROUP "microvm"
#define RULES_DIR "/etc/polkit-1/rules.d"
#define GROUP_RULE RULES_DIR "/50-microvm-group.rules"
#define SLOW_RULE RULES_DIR "/40-microvm-test-slow.rules"
#define ASK_RULE RULES_DIR "/40-microvm-test-ask.rules"
#define CONF "/etc/microvm/microvmd.conf"
#define BIN_DIR "/var/lib/microvm-test-bin"
#define IMAGE "/var/lib/microvm-test-images/itp/root.img"
/* Where microvmd may write, and the caller too. */
#define SNAPSHOTS BT_STATE_DIR "/" PREFIX "snapshots"

/* The VM every call is about (a stand-in cloud-hypervisor), and one to create and delete. */
#define VM "itp-op"
#define VM_PATH BT_VM_PATH_PREFIX "/itp_2dop"
#define VM2 "itp-op2"
#define VM2_PATH BT_VM_PATH_PREFIX "/itp_2dop2"

typedef enum Kind {
        READ,           /* open to anyone */
        CHANGE,         /* polkit decides */
} Kind;

/* One call; in the order a member of the group makes them, each possible in the state the ones
 * before leave. */
typedef struct Call {
        const char *label;
        const char *path, *interface, *member;
        const char *args;    /* GVariant text of the argument tuple, or NULL */
        Kind kind;
        const char *reply;   /* READ: the reply contains this */
} Call;

static const Call calls[] = {
        { "ListVMs", BT_MANAGER_PATH, BT_MANAGER_INTERFACE, "ListVMs", NULL, READ, "objectpath '" VM_PATH "'" },
        { "GetVM", BT_MANAGER_PATH, BT_MANAGER_INTERFACE, "GetVM", "('" VM "',)", READ, "objectpath '" VM_PATH "'" },
        { "GetSystemInfo", BT_MANAGER_PATH, BT_MANAGER_INTERFACE, "GetSystemInfo", NULL, READ, "'AllocatedVCPUs'" },
        { "Get Name", VM_PATH, "org.freedesktop.DBus.Properties", "Get", "('org.microvm.VM', 'Name')", READ,
          "<'" VM "'>" },
        { "GetAll", VM_PATH, "org.freedesktop.DBus.Properties", "GetAll", "('org.microvm.VM',)", READ, "'VCPUs'" },
        { "CreateVM", BT_MANAGER_PATH, BT_MANAGER_INTERFACE, "CreateVM", "('" VM2 "', {'Kernel': <'/k'>})", CHANGE },
        { "UpdateVM", BT_MANAGER_PATH, BT_MANAGER_INTERFACE, "UpdateVM", "('" VM2 "', {'VCPUs': <uint32 2>})",
          CHANGE },
        { "VM.Update", VM2_PATH, BT_VM_INTERFACE, "Update", "({'VCPUs': <uint32 1>},)", CHANGE },
        { "VM.Delete", VM2_PATH, BT_VM_INTERFACE, "Delete", NULL, CHANGE },
        { "StartVM", BT_MANAGER_PATH, BT_MANAGER_INTERFACE, "StartVM", "('" VM "',)", CHANGE },
        { "Ping", BT_MANAGER_PATH, BT_MANAGER_INTERFACE, "Ping", "('" VM "',)", READ, "" },
        { "VM.Ping", VM_PATH, BT_VM_INTERFACE, "Ping", NULL, READ, "" },
        { "GetGuestInfo", BT_MANAGER_PATH, BT_MANAGER_INTERFACE, "GetGuestInfo", "('" VM "',)", READ, "'Hostname'" },
        { "VM.GetGuestInfo", VM_PATH, BT_VM_INTERFACE, "GetGuestInfo", NULL, READ, "'Hostname'" },
        { "Exec", BT_MANAGER_PATH, BT_MANAGER_INTERFACE, "Exec",
          "('" VM "', ['/bin/true'], @as [], @ay [], uint64 0, uint64 0)", CHANGE },
        { "VM.Exec", VM_PATH, BT_VM_INTERFACE, "Exec", "(['/bin/true'], @as [], @ay [], uint64 0, uint64 0)", CHANGE },
        /* SIGCONT to the guest's init, which goes on as before. */
        { "Signal", BT_MANAGER_PATH, BT_MANAGER_INTERFACE, "Signal", "('" VM "', '1', 18)", CHANGE },
        { "VM.Signal", VM_PATH, BT_VM_INTERFACE, "Signal", "('1', 18)", CHANGE },
        { "OpenConsole", BT_MANAGER_PATH, BT_MANAGER_INTERFACE, "OpenConsole", "('" VM "',)", CHANGE },
        { "VM.OpenConsole", VM_PATH, BT_VM_INTERFACE, "OpenConsole", NULL, CHANGE },
        { "PauseVM", BT_MANAGER_PATH, BT_MANAGER_INTERFACE, "PauseVM", "('" VM "',)", CHANGE },
        { "ResumeVM", BT_MANAGER_PATH, BT_MANAGER_INTERFACE, "ResumeVM", "('" VM "',)", CHANGE },
        { "VM.Pause", VM_PATH, BT_VM_INTERFACE, "Pause", NULL, CHANGE },
        { "VM.Resume", VM_PATH, BT_VM_INTERFACE, "Resume", NULL, CHANGE },
        { "SnapshotVM", BT_MANAGER_PATH, BT_MANAGER_INTERFACE, "SnapshotVM", "('" VM "', '" SNAPSHOTS "/one')", CHANGE },
        { "VM.Snapshot", VM_PATH, BT_VM_INTERFACE, "Snapshot", "('" SNAPSHOTS "/two',)", CHANGE },
        { "StopVM", BT_MANAGER_PATH, BT_MANAGER_INTERFACE, "StopVM", "('" VM "', uint64 0)", CHANGE },
        { "RestoreVM", BT_MANAGER_PATH, BT_MANAGER_INTERFACE, "RestoreVM", "('" VM "', '" SNAPSHOTS "/one')", CHANGE },
        { "VM.Stop", VM_PATH, BT_VM_INTERFACE, "Stop", "(uint64 0,)", CHANGE },
        { "VM.Restore", VM_PATH, BT_VM_INTERFACE, "Restore", "('" SNAPSHOTS "/two',)", CHANGE },
        { "KillVM", BT_MANAGER_PATH, BT_MANAGER_INTERFACE, "KillVM", "('" VM "', 9)", CHANGE },
        { "VM.Start", VM_PATH, BT_VM_INTERFACE, "Start", NULL, CHANGE },
        { "VM.Kill", VM_PATH, BT_VM_INTERFACE, "Kill", "(9,)", CHANGE },
        { "DeleteVM", BT_MANAGER_PATH, BT_MANAGER_INTERFACE, "DeleteVM", "('" VM "',)", CHANGE },
};

/* How the child process calls. */
typedef struct Caller {
        uid_t uid;
        gid_t gid;
        gid_t group;          /* a supplementary group, or 0 for none */
        bool wait_for_state;  /* a call the VM's state does not allow yet is tried again, up to 30 s */
        bool interactive;     /* allows interactive authorization */
} Caller;

static void cleanup(void) {
        bt_cleanup_prefix(PREFIX);
        (void) unlink(GROUP_RULE);
        (void) unlink(SLOW_RULE);
        (void) unlink(ASK_RULE);
        (void) unlink(CONF);
        (void) bt_run(NULL, "userdel " OPERATOR " 2>/dev/null; groupdel " GROUP " 2>/dev/null; rm -rf "
                      SNAPSHOTS " %s", "/var/lib/microvm-test-images/itp");
        bt_stand_in_remove(BIN_DIR);
}

TestSuite(authorization, .init = cleanup, .fini = cleanup);

/* Allowing interactive authorization or not: sd-bus does not by default, said anyway. */
static int call_once_interactive(sd_bus *bus, const Call *c, bool interactive, sd_bus_message **ret_reply,
                                 sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        g_autoptr(GVariant) args = c->args ? g_variant_parse(NULL, c->args, NULL, NULL, NULL) : NULL;
        int r;

        if (c->args && !args)
                return -EINVAL;
        r = sd_bus_message_new_method_call(bus, &call, BT_BUS_NAME, c->path, c->interface, c->member);
        if (r >= 0)
                r = sd_bus_message_set_allow_interactive_authorization(call, interactive);
        for (size_t j = 0; r >= 0 && args && j < g_variant_n_children(args); j++) {
                g_autoptr(GVariant) v = g_variant_get_child_value(args, j);

                r = bus_message_append_gvariant(call, v);
        }
        if (r < 0)
                return r;
        return sd_bus_call(bus, call, BT_BOOT_TIMEOUT_USEC, error, ret_reply);
}


/* In a child that is the caller: makes call c and writes "ok REPLY" or "ERROR-NAME MESSAGE" to fd.
 * No criterion here: the parent asserts. */
_Noreturn static void run_call(const Caller *who, const Call *c, int fd) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int64_t deadline = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;
        FILE *out = fdopen(fd, "w");
        int r;

        if (!out || setgroups(who->group ? 1 : 0, &who->group) < 0 || setresgid(who->gid, who->gid, who->gid) < 0 ||
            setresuid(who->uid, who->uid, who->uid) < 0 || getuid() != who->uid)
                _exit(EXIT_FAILURE);
        if (sd_bus_open_system(&bus) < 0)
                _exit(EXIT_FAILURE);

        for (;;) {
                sd_bus_error_free(&error);
                reply = sd_bus_message_unref(reply);
                r = call_once_interactive(bus, c, who->interactive, &reply, &error);
                if (r == -EINVAL && !error.name)
                        _exit(EXIT_FAILURE);
                /* The agent still starting, a stop or kill still under way. */
                if (r >= 0 || !who->wait_for_state || g_get_monotonic_time() > deadline ||
                    !(sd_bus_error_has_name(&error, "org.microvm.Error.AgentUnavailable") ||
                      sd_bus_error_has_name(&error, "org.microvm.Error.InvalidState")))
                        break;
                g_usleep(200000);
        }
        if (r < 0)
                fprintf(out, "%s %s", error.name, strempty(error.message));
        else {
                fprintf(out, "ok");
                /* Only what reads show: a console's descriptor is not text. */
                while (c->kind == READ && sd_bus_message_at_end(reply, /* complete= */ false) == 0) {
                        g_autoptr(GVariant) v = NULL;
                        g_autofree char *shown = NULL;

                        if (bus_message_read_gvariant(reply, &v) < 0)
                                _exit(EXIT_FAILURE);
                        shown = g_variant_print(v, TRUE);
                        fprintf(out, " %s", shown);
                }
        }
        _exit(fclose(out) == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}

/* Starts call c as who, in a child; call_finish() reads its result. */
static pid_t call_start(const Caller *who, const Call *c, int *ret_fd) {
        int fds[2];
        pid_t pid;

        cr_assert(pipe2(fds, O_CLOEXEC) == 0);
        pid = fork();
        cr_assert(pid >= 0, "fork: %s", strerror(errno));
        if (pid == 0) {
                close(fds[0]);
                run_call(who, c, fds[1]);
        }
        close(fds[1]);
        *ret_fd = fds[0];
        return pid;
}

/* The result of the call the child pid made (owned). */
static char *call_finish(pid_t pid, int fd, const Call *c) {
        GString *buf = g_string_new(NULL);
        char chunk[1024];
        int status;
        ssize_t n;

        while ((n = read(fd, chunk, sizeof(chunk))) > 0)
                g_string_append_len(buf, chunk, n);
        close(fd);
        cr_assert(waitpid(pid, &status, 0) == pid);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: the caller failed: %s", c->label, buf->str);
        return g_string_free(buf, FALSE);
}

/* Makes call c as who, in a child; its result (owned). */
static char *call_as(const Caller *who, const Call *c) {
        int fd;
        pid_t pid = call_start(who, c, &fd);

        return call_finish(pid, fd, c);
}

static const Call *find_call(const char *label) {
        for (size_t i = 0; i < ELEMENTSOF(calls); i++)
                if (streq(calls[i].label, label))
                        return &calls[i];
        cr_assert_fail("no call %s in the table", label);
        return NULL;
}

static bool vm_exists(BusTest *t, const char *name) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        return bt_try_manager_call(t, "GetVM", g_variant_new("(s)", name), &error) >= 0;
}

static bool is_refusal(const char *result) {
        return g_str_has_prefix(result, "org.freedesktop.DBus.Error.AccessDenied ") ||
               g_str_has_prefix(result, "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired ");
}

/* VM: the stand-in cloud-hypervisor (no KVM here), whose guest runs microvm-agent. */
static void create_vm(BusTest *t) {
        g_autofree char *out = NULL, *config = NULL, *behaviour = NULL;
        const char *agent = getenv("MVM_AGENT");

        cr_assert_not_null(agent, "MVM_AGENT names the installed microvm-agent");
        bt_stand_in_install(BIN_DIR, "cloud-hypervisor");
        cr_assert_eq(bt_run(&out, "mkdir -p /etc/microvm " BT_STATE_DIR "/" VM), 0, "%s", out);
        bt_write_file(CONF, "[Hypervisors]\ncloud-hypervisor=" BIN_DIR "/cloud-hypervisor\n");
        bt_make_image(IMAGE, "ext4");
        behaviour = g_strdup_printf("{\"guest-agent\": \"%s\"}", agent);
        bt_write_file(BT_STATE_DIR "/" VM "/fake-behaviour", behaviour);
        config = bt_guest_config("", "'Hypervisor': <'cloud-hypervisor'>, 'VCPUs': <uint32 2>, "
                                 "'Drives': <[{'Path': <'" IMAGE "'>, 'Root': <true>}]>");
        g_free(bt_create_vm(t, VM, config));
}

/* The VM's State and the key files: what a refused call must leave as it was. */
static char *observable(BusTest *t) {
        g_autofree char *state = vm_exists(t, VM) ? bt_vm_state(t, VM) : g_strdup("none");
        g_autofree char *files = bt_list_dir(BT_CONFIG_DIR);
        g_autofree char *key = bt_read_file(BT_CONFIG_DIR "/" VM ".vm"), *key2 = bt_read_file(BT_CONFIG_DIR "/" VM2 ".vm");

        return g_strdup_printf("State=%s\nfiles:\n%s\n%s\n%s", state, files, strempty(key), strempty(key2));
}

/* Waits until what a call left under way (a kill: the unit going down) has settled, up to 10 s. */
static void settle(BusTest *t) {
        g_autofree char *last = observable(t);

        for (int i = 0; i < 33; i++) {
                g_autofree char *now = NULL;

                g_usleep(300000);
                now = observable(t);
                if (streq(now, last))
                        return;
                g_free(last);
                last = TAKE_PTR(now);
        }
}

/* Nobody may read everything and change nothing. Each change is tried in the state in which it
 * would work: polkit refuses it and nothing changes; then root makes it, for the next. */
Test(authorization, unprivileged, .timeout = 300) {
        _cleanup_(bt_freep) BusTest *t = bt_new();
        const Caller nobody = { .uid = NOBODY, .gid = NOBODY, .wait_for_state = true };
        const Caller root = { .wait_for_state = true };

        create_vm(t);
        cr_assert(mkdir(SNAPSHOTS, 0700) == 0 || errno == EEXIST);
        for (size_t i = 0; i < ELEMENTSOF(calls); i++) {
                const Call *c = &calls[i];
                g_autofree char *before = observable(t), *result = call_as(&nobody, c), *after = observable(t);
                g_autofree char *done = NULL;

                if (c->kind == READ) {
                        cr_expect(g_str_has_prefix(result, "ok") && strstr(result, c->reply),
                                  "%s as nobody: %s, expected an answer with %s", c->label, result, c->reply);
                        continue;
                }
                cr_expect(is_refusal(result), "%s as nobody: %s, expected AccessDenied", c->label, result);
                cr_expect_str_eq(after, before, "%s as nobody changed something", c->label);
                done = call_as(&root, c);
                cr_assert(g_str_has_prefix(done, "ok"), "%s as root: %s", c->label, done);
                settle(t);
        }
        cr_expect(!vm_exists(t, VM), "root deleted it at the end");
}

/* With the example rule, a member of the group does everything, through every method. */
Test(authorization, group_rule, .timeout = 300) {
        _cleanup_(bt_freep) BusTest *t = bt_new();
        g_autofree char *rule = g_build_filename(getenv("MVM_SOURCE_ROOT"), "polkit", "50-microvm-group.rules", NULL);
        g_autofree char *out = NULL;
        struct passwd *pw;
        struct group *gr;
        struct stat st;
        Caller op = { .wait_for_state = true };

        cr_assert_eq(bt_run(&out, "groupadd --system " GROUP " && useradd --no-create-home --gid " GROUP " " OPERATOR
                            " && mkdir -p " SNAPSHOTS " && chown " OPERATOR ": " SNAPSHOTS " && cp '%s' " GROUP_RULE,
                            rule), 0, "%s", out);
        pw = getpwnam(OPERATOR);
        gr = getgrnam(GROUP);
        cr_assert(pw && gr);
        op.uid = pw->pw_uid;
        op.gid = pw->pw_gid;
        op.group = gr->gr_gid;
        /* polkitd reads new rules when it notices them. */
        g_usleep(1500000);
        create_vm(t);

        for (size_t i = 0; i < ELEMENTSOF(calls); i++) {
                g_autofree char *result = call_as(&op, &calls[i]);

                cr_expect(g_str_has_prefix(result, "ok") && strstr(result, calls[i].kind == READ ? calls[i].reply : ""),
                          "%s as a member of %s: %s", calls[i].label, GROUP, result);
        }

        /* What the calls did: both VMs are gone, the snapshots are the caller's. */
        cr_expect(!vm_exists(t, VM) && !vm_exists(t, VM2), "both VMs deleted");
        cr_expect(stat(SNAPSHOTS "/one", &st) == 0 && st.st_uid == op.uid, "the first snapshot is the caller's");
        cr_expect(stat(SNAPSHOTS "/two", &st) == 0 && st.st_uid == op.uid, "the second snapshot is the caller's");
}

/* A check polkit takes 3 s over (a rule that waits) holds up that call only: meanwhile microvmd
 * answers others at once. */
Test(authorization, slow_check) {
        _cleanup_(bt_freep) BusTest *t = bt_new();
        const Caller nobody = { .uid = NOBODY, .gid = NOBODY };
        const Call *create = find_call("CreateVM");
        g_autofree char *result = NULL;
        int64_t start, slowest = 0;
        pid_t pid;
        int fd;

        bt_write_file(SLOW_RULE, "polkit.addRule(function(action, subject) {\n"
                                 "        if (action.id == \"org.microvm.manage\" && action.lookup(\"vm\") == \"" VM2 "\") {\n"
                                 "                polkit.spawn([\"/bin/sleep\", \"3\"]);\n"
                                 "                return polkit.Result.NO;\n"
                                 "        }\n"
                                 "        return polkit.Result.NOT_HANDLED;\n"
                                 "});\n");
        g_usleep(1500000);

        start = g_get_monotonic_time();
        pid = call_start(&nobody, create, &fd);

        /* While the check is pending, other calls are answered. */
        while (g_get_monotonic_time() - start < 2 * G_USEC_PER_SEC) {
                int64_t before = g_get_monotonic_time();

                g_variant_unref(bt_manager_call(t, "ListVMs", NULL, "ListVMs during a slow check"));
                slowest = MAX(slowest, g_get_monotonic_time() - before);
                g_usleep(100000);
        }
        result = call_finish(pid, fd, create);
        cr_expect_geq(g_get_monotonic_time() - start, 2500000, "the check took polkit's time");
        cr_expect(g_str_has_prefix(result, "org.freedesktop.DBus.Error.AccessDenied "), "refused: %s", result);
        cr_expect_lt(slowest, 500000, "ListVMs took up to %" PRId64 " µs while the check was pending", slowest);
        cr_expect(!vm_exists(t, VM2), "nothing created");
}

/* Where polkit would ask for a password, a caller that did not allow interaction hears so
 * (InteractiveAuthorizationRequired). One that did is passed on to polkit as such, which would ask
 * its authentication agent; with none registered polkit answers the same, and nothing is done. */
Test(authorization, interactive_flag) {
        _cleanup_(bt_freep) BusTest *t = bt_new();
        const Call *create = find_call("CreateVM");

        bt_write_file(ASK_RULE, "polkit.addRule(function(action, subject) {\n"
                                "        if (action.id == \"org.microvm.manage\" && action.lookup(\"vm\") == \"" VM2 "\")\n"
                                "                return polkit.Result.AUTH_ADMIN;\n"
                                "        return polkit.Result.NOT_HANDLED;\n"
                                "});\n");
        g_usleep(1500000);

        for (int interactive = 0; interactive <= 1; interactive++) {
                const Caller nobody = { .uid = NOBODY, .gid = NOBODY, .interactive = interactive };
                g_autofree char *result = call_as(&nobody, create);

                cr_expect(g_str_has_prefix(result, "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired "),
                          "interactive=%d: %s", interactive, result);
        }
        cr_expect(!vm_exists(t, VM2), "nothing created");
}
