/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the unit's sandboxing leaves a running hypervisor: no new privileges, a seccomp filter, a
 * mount namespace of its own, and a read-only /usr and /etc, so that QEMU, asked through its own
 * monitor to write guest memory there (pmemsave), cannot; into the VM's state directory it can.
 * VM names start with "icf-". */

#include <criterion/criterion.h>
#include <unistd.h>

#include "bus-test.h"

#define PREFIX "icf-"
#define NAME PREFIX "vm"

static void cleanup(void) {
        bt_cleanup_prefix(PREFIX);
        (void) unlink("/etc/" PREFIX "dump");
        (void) unlink("/usr/" PREFIX "dump");
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

/* QEMU's pmemsave of the guest's first page to path, through the unit's QMP socket: QEMU's reply. */
static char *pmemsave(const char *path) {
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
                      "print(json.dumps(call({\"execute\": \"pmemsave\", \"arguments\": "
                      "{\"val\": 0, \"size\": 4096, \"filename\": sys.argv[1]}})))\n"
                      "' '%s' 2>&1", getenv("MVM_PYTHON3"), path);
        return out ? g_strdup(g_strstrip(out)) : g_strdup("");
}

Test(confinement, sandboxed_hypervisor) {
        _cleanup_(bt_freep) BusTest *t = bt_new();
        g_autofree char *config = bt_guest_config("", ""), *nnp = NULL, *seccomp = NULL, *ns = NULL, *own_ns = NULL;
        g_autofree char *etc = NULL, *usr = NULL, *state = NULL, *ns_path = NULL;
        uint32_t pid;

        g_free(bt_create_vm(t, NAME, config));
        bt_boot_vm(t, NAME);
        pid = bt_vm_main_pid(t, NAME);
        cr_assert_gt(pid, 0);

        nnp = status_field(pid, "NoNewPrivs");
        cr_expect_str_eq(strempty(nnp), "1", "NoNewPrivileges=yes");
        seccomp = status_field(pid, "Seccomp");
        cr_expect_str_eq(strempty(seccomp), "2", "a seccomp filter (SystemCallArchitectures=, RestrictAddressFamilies=)");
        ns_path = g_strdup_printf("/proc/%u/ns/mnt", pid);
        ns = g_file_read_link(ns_path, NULL);
        own_ns = g_file_read_link("/proc/self/ns/mnt", NULL);
        cr_expect(ns && own_ns && !streq(ns, own_ns), "a mount namespace of its own: %s", strempty(ns));

        etc = pmemsave("/etc/" PREFIX "dump");
        cr_expect(strstr(etc, "\"error\"") && access("/etc/" PREFIX "dump", F_OK) < 0, "writing into /etc: %s", etc);
        usr = pmemsave("/usr/" PREFIX "dump");
        cr_expect(strstr(usr, "\"error\"") && access("/usr/" PREFIX "dump", F_OK) < 0, "writing into /usr: %s", usr);
        state = pmemsave(BT_STATE_DIR "/" NAME "/dump");
        cr_expect(strstr(state, "\"return\"") && access(BT_STATE_DIR "/" NAME "/dump", F_OK) >= 0,
                  "writing into its state directory: %s", state);

        g_free(bt_stop_vm(t, NAME, BT_STOP_TIMEOUT_USEC));
}
