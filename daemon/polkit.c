/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Asynchronous authorization, the way systemd's daemons do it, without ever blocking the loop:
 * the caller's uid is asked of the bus (GetConnectionUnixUser); root passes; anyone else is checked
 * with polkit's CheckAuthorization. When the answer arrives the method call is put back into the
 * bus's read queue, so its handler runs again from the top and finds the verdict here. */

#include <search.h>
#include <stdint.h>

#include "log.h"
#include "macro.h"
#include "polkit.h"

#define POLKIT_CHECK_ALLOW_INTERACTION 1u

typedef struct PolkitQuery {
        PolkitRegistry *registry;   /* borrowed */
        sd_bus_message *request;    /* the method call waiting for the verdict */
        sd_bus_message *check;      /* CheckAuthorization, built up front, sent for non-root callers */
        sd_bus_slot *slot;          /* the call under way: GetConnectionUnixUser, then CheckAuthorization */
        sd_event_source *cleanup;   /* frees an answered query its handler did not come back for */
        bool interactive;
        bool answered;
        int verdict;                /* once answered: 1, or -errno with error set */
        sd_bus_error error;
} PolkitQuery;

static int query_compare(const void *a, const void *b) {
        const PolkitQuery *x = a, *y = b;
        return (x->request > y->request) - (x->request < y->request);
}

static PolkitQuery *polkit_query_free(PolkitQuery *q) {
        if (!q)
                return NULL;
        if (q->registry)
                (void) tdelete(q, &q->registry->queries, query_compare);
        sd_bus_slot_unref(q->slot);
        sd_event_source_disable_unref(q->cleanup);
        sd_bus_message_unref(q->check);
        sd_bus_message_unref(q->request);
        sd_bus_error_free(&q->error);
        free(q);
        return NULL;
}
DEFINE_CLEANUP(PolkitQuery *, polkit_query_free);

static PolkitQuery *polkit_registry_find(PolkitRegistry *registry, sd_bus_message *msg) {
        PolkitQuery key = { .request = msg }, **found;

        found = tfind(&key, &registry->queries, query_compare);
        return found ? *found : NULL;
}

static int query_cleanup(sd_event_source *s, void *userdata) {
        polkit_query_free(userdata);
        return 0;
}

/* Records the verdict and runs the method call again. */
static void polkit_query_answer(PolkitQuery *q, int verdict) {
        sd_bus *bus = sd_bus_message_get_bus(q->request);
        int r;

        q->slot = sd_bus_slot_unref(q->slot);
        q->answered = true;
        q->verdict = verdict;

        r = sd_bus_message_rewind(q->request, true);
        if (r >= 0)
                r = sd_bus_enqueue_for_read(bus, q->request);
        /* The handler normally takes the verdict at once; one that returns before asking again
         * (the VM went away meanwhile) would leave the query here for good. */
        if (r >= 0)
                r = sd_event_add_defer(sd_bus_get_event(bus), &q->cleanup, query_cleanup, q);
        if (r >= 0)
                r = sd_event_source_set_priority(q->cleanup, SD_EVENT_PRIORITY_IDLE);
        if (r < 0) {
                log_error_errno(r, "Failed to requeue a method call after its authorization: %m");
                polkit_query_free(q);
        }
}

static int reply_check_authorization(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        PolkitQuery *q = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        int authorized, challenge, r;

        if (e) {
                log_warning("polkit check failed: %s: %s", e->name, e->message);
                polkit_query_answer(q, sd_bus_error_setf(&q->error, SD_BUS_ERROR_ACCESS_DENIED,
                                                         "Access denied: the authorization check failed (%s).",
                                                         e->message));
                return 0;
        }

        r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
        if (r >= 0)
                r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
        if (r < 0)
                polkit_query_answer(q, sd_bus_error_set_errnof(&q->error, r, "Bad reply from polkit: %m"));
        else if (authorized)
                polkit_query_answer(q, 1);
        else if (challenge)
                polkit_query_answer(q, sd_bus_error_set(&q->error, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED,
                                                        "Interactive authentication required: call again allowing "
                                                        "interactive authorization, or ask an administrator."));
        else
                polkit_query_answer(q, sd_bus_error_set(&q->error, SD_BUS_ERROR_ACCESS_DENIED,
                                                        "Access denied by polkit: you are not allowed to do this."));
        return 0;
}

static void polkit_registry_remember_uid(PolkitRegistry *registry, const char *sender, uint32_t uid) {
        unsigned i = registry->next_uid++ % POLKIT_UID_CACHE_SIZE;
        char *copy = strdup(sender);

        if (!copy)
                return; /* only a cache */
        free(registry->uids[i].sender);
        registry->uids[i].sender = copy;
        registry->uids[i].uid = uid;
}

static bool polkit_registry_sender_is_root(PolkitRegistry *registry, const char *sender) {
        for (unsigned i = 0; i < POLKIT_UID_CACHE_SIZE; i++)
                if (streq_ptr(registry->uids[i].sender, sender))
                        return registry->uids[i].uid == 0;
        return false;
}

static int reply_unix_user(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        PolkitQuery *q = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        uint32_t uid;
        int r;

        q->slot = sd_bus_slot_unref(q->slot);

        if (e) {
                /* The caller is gone or unknown: nobody is left to answer anyway. */
                polkit_query_answer(q, sd_bus_error_setf(&q->error, SD_BUS_ERROR_ACCESS_DENIED,
                                                         "Access denied: the caller is not known (%s).", e->message));
                return 0;
        }
        r = sd_bus_message_read(reply, "u", &uid);
        if (r < 0) {
                polkit_query_answer(q, sd_bus_error_set_errnof(&q->error, r, "Bad reply from the bus: %m"));
                return 0;
        }

        /* The uid comes from the bus, which took it from the caller's socket: safe to trust. */
        if (q->registry)
                polkit_registry_remember_uid(q->registry, sd_bus_message_get_sender(q->request), uid);
        if (uid == 0) {
                polkit_query_answer(q, 1);
                return 0;
        }

        /* The user may take a while to type a password: no timeout then; else the default. */
        r = sd_bus_call_async(sd_bus_message_get_bus(q->request), &q->slot, q->check, reply_check_authorization, q,
                              q->interactive ? UINT64_MAX : 0);
        if (r < 0)
                polkit_query_answer(q, sd_bus_error_set_errnof(&q->error, r, "Cannot ask polkit: %m"));
        return 0;
}

static int polkit_build_check(sd_bus_message *msg, const char *action, const char **details, sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        uint32_t flags = 0;
        int r;

        if (sd_bus_message_get_allow_interactive_authorization(msg) > 0)
                flags |= POLKIT_CHECK_ALLOW_INTERACTION;

        r = sd_bus_message_new_method_call(sd_bus_message_get_bus(msg), &call, "org.freedesktop.PolicyKit1",
                                           "/org/freedesktop/PolicyKit1/Authority",
                                           "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization");
        if (r < 0)
                return r;

        r = sd_bus_message_append(call, "(sa{sv})s", "system-bus-name", 1, "name", "s",
                                  sd_bus_message_get_sender(msg), action);
        if (r < 0)
                return r;

        r = sd_bus_message_open_container(call, 'a', "{ss}");
        if (r < 0)
                return r;
        for (const char **d = details; d && d[0] && d[1]; d += 2) {
                r = sd_bus_message_append(call, "{ss}", d[0], d[1]);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(call);
        if (r < 0)
                return r;

        r = sd_bus_message_append(call, "us", flags, /* cancellation_id= */ "");
        if (r < 0)
                return r;

        *ret = TAKE_PTR(call);
        return 0;
}

int polkit_check(sd_bus_message *msg, const char *action, const char **details, PolkitRegistry *registry,
                 sd_bus_error *error) {
        _cleanup_(polkit_query_freep) PolkitQuery *q = NULL;
        int r;

        assert(msg);
        assert(action);
        assert(registry);

        q = polkit_registry_find(registry, msg);
        if (q) {
                int verdict;

                if (!q->answered) {
                        TAKE_PTR(q);
                        return 0;
                }
                verdict = q->verdict;
                if (verdict < 0)
                        sd_bus_error_move(error, &q->error);
                return verdict;
        }

        if (polkit_registry_sender_is_root(registry, sd_bus_message_get_sender(msg)))
                return 1;

        q = calloc(1, sizeof(PolkitQuery));
        if (!q)
                return -ENOMEM;
        q->request = sd_bus_message_ref(msg);

        q->interactive = sd_bus_message_get_allow_interactive_authorization(msg) > 0;
        r = polkit_build_check(msg, action, details, &q->check);
        if (r < 0)
                return log_error_errno(r, "Failed to prepare the polkit check of %s: %m", action);

        r = sd_bus_call_method_async(sd_bus_message_get_bus(msg), &q->slot, "org.freedesktop.DBus",
                                     "/org/freedesktop/DBus", "org.freedesktop.DBus", "GetConnectionUnixUser",
                                     reply_unix_user, q, "s", sd_bus_message_get_sender(msg));
        if (r < 0)
                return log_error_errno(r, "Failed to ask who is calling: %m");

        if (!tsearch(q, &registry->queries, query_compare))
                return -ENOMEM;
        q->registry = registry;
        TAKE_PTR(q);
        return 0;
}

static void query_free_node(void *node) {
        PolkitQuery *q = node;

        q->registry = NULL; /* tdestroy() is removing it already */
        polkit_query_free(q);
}

void polkit_registry_done(PolkitRegistry *registry) {
        tdestroy(registry->queries, query_free_node);
        registry->queries = NULL;
        for (unsigned i = 0; i < POLKIT_UID_CACHE_SIZE; i++)
                registry->uids[i].sender = mfree(registry->uids[i].sender);
}
