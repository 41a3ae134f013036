/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Authorization: a caller that is not root may read everything but change nothing; polkit says
 * no, since it may not authenticate interactively. VM names start with "itp-". */

#include <fcntl.h>
#include <grp.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bus-test.h"
#include "bus-variant.h"

#define PREFIX "itp-"
#define NOBODY 65534

static void cleanup(void) {
        bt_cleanup_prefix(PREFIX);
}

TestSuite(authorization, .init = cleanup, .fini = cleanup);

/* A call made as nobody. */
typedef struct Call {
        const char *label;
        const char *path, *interface, *member;
        const char *args;    /* GVariant text of the argument tuple, or NULL */
        const char *reply;   /* NULL: polkit must refuse it; else it succeeds with a reply containing this */
} Call;

#define VM_PATH BT_VM_PATH_PREFIX "/itp_2dmine"

static const Call calls[] = {
        { "CreateVM", BT_MANAGER_PATH, BT_MANAGER_INTERFACE, "CreateVM", "('itp-evil', {'Kernel': <'/k'>})", NULL },
        { "UpdateVM", BT_MANAGER_PATH, BT_MANAGER_INTERFACE, "UpdateVM", "('itp-mine', {'VCPUs': <uint32 8>})",
          NULL },
        { "DeleteVM", BT_MANAGER_PATH, BT_MANAGER_INTERFACE, "DeleteVM", "('itp-mine',)", NULL },
        { "VM.Update", VM_PATH, BT_VM_INTERFACE, "Update", "({'VCPUs': <uint32 8>},)", NULL },
        { "VM.Delete", VM_PATH, BT_VM_INTERFACE, "Delete", NULL, NULL },
        { "ListVMs", BT_MANAGER_PATH, BT_MANAGER_INTERFACE, "ListVMs", NULL,
          "('itp-mine', 'defined', objectpath '" VM_PATH "')" },
        { "GetVM", BT_MANAGER_PATH, BT_MANAGER_INTERFACE, "GetVM", "('itp-mine',)", "objectpath '" VM_PATH "'" },
        { "GetSystemInfo", BT_MANAGER_PATH, BT_MANAGER_INTERFACE, "GetSystemInfo", NULL, "'AllocatedVCPUs'" },
        { "Get Name", VM_PATH, "org.freedesktop.DBus.Properties", "Get", "('org.microvm.VM', 'Name')",
          "<'itp-mine'>" },
        { "GetAll", VM_PATH, "org.freedesktop.DBus.Properties", "GetAll", "('org.microvm.VM',)",
          "'VCPUs': <uint32 2>" },
};

/* In a child that is nobody: makes each call and writes a line per call to fd, "LABEL ok REPLY" or
 * "LABEL ERROR-NAME". No criterion here: the parent asserts. */
_Noreturn static void run_as_nobody(int fd) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        FILE *out = fdopen(fd, "w");

        if (!out || setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
            setresuid(NOBODY, NOBODY, NOBODY) < 0)
                _exit(EXIT_FAILURE);
        fprintf(out, "uid %u\n", getuid());

        if (sd_bus_open_system(&bus) < 0)
                _exit(EXIT_FAILURE);

        for (size_t i = 0; i < ELEMENTSOF(calls); i++) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL, *reply = NULL;
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                g_autoptr(GVariant) args = calls[i].args ? g_variant_parse(NULL, calls[i].args, NULL, NULL, NULL)
                                                         : NULL;
                int r;

                r = sd_bus_message_new_method_call(bus, &call, BT_BUS_NAME, calls[i].path, calls[i].interface,
                                                   calls[i].member);
                if (r < 0 || (calls[i].args && !args))
                        _exit(EXIT_FAILURE);
                /* Without interactive authorization, which is sd-bus's default: say so anyway. */
                r = sd_bus_message_set_allow_interactive_authorization(call, false);
                for (size_t j = 0; r >= 0 && args && j < g_variant_n_children(args); j++) {
                        g_autoptr(GVariant) v = g_variant_get_child_value(args, j);

                        r = bus_message_append_gvariant(call, v);
                }
                if (r < 0)
                        _exit(EXIT_FAILURE);

                r = sd_bus_call(bus, call, BT_TIMEOUT_USEC, &error, &reply);
                if (r < 0) {
                        fprintf(out, "%s %s\n", calls[i].label, error.name);
                        continue;
                }
                fprintf(out, "%s ok", calls[i].label);
                while (sd_bus_message_at_end(reply, /* complete= */ false) == 0) {
                        g_autoptr(GVariant) v = NULL;
                        g_autofree char *shown = NULL;

                        if (bus_message_read_gvariant(reply, &v) < 0)
                                _exit(EXIT_FAILURE);
                        shown = g_variant_print(v, TRUE);
                        fprintf(out, " %s", shown);
                }
                fputc('\n', out);
        }

        if (fclose(out) != 0)
                _exit(EXIT_FAILURE);
        _exit(EXIT_SUCCESS);
}

/* The child's result line for a call, without the label. */
static const char *result_of(char **lines, const char *label) {
        size_t n = strlen(label);

        for (char **l = lines; *l; l++)
                if (strncmp(*l, label, n) == 0 && (*l)[n] == ' ')
                        return *l + n + 1;
        cr_assert_fail("%s: the unprivileged caller reported nothing", label);
        return NULL;
}

Test(authorization, unprivileged) {
        _cleanup_(bt_freep) BusTest *t = bt_new();
        g_autofree char *path = NULL, *before = NULL, *output = NULL;
        GString *buf = g_string_new(NULL);
        g_auto(GStrv) lines = NULL;
        int fds[2], status;
        char chunk[1024];
        ssize_t n;
        pid_t pid;

        path = bt_create_vm(t, "itp-mine", "{'Kernel': <'/k'>, 'VCPUs': <uint32 2>}");
        cr_assert_str_eq(path, VM_PATH, "created at %s", path);
        bt_sync(t);
        bt_clear_signals(t);
        before = bt_snapshot(t);

        cr_assert(pipe2(fds, O_CLOEXEC) == 0);
        pid = fork();
        cr_assert(pid >= 0, "fork: %s", strerror(errno));
        if (pid == 0) {
                close(fds[0]);
                run_as_nobody(fds[1]);
        }
        close(fds[1]);
        while ((n = read(fds[0], chunk, sizeof(chunk))) > 0)
                g_string_append_len(buf, chunk, n);
        close(fds[0]);
        cr_assert(waitpid(pid, &status, 0) == pid);
        output = g_string_free(buf, FALSE);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the unprivileged caller failed:\n%s", output);
        lines = g_strsplit(output, "\n", -1);
        cr_assert_str_eq(lines[0], "uid 65534", "the caller is not nobody: %s", lines[0]);

        /* Polkit refuses every change, and every read goes through. */
        for (size_t i = 0; i < ELEMENTSOF(calls); i++) {
                const char *result = result_of(lines, calls[i].label);

                if (!calls[i].reply)
                        cr_assert(streq(result, "org.freedesktop.DBus.Error.AccessDenied") ||
                                  streq(result, "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired"),
                                  "%s as nobody: %s, expected AccessDenied", calls[i].label, result);
                else
                        cr_assert(g_str_has_prefix(result, "ok ") && strstr(result, calls[i].reply),
                                  "%s as nobody: %s, expected a reply with %s", calls[i].label, result,
                                  calls[i].reply);
        }

        /* Nothing was created, changed or deleted, and nothing was announced. */
        bt_assert_unchanged(t, before, "as nobody");
}
