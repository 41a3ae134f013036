/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the unit's sandboxing leaves a running hypervisor: the unprivileged user microvm-hypervisor
 * with no capabilities at all, no new privileges, a seccomp filter, a mount namespace of its own in
 * which the system is read-only, so that QEMU, asked through its own monitor to dump guest memory
 * (dump-guest-memory) to /etc, /usr or anywhere in /var/lib but the VM's own state directory,
 * cannot; into that directory and its runtime directory it can. VM names start with "icf-". */

#include <criterion/criterion.h>
#include <pwd.h>
#include <unistd.h>

#include "bus-test.h"

#define PREFIX "icf-"
#define NAME PREFIX "vm"

/* Places outside the VM's own where the hypervisor must not write. */
static const char *const outside[] = {
        "/etc/" PREFIX "dump",
        "/usr/" PREFIX "dump",
        BT_STATE_DIR "/" PREFIX "dump",            /* /var/lib/microvm itself */
        BT_STATE_DIR "/" PREFIX "other/dump",      /* another VM's state directory */
        "/var/lib/" PREFIX "dump",
};

static void cleanup(void) {
        bt_cleanup_prefix(PREFIX);
        for (size_t i = 0; i < G_N_ELEMENTS(outside); i++)
                (void) unlink(outside[i]);
        (void) rmdir(BT_STATE_DIR "/" PREFIX "other");
}

TestSuite(confinement, .init = cleanup, .fini = cleanup);

/* A field of /proc/PID/status (owned), or NULL. */
static char *status_field(uint32_t pid, const char *field) {
        g_autofree char *path = g_strdup_printf("/proc/%u/status", pid), *text = bt_read_file(path);
        g_auto(GStrv) lines = NULL;
        size_t n = strlen(field);

        if (!text)
                return NULL;
        lines = g_strsplit(text, "\n", -1);
        for (char **l = lines; *l; l++)
                if (strncmp(*l, field, n) == 0 && (*l)[n] == ':')
                        return g_strdup(g_strstrip(*l + n + 1));
        return NULL;
}

/* QEMU's dump-guest-memory of the guest's first page to path, through the unit's QMP socket: QEMU's
 * reply. */
static char *dump_guest_memory(const char *path) {
        g_autofree char *out = NULL;

        (void) bt_run(&out, "'%s' -c '"
                      "import json, socket, sys\n"
                      "s = socket.socket(socket.AF_UNIX); s.connect(\"/run/microvm/" NAME "/qmp.sock\")\n"
                      "f = s.makefile(\"rw\")\n"
                      "f.readline()\n"
                      "def call(c):\n"
                      "    f.write(json.dumps(c) + \"\\n\"); f.flush()\n"
                      "    while True:\n"
                      "        r = json.loads(f.readline())\n"
                      "        if \"event\" not in r: return r\n"
                      "call({\"execute\": \"qmp_capabilities\"})\n"
                      "print(json.dumps(call({\"execute\": \"dump-guest-memory\", \"arguments\": "
                      "{\"paging\": False, \"protocol\": \"file:\" + sys.argv[1], \"begin\": 0, "
                      "\"length\": 4096}})))\n"
                      "' '%s' 2>&1", getenv("MVM_PYTHON3"), path);
        return out ? g_strdup(g_strstrip(out)) : g_strdup("");
}

static void expect_writes(const char *path, bool allowed) {
        g_autofree char *reply = dump_guest_memory(path);

        if (allowed)
                cr_expect(strstr(reply, "\"return\"") && access(path, F_OK) >= 0, "writing %s: %s", path, reply);
        else
                cr_expect(strstr(reply, "\"error\"") && access(path, F_OK) < 0, "writing %s must fail: %s", path,
                          reply);
}

Test(confinement, sandboxed_hypervisor) {
        _cleanup_(bt_freep) BusTest *t = bt_new();
        g_autofree char *config = bt_guest_config("", ""), *uid = NULL, *cap_eff = NULL, *cap_bnd = NULL,
                        *nnp = NULL, *seccomp = NULL, *ns = NULL, *own_ns = NULL, *ns_path = NULL, *expected_uid = NULL,
                        *binary = NULL;
        struct passwd *pw = getpwnam("microvm-hypervisor");
        uint32_t pid;

        cr_assert_not_null(pw, "the user microvm-hypervisor exists (systemd-sysusers)");
        cr_assert_neq(pw->pw_uid, 0);
        expected_uid = g_strdup_printf("%u\t%u\t%u\t%u", pw->pw_uid, pw->pw_uid, pw->pw_uid, pw->pw_uid);
        g_mkdir_with_parents(BT_STATE_DIR "/" PREFIX "other", 0755);

        g_free(bt_create_vm(t, NAME, config));
        bt_boot_vm(t, NAME);
        pid = bt_vm_main_pid(t, NAME);
        cr_assert_gt(pid, 0);
        binary = bt_process_binary(pid);
        cr_expect(strstr(strempty(binary), "qemu-system"), "the unit's main process is QEMU: %s", strempty(binary));

        uid = status_field(pid, "Uid");
        cr_expect_str_eq(strempty(uid), expected_uid, "real, effective, saved and filesystem UID: microvm-hypervisor");
        cap_eff = status_field(pid, "CapEff");
        cr_expect_str_eq(strempty(cap_eff), "0000000000000000", "no effective capabilities");
        cap_bnd = status_field(pid, "CapBnd");
        cr_expect_str_eq(strempty(cap_bnd), "0000000000000000", "an empty bounding set: none to gain either");
        nnp = status_field(pid, "NoNewPrivs");
        cr_expect_str_eq(strempty(nnp), "1", "NoNewPrivileges=yes");
        seccomp = status_field(pid, "Seccomp");
        cr_expect_str_eq(strempty(seccomp), "2", "a seccomp filter (SystemCallFilter=)");
        ns_path = g_strdup_printf("/proc/%u/ns/mnt", pid);
        ns = g_file_read_link(ns_path, NULL);
        own_ns = g_file_read_link("/proc/self/ns/mnt", NULL);
        cr_expect(ns && own_ns && !streq(ns, own_ns), "a mount namespace of its own: %s", strempty(ns));

        for (size_t i = 0; i < G_N_ELEMENTS(outside); i++)
                expect_writes(outside[i], false);
        expect_writes(BT_STATE_DIR "/" NAME "/dump", true);
        expect_writes(BT_RUNTIME_DIR "/" NAME "/dump", true);

        g_free(bt_stop_vm(t, NAME, BT_STOP_TIMEOUT_USEC));
}
